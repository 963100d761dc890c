/**
 * Browser sessions of the control API: a random id (the HttpOnly cookie's value) mapped, in memory, to a
 * role, a CSRF token and an expiry. A daemon restart forgets every session; the dashboard logs in again.
 */
import { randomBytes } from 'node:crypto';

/** What a credential allows: `write` every route, `read` only GET and HEAD. */
export type AccessRole = 'write' | 'read';

/** One logged-in browser. */
export interface Session {
  /** The cookie value: 32 random bytes, base64url. */
  readonly id: string;
  /** The double-submit token the page sends back in `x-beacon-csrf` on writes. */
  readonly csrf: string;
  readonly role: AccessRole;
  /** Expiry, on the store's clock (ms). */
  readonly expiresAt: number;
}

/** How long a session lives by default: one working day. */
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60_000;
/** Most sessions held at once; logging in beyond it forgets the oldest, so logins cannot grow memory without bound. */
export const MAX_SESSIONS = 1024;

/** The server-side session map with expiry. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs = DEFAULT_SESSION_TTL_MS,
    private readonly now: () => number = Date.now,
    private readonly capacity = MAX_SESSIONS,
  ) {}

  /** Start a session with `role`. */
  create(role: AccessRole): Session {
    this.sweep();
    while (this.sessions.size >= this.capacity) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const session: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(24).toString('base64url'), role, expiresAt: this.now() + this.ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, or undefined (unknown or expired; an expired one is dropped). */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  /** End a session (logout). */
  delete(id: string): void {
    this.sessions.delete(id);
  }

  /** Sessions held (expired ones may still count until the next login sweeps them). */
  get size(): number {
    return this.sessions.size;
  }

  /** The session lifetime in ms (the cookie's Max-Age). */
  get lifetimeMs(): number {
    return this.ttlMs;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}
