/**
 * The control API as a fastify application, assembled here and only here: the shared plugins (error
 * mapping, JSON body parsing, request log, request latency metrics, bearer authentication on TCP), then one plugin per resource, then any extra
 * plugins. The plugin contract is in plugin.ts; handlers only validate, call the write port or read the
 * registry, and shape JSON (see docs/ARCHITECTURE.md, 'The request path').
 */
import Fastify, { LogController } from 'fastify';
import { silentLogger } from '../log.js';
import { consulTokenMapping } from './consul/token.js';
import { openApi } from './openapi.js';
import type { ControlApp, ControlDeps, ControlPlugin } from './plugin.js';
import { bearerAuth } from './plugins/auth.js';
import { errorMapping, writeClientError } from './plugins/errors.js';
import { jsonBody } from './plugins/json-body.js';
import { requestLog } from './plugins/request-log.js';
import { requestMetrics } from './plugins/request-metrics.js';
import { adminRoutes } from './routes/admin.js';
import { DASHBOARD_ASSETS, DASHBOARD_PUBLIC_PATHS } from './routes/dashboard.js';
import { instancesRoutes } from './routes/instances.js';
import { servicesRoutes } from './routes/services.js';
import { snapshotsRoutes } from './routes/snapshots.js';
import { watchRoutes } from './routes/watch.js';
import { zoneRoutes } from './routes/zone.js';

export type { ControlApp, ControlDeps, ControlPlugin } from './plugin.js';
export type { SnapshotPort as SnapshotOps, WritePort as RegistryWriter } from './ports.js';
export { instanceView, type InstanceView } from './instance-view.js';
export { DEFAULT_WATCH_WAIT_MS, MAX_WATCH_WAIT_MS } from './routes/watch.js';

/** Largest accepted request body. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** The resource plugins every control app serves, in registration order. */
export const RESOURCE_PLUGINS: readonly ControlPlugin[] = [adminRoutes, instancesRoutes, servicesRoutes, watchRoutes, snapshotsRoutes, zoneRoutes];

/** Per-listener options. */
export interface AppOptions {
  /**
   * When set, every request but `GET /health`, the dashboard's page and its login needs
   * `Authorization: Bearer <token>` or a session cookie (see plugins/auth.ts).
   */
  readonly token?: string;
  /** With `token`: a token that allows GET and HEAD requests only. */
  readonly readToken?: string;
  /** With `token`: keep browser sessions in this file, so they outlive a restart. */
  readonly sessionFile?: string;
  /** More APIs, registered after the built-in resources and served under the same auth and error mapping. */
  readonly plugins?: readonly ControlPlugin[];
}

/** Build the control API application (not listening yet). */
export function buildControlApp(deps: ControlDeps, options: AppOptions = {}): ControlApp {
  const app = Fastify({
    loggerInstance: deps.logger ?? silentLogger,
    // One debug line per request (the requestLog plugin) instead of fastify's two info lines.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // Strict validation: no type coercion, no silently dropped fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // errorMapping answers 503 SHUTTING_DOWN in the documented shape instead.
    return503OnClosing: false,
    clientErrorHandler: writeClientError,
    forceCloseConnections: 'idle',
  });
  const { beforeWork, pace } = deps;
  if (pace !== undefined) {
    // First of all (a callback hook: no promise per request): the request goes on in its turn's slice.
    app.addHook('onRequest', (_request, _reply, done) => pace(() => done()));
  }
  if (beforeWork !== undefined) {
    // Queries waiting on the loop go before this request's work and before its response.
    app.addHook('onRequest', (_request, _reply, done) => {
      beforeWork();
      done();
    });
    app.addHook('onSend', (_request, _reply, payload, done) => {
      beforeWork();
      done(null, payload);
    });
  }
  void app.register(errorMapping);
  void app.register(jsonBody);
  void app.register(requestLog);
  void app.register(requestMetrics, deps);
  // Before any route: @fastify/swagger documents the routes registered after it (GET /v1/openapi.json).
  void app.register(openApi);
  if (options.token !== undefined) {
    // Consul clients send X-Consul-Token or ?token=: mapped to the bearer header before the one check runs.
    void app.register(consulTokenMapping);
    void app.register(bearerAuth, {
      token: options.token,
      ...(options.readToken === undefined ? {} : { readToken: options.readToken }),
      ...(options.sessionFile === undefined ? {} : { sessionFile: options.sessionFile }),
      // The dashboard's page must load without a credential to show its login form (when the daemon serves it).
      publicPaths: DASHBOARD_PUBLIC_PATHS,
      publicPrefixes: [DASHBOARD_ASSETS],
    });
  }
  for (const plugin of [...RESOURCE_PLUGINS, ...(options.plugins ?? [])]) void app.register(plugin, deps);
  return app;
}
