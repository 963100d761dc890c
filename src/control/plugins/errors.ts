/**
 * Shared plugin: every failure, whatever raised it, leaves as `{"error":{"code","message"}}` with a stable
 * code and the right HTTP status, and an unknown endpoint is a 404 NOT_FOUND in the same form.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isBeaconError } from '../../errors.js';
import { sharedPlugin } from '../plugin.js';

/** Map any error to `{error: {code, message}}` with the right status. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger, bodyLimit: number): FastifyReply {
  if (isBeaconError(error)) {
    if (error.status >= 500) logger.error({ err: error, url: request.url }, 'request failed');
    return reply.status(error.status).send({ error: error.toJSON() });
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    // Name the offending field when ajv knows it (unknown fields are usually typos).
    const first = fe.validation[0] as { keyword?: string; params?: { additionalProperty?: string } } | undefined;
    const extra = first?.keyword === 'additionalProperties' && first.params?.additionalProperty ? `: ${JSON.stringify(first.params.additionalProperty)}` : '';
    return reply.status(400).send({ error: { code: 'INVALID_ARGUMENT', message: `${fe.message}${extra}` } });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Framework-level rejections: bad JSON (400), body too large (413), wrong content type (415).
    const message =
      fe.statusCode === 413 ? `request body too large (limit ${bodyLimit} bytes)`
      : fe.statusCode === 415 ? 'request bodies must be JSON (content-type: application/json)'
      : fe.message;
    const code = fe.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : fe.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_ARGUMENT';
    return reply.status(fe.statusCode).send({ error: { code, message } });
  }
  logger.error({ err: error, url: request.url }, 'request failed');
  return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
}

/** The error handler and the 404 handler for the whole application. */
export const errorMapping = sharedPlugin<Record<never, never>>(async (app) => {
  const bodyLimit = app.initialConfig.bodyLimit ?? 0;
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, app.log, bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no such endpoint: ${request.method} ${request.url.split('?')[0]}` } }),
  );
});
