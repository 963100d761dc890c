/**
 * Resource plugin: the daemon itself. Liveness (`/health`, the one route that needs no token), Prometheus
 * metrics (`/metrics`, text format 0.0.4), statistics (`/v1/stats`) and facts (`/v1/info`).
 */
import type { DnsMetrics, Metrics } from '../metrics.js';
import type { ControlPlugin } from '../plugin.js';
import type { RegistryReader } from '../ports.js';
import * as schema from '../schemas.js';
import type { ChangeFeed } from '../watch.js';

/** What the admin plugin needs. */
export interface AdminDeps {
  readonly registry: Pick<RegistryReader, 'index' | 'stats'>;
  readonly feed: Pick<ChangeFeed, 'watchers'>;
  readonly metrics: Pick<Metrics, 'render'>;
  /** DNS counters for `/metrics`. */
  readonly dnsMetrics?: () => DnsMetrics | undefined;
  /** Extra statistics merged into `/v1/stats`. */
  readonly extraStats?: () => Record<string, unknown>;
  /** Daemon facts for `/v1/info`. */
  readonly info?: () => Record<string, unknown>;
  /** Instances with a scheduled active check. */
  readonly checksScheduled?: () => number;
}

/** Routes `/health`, `/metrics`, `/v1/stats` and `/v1/info`. */
export const adminRoutes: ControlPlugin<AdminDeps> = async (app, deps) => {
  const { registry, feed, metrics } = deps;
  const noQuery = { schema: { querystring: schema.emptyQuery } };

  app.get('/health', noQuery, async () => ({ status: 'ok', index: registry.index }));

  app.get('/metrics', noQuery, async (_request, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    const dns = deps.dnsMetrics?.();
    return await metrics.render({
      registry: registry.stats(),
      ...(dns ? { dns } : {}),
      watchers: feed.watchers,
      ...(deps.checksScheduled ? { checksScheduled: deps.checksScheduled() } : {}),
    });
  });

  app.get('/v1/stats', noQuery, async () => ({ registry: registry.stats(), watchers: feed.watchers, ...(deps.extraStats?.() ?? {}) }));
  app.get('/v1/info', noQuery, async () => ({ index: registry.index, ...(deps.info?.() ?? {}) }));
};
