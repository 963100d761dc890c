/** Shared plugin: one debug line per answered request (in place of fastify's two info lines). */
import { sharedPlugin } from '../plugin.js';

/** Log method, URL, status and duration of every response at debug level. */
export const requestLog = sharedPlugin<Record<never, never>>(async (app) => {
  // A callback hook, not an async one: no promise per request on the path every registration takes.
  app.addHook('onResponse', (request, reply, done) => {
    if (app.log.isLevelEnabled('debug')) app.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    done();
  });
});
