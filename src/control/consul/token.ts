/**
 * Shared plugin: Consul clients present the token as `X-Consul-Token: <token>` or `?token=<token>`. When a
 * request has no Authorization header, this turns either into `Authorization: Bearer <token>`, so the one
 * bearer check (plugins/auth.ts) decides for both APIs. Registered before that check: hooks run in
 * registration order.
 */
import { sharedPlugin } from '../plugin.js';

/** The token a Consul client presented, if any: the header first, then the query parameter. */
export function consulToken(headers: Record<string, string | string[] | undefined>, url: string): string | undefined {
  const header = headers['x-consul-token'];
  if (typeof header === 'string' && header.length > 0) return header;
  const query = url.indexOf('?');
  if (query < 0) return undefined;
  const token = new URLSearchParams(url.slice(query + 1)).get('token');
  return token === null || token.length === 0 ? undefined : token;
}

/** Map Consul's token forms to the bearer header. */
export const consulTokenMapping = sharedPlugin<Record<never, never>>(async (app) => {
  app.addHook('onRequest', async (request) => {
    if (request.headers.authorization !== undefined) return;
    const token = consulToken(request.headers, request.url);
    if (token !== undefined) request.headers.authorization = `Bearer ${token}`;
  });
});
