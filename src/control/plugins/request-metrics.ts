/** Shared plugin: every control API response observed in the request latency histogram. */
import type { Metrics } from '../metrics.js';
import { sharedPlugin } from '../plugin.js';

/** What the plugin needs. */
export interface RequestMetricsDeps {
  readonly metrics: Pick<Metrics, 'onControlRequest'>;
}

/**
 * Observe method, route pattern and status of every response. The route pattern (`/v1/services/:service`),
 * not the URL, keeps the label set bounded; requests no route matched are labelled `unmatched`.
 */
export const requestMetrics = sharedPlugin<RequestMetricsDeps>(async (app, deps) => {
  // A callback hook, not an async one: no promise per request (see request-log.ts).
  app.addHook('onResponse', (request, reply, done) => {
    const route = (request.routeOptions.url as string | undefined) ?? 'unmatched';
    deps.metrics.onControlRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
});
