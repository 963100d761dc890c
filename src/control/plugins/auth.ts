/**
 * Shared plugin: authentication for the TCP listener (the Unix socket listener goes without: its file mode
 * is the access control). A request presents one credential:
 * - `Authorization: Bearer <token>`: the token allows everything, the read-only token (`readToken`) GET and
 *   HEAD only (403 FORBIDDEN on writes); any other bearer value is 401;
 * - or the session cookie set by `POST /v1/session` (the dashboard's login), which EventSource sends where
 *   it cannot send a header. Writes with a cookie must prove they come from the dashboard's own page: the
 *   cookie is SameSite=Strict, an `Origin` must name this host, `Sec-Fetch-Site` must not be cross-site, and
 *   the session's CSRF token must come back in `x-beacon-csrf` (double submit: another site cannot read it).
 * Public without a credential: `GET /health`, the login itself and the dashboard's static files.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../../errors.js';
import { sharedPlugin, type ControlApp } from '../plugin.js';
import { SessionStore, type AccessRole, type Session } from '../sessions.js';

/** The session cookie's name. */
export const SESSION_COOKIE = 'beacon_session';
/** The header that carries the session's CSRF token on cookie-authenticated writes. */
export const CSRF_HEADER = 'x-beacon-csrf';

/** Options of the authentication plugin. */
export interface BearerAuthOptions {
  /** The token that allows every request. */
  readonly token: string;
  /** A token that allows GET and HEAD requests only (dashboards, metrics scrapers). */
  readonly readToken?: string;
  /** Session storage (tests pass one with a fake clock); a fresh in-memory store by default. */
  readonly sessions?: SessionStore;
  /** Keep sessions in this file across restarts (ignored when `sessions` is given). */
  readonly sessionFile?: string;
  /** Paths anyone may GET (exact): the dashboard's page. */
  readonly publicPaths?: readonly string[];
  /** Path prefixes anyone may GET: the dashboard's assets. */
  readonly publicPrefixes?: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request's credential allows (set by the authentication plugin; absent on the socket). */
    accessRole?: AccessRole;
    /** The browser session the request came with, if it authenticated by cookie. */
    browserSession?: Session;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison (both sides hashed, so the lengths are equal). */
function same(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(presented), expected);
}

/** The bearer value of an Authorization header; '' for a header that is not a well-formed bearer one. */
function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
}

/**
 * One cookie's value from a Cookie header (RFC 6265 section 5.4: `name=value` pairs joined by `; `).
 * Hand-written: one known cookie with a base64url value needs no quoting or decoding rules.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a cookie-authenticated write is refused as cross-site, or undefined when it comes from our own page. */
function crossSiteReason(request: FastifyRequest, session: Session): string | undefined {
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}` && origin !== `https://${request.headers.host ?? ''}`) {
    return `origin ${origin} is not this dashboard's`;
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a ${String(site)} request may not write`;
  const csrf = request.headers[CSRF_HEADER];
  if (typeof csrf !== 'string' || !same(csrf, digest(session.csrf))) {
    return `missing or wrong ${CSRF_HEADER} header`;
  }
  return undefined;
}

/** The Set-Cookie value of a session (Secure only over TLS: the API usually listens on loopback HTTP). */
function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

/** The login route, in a context of its own so that only it parses HTML form bodies. */
function sessionRoutes(app: ControlApp, roleOf: (token: string) => AccessRole | undefined, sessions: SessionStore): void {
  void app.register(async (child) => {
    child.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    child.post<{ Body: { token: string } }>(
      '/v1/session',
      { schema: { body: { type: 'object', required: ['token'], additionalProperties: false, properties: { token: { type: 'string', minLength: 1, maxLength: 1024 } } } } },
      async (request, reply: FastifyReply) => {
        const role = roleOf(request.body.token);
        if (role === undefined) throw new UnauthorizedError('wrong token');
        const { id, session } = sessions.create(role);
        reply.header('set-cookie', sessionCookie(request, id, Math.floor(sessions.lifetimeMs / 1000)));
        reply.header('cache-control', 'no-store');
        // A plain HTML form (no script) lands back on the dashboard; a script gets the CSRF token.
        if (request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return reply.redirect('/', 303);
        return { role, csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() };
      },
    );
    child.get('/v1/session', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return { role: request.accessRole, ...(request.browserSession ? { csrf: request.browserSession.csrf, expiresAt: new Date(request.browserSession.expiresAt).toISOString() } : {}) };
    });
    child.delete('/v1/session', async (request, reply) => {
      if (request.browserSession) sessions.delete(request.browserSession);
      reply.header('set-cookie', sessionCookie(request, '', 0));
      return { loggedOut: true };
    });
  });
}

/** Reject unauthenticated requests with 401 UNAUTHORIZED and disallowed ones with 403 FORBIDDEN. */
export const bearerAuth = sharedPlugin<BearerAuthOptions>(async (app, options) => {
  const expected = digest(options.token);
  const expectedRead = options.readToken === undefined ? undefined : digest(options.readToken);
  const sessions = options.sessions ?? new SessionStore({
    ...(options.sessionFile === undefined ? {} : { file: options.sessionFile }),
    // Sessions written under other tokens are not honoured: changing a token logs every browser out.
    fingerprint: createHash('sha256').update(`${options.token}\n${options.readToken ?? ''}`).digest('base64url'),
  });
  const publicPaths = new Set(options.publicPaths ?? []);
  const publicPrefixes = options.publicPrefixes ?? [];
  const roleOf = (token: string): AccessRole | undefined => {
    // Both comparisons always run, so the answer's timing does not tell which token was close.
    const write = same(token, expected);
    const read = expectedRead !== undefined && same(token, expectedRead);
    return write ? 'write' : read ? 'read' : undefined;
  };
  const isPublic = (method: string, path: string): boolean => {
    if (method === 'POST' && path === '/v1/session') return true;
    if (method !== 'GET' && method !== 'HEAD') return false;
    return path === '/health' || publicPaths.has(path) || publicPrefixes.some((prefix) => path.startsWith(prefix));
  };

  app.decorateRequest('accessRole', undefined);
  app.decorateRequest('browserSession', undefined);
  // onRequest runs before the body is read: an unauthenticated client cannot make us parse anything.
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (isPublic(request.method, path)) return;
    const bearer = bearerOf(request.headers.authorization);
    if (bearer !== undefined) {
      const role = roleOf(bearer);
      if (role === undefined) throw new UnauthorizedError();
      request.accessRole = role;
    } else {
      const session = sessions.get(cookieValue(request.headers.cookie, SESSION_COOKIE));
      if (session === undefined) throw new UnauthorizedError('missing or invalid bearer token or session');
      if (!SAFE_METHODS.has(request.method)) {
        const reason = crossSiteReason(request, session);
        if (reason !== undefined) throw new ForbiddenError(`cross-site write refused: ${reason}`);
      }
      request.accessRole = session.role;
      request.browserSession = session;
    }
    if (request.accessRole === 'read' && !SAFE_METHODS.has(request.method)) {
      // Logging out is the one write a read-only session may do.
      if (!(request.method === 'DELETE' && path === '/v1/session')) throw new ForbiddenError('the read-only token allows GET requests only');
    }
  });

  sessionRoutes(app, roleOf, sessions);
});
