/**
 * Shared plugin: the JSON body parser. fastify's own parses every body with secure-json-parse, which scans
 * the text with two regular expressions (for `__proto__` keys and `constructor.prototype` ones, in any
 * escaped spelling) besides JSON.parse. A registration body has neither: when the text holds none of
 * `__proto__`, `constructor` or a `\u` escape, no spelling of those keys can be in it and JSON.parse alone
 * gives the same value. Any other text, and text JSON.parse refuses, goes to fastify's parser unchanged, so
 * the errors (empty body, invalid JSON, prototype poisoning: 400) and the body limit are fastify's.
 */
import type { FastifyRequest } from 'fastify';
import { sharedPlugin } from '../plugin.js';

/** Parses a JSON body or reports why not, as fastify's content-type parsers do. */
export type JsonBodyParser = (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => void;

/** Whether `text` may spell a key secure-json-parse refuses (its scan decides then). */
function mayPoison(text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
}

/** The fast parser in front of `secure` (fastify's default JSON parser, which keeps the last word). */
export function fastJsonParser(secure: JsonBodyParser): JsonBodyParser {
  return (request, body, done) => {
    if (body.length === 0 || mayPoison(body)) return secure(request, body, done);
    let value: unknown;
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      return secure(request, body, done); // fastify's error for it
    }
    done(null, value);
  };
}

/** Replace the application's `application/json` parser with `fastJsonParser` (same body limit, same errors). */
export const jsonBody = sharedPlugin<Record<never, never>>(async (app) => {
  // The same poisoning policy as fastify's default parser ('error': a 400, nothing parsed).
  const secure = app.getDefaultJsonParser('error', 'error') as JsonBodyParser;
  app.addContentTypeParser('application/json', { parseAs: 'string' }, fastJsonParser(secure) as Parameters<typeof app.addContentTypeParser>[2]);
});
