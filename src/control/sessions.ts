/**
 * Browser sessions of the control API: a random id (the HttpOnly cookie's value) mapped to a role, a CSRF
 * token and an expiry. Optionally kept in a file (mode 0600, in the data directory), so that a dashboard
 * left open reconnects by itself after a daemon restart; the file holds only SHA-256 digests of the ids, so
 * reading it does not yield a usable cookie, and it is discarded when the tokens it was granted under change.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** What a credential allows: `write` every route, `read` only GET and HEAD. */
export type AccessRole = 'write' | 'read';

/** One logged-in browser. */
export interface Session {
  /** SHA-256 of the cookie value (the value itself is only ever in the browser). */
  readonly key: string;
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

/** Session store settings. */
export interface SessionStoreOptions {
  readonly ttlMs?: number;
  readonly now?: () => number;
  readonly capacity?: number;
  /** Keep the sessions in this file across restarts. */
  readonly file?: string;
  /** Identifies the tokens sessions are granted under; a file written under other tokens is ignored. */
  readonly fingerprint?: string;
}

interface SessionFile {
  readonly version: 1;
  readonly fingerprint: string;
  readonly sessions: readonly Session[];
}

const keyOf = (id: string): string => createHash('sha256').update(id).digest('base64url');

/** The server-side session map with expiry. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly capacity: number;

  constructor(private readonly options: SessionStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.now = options.now ?? Date.now;
    this.capacity = options.capacity ?? MAX_SESSIONS;
    this.load();
  }

  /** Start a session with `role`; returns the cookie value (`id`) and the session. */
  create(role: AccessRole): { id: string; session: Session } {
    this.sweep();
    while (this.sessions.size >= this.capacity) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const session: Session = { key: keyOf(id), csrf: randomBytes(24).toString('base64url'), role, expiresAt: this.now() + this.ttlMs };
    this.sessions.set(session.key, session);
    this.save();
    return { id, session };
  }

  /** The live session whose cookie value is `id`, or undefined (unknown or expired; an expired one is dropped). */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id === '') return undefined;
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return session;
  }

  /** End a session (logout). */
  delete(session: Session): void {
    this.sessions.delete(session.key);
    this.save();
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
    for (const [key, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(key);
  }

  /** Read the file, if any; a missing, unreadable or foreign file just means no sessions (users log in again). */
  private load(): void {
    const { file } = this.options;
    if (file === undefined) return;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<SessionFile>;
      if (parsed.version !== 1 || parsed.fingerprint !== (this.options.fingerprint ?? '') || !Array.isArray(parsed.sessions)) return;
      const now = this.now();
      for (const s of parsed.sessions) {
        const valid = typeof s.key === 'string' && typeof s.csrf === 'string' && (s.role === 'read' || s.role === 'write') && typeof s.expiresAt === 'number';
        if (valid && s.expiresAt > now && this.sessions.size < this.capacity) this.sessions.set(s.key, { key: s.key, csrf: s.csrf, role: s.role, expiresAt: s.expiresAt });
      }
    } catch {
      // No file yet, or not ours to trust: start empty.
    }
  }

  /** Write the file atomically (temp file, then rename), readable by the daemon's user only. */
  private save(): void {
    const { file } = this.options;
    if (file === undefined) return;
    const content: SessionFile = { version: 1, fingerprint: this.options.fingerprint ?? '', sessions: [...this.sessions.values()] };
    const temp = `${file}.tmp`;
    writeFileSync(temp, JSON.stringify(content), { mode: 0o600 });
    renameSync(temp, file);
  }
}
