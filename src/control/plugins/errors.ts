/**
 * Shared plugin: every failure, whatever raised it, leaves as `{"error":{"code","message"}}` with a stable
 * code and the right HTTP status: BeaconErrors, schema validation, fastify's own rejections (bad JSON, 413,
 * 415, handler timeouts), unknown endpoints, requests arriving while the daemon shuts down, and what node's
 * HTTP parser refuses before fastify sees a request (see `writeClientError`).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isBeaconError, type ErrorCode } from '../../errors.js';
import { sharedPlugin } from '../plugin.js';

/** One ajv error, as fastify hands it over. */
interface ValidationIssue {
  readonly keyword?: string;
  readonly instancePath?: string;
  readonly message?: string;
  readonly params?: { additionalProperty?: string; missingProperty?: string };
}

/**
 * A schema error for humans: the field by name (`check.intervalMs`), never the schema path fastify puts in
 * front (`body/check/intervalMs`), and unknown fields named (they are usually typos).
 */
export function validationMessage(issue: ValidationIssue | undefined, fallback: string, context = 'body'): string {
  if (!issue) return fallback;
  const where = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const inside = (name: string): string => (where ? `${where}.${name}` : name);
  if (issue.keyword === 'additionalProperties' && issue.params?.additionalProperty) return `unknown field ${JSON.stringify(inside(issue.params.additionalProperty))}`;
  if (issue.keyword === 'required' && issue.params?.missingProperty) return `missing field ${JSON.stringify(inside(issue.params.missingProperty))}`;
  const subject = where || (context === 'body' ? 'the request body' : context === 'querystring' ? 'the query' : context);
  return `${subject} ${issue.message ?? 'is invalid'}`;
}

/** The stable code of a status fastify chose itself. */
function frameworkCode(status: number): ErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 408) return 'REQUEST_TIMEOUT';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 431) return 'HEADERS_TOO_LARGE';
  return status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
}

/** Map any error to `{error: {code, message}}` with the right status. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger, bodyLimit: number): FastifyReply {
  if (isBeaconError(error)) {
    // A failing store is logged once per episode by the daemon (src/store/store-episodes.ts), not per request.
    if (error.status >= 500 && error.code !== 'STORE_UNAVAILABLE') logger.error({ err: error, url: request.url }, 'request failed');
    return reply.status(error.status).send({ error: error.toJSON() });
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const message = validationMessage(fe.validation[0] as ValidationIssue | undefined, fe.message, fe.validationContext);
    return reply.status(400).send({ error: { code: 'INVALID_ARGUMENT', message } });
  }
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Framework-level rejections: bad JSON (400), body too large (413), wrong content type (415).
    const limit = reply.request.routeOptions.bodyLimit ?? bodyLimit;
    const message =
      status === 413 ? `request body too large (limit ${limit} bytes)`
      : status === 415 ? 'request bodies must be JSON (content-type: application/json)'
      : fe.message;
    return reply.status(status).send({ error: { code: frameworkCode(status), message } });
  }
  logger.error({ err: error, url: request.url }, 'request failed');
  return reply.status(status).send({ error: { code: 'INTERNAL', message: status === 500 ? 'internal error' : (http.STATUS_CODES[status] ?? 'internal error').toLowerCase() } });
}

/**
 * fastify's `clientErrorHandler`: node's HTTP parser rejects some requests before any route runs (431 for
 * a header section over `maxHeaderSize`, 408 for a request not sent in time, 400 for a malformed request
 * line); answer those in the documented shape too, then close the connection as node itself would.
 */
export function writeClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message]: [number, ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', `request headers too large (limit ${http.maxHeaderSize} bytes)`]
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
    : [400, 'INVALID_ARGUMENT', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/** The error handler, the 404 handler and the shutting-down answer for the whole application. */
export const errorMapping = sharedPlugin<Record<never, never>>(async (app) => {
  const bodyLimit = app.initialConfig.bodyLimit ?? 0;
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, app.log, bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no such endpoint: ${request.method} ${request.url.split('?')[0]}` } }),
  );
  // In place of fastify's return503OnClosing, whose body is not in the documented shape.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // A callback hook: while open (always but at shutdown) it costs no promise per request.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    void reply.status(503).header('connection', 'close').send({ error: { code: 'SHUTTING_DOWN', message: 'beacon is shutting down' } });
  });
  // A request still in flight when closing starts must not leave its keep-alive connection behind: node's
  // server.close() waits for every open connection, and an idle keep-alive one lasts keepAliveTimeout (72 s
  // in fastify) unless the client hangs up.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
});
