/**
 * Shared plugin: bearer-token authentication for the TCP listener. Every request but `GET /health` needs
 * `Authorization: Bearer <token>`; the Unix socket listener goes without (its file mode is the access control).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../../errors.js';
import { sharedPlugin } from '../plugin.js';

/** Options of the authentication plugin. */
export interface BearerAuthOptions {
  /** The expected token. */
  readonly token: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison of the presented bearer token with the expected one (both hashed: equal lengths). */
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  return timingSafeEqual(digest(match[1]), expected);
}

/** Reject unauthenticated requests with 401 UNAUTHORIZED, mapped like any other error. */
export const bearerAuth = sharedPlugin<BearerAuthOptions>(async (app, options) => {
  const expected = digest(options.token);
  // onRequest runs before the body is read: an unauthenticated client cannot make us parse anything.
  app.addHook('onRequest', async (request) => {
    if (request.method === 'GET' && request.url === '/health') return;
    if (!tokenMatches(request.headers.authorization, expected)) throw new UnauthorizedError();
  });
});
