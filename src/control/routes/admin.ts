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
  /** What keeps the daemon from doing its whole job now (DNS not served everywhere, store failing); empty when healthy. */
  readonly healthProblems?: () => readonly HealthProblem[];
}

/** One reason `/health` answers 503: which part and what is wrong with it. */
export interface HealthProblem {
  readonly component: 'dns' | 'store';
  readonly message: string;
}

/** Routes `/health`, `/metrics`, `/v1/stats` and `/v1/info`. */
export const adminRoutes: ControlPlugin<AdminDeps> = async (app, deps) => {
  const { registry, feed, metrics } = deps;
  const noQuery = { schema: { querystring: schema.emptyQuery } };

  // 200 only while the daemon does its whole job; otherwise 503 saying what is wrong, for load balancers,
  // orchestrators and people alike (the same problems appear in the log when they start).
  app.get('/health', noQuery, async (_request, reply) => {
    const problems = deps.healthProblems?.() ?? [];
    if (problems.length === 0) return { status: 'ok', index: registry.index };
    return reply.status(503).send({ status: 'unavailable', index: registry.index, problems });
  });

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
