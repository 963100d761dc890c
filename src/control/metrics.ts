/**
 * The Prometheus `/metrics` endpoint's content (text exposition format 0.0.4), built with prom-client.
 *
 * Two kinds of families: event counters kept here (registrations, check results, circuit transitions...,
 * fed by the daemon's listeners) and figures read at scrape time from the daemon (registry counts, the DNS
 * counters summed over the DNS workers, cache size, open TCP connections, workers alive, store staleness).
 * With `runtime: true` prom-client's default process and Node.js metrics (`process_*`, `nodejs_*`) are added.
 * Names follow https://prometheus.io/docs/practices/naming/: `beacon_` prefix, base units (seconds, bytes),
 * `_total` on counters, and every HELP line says what is counted.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { ANSWER_LATENCY_BUCKETS, ANSWER_LATENCY_SAMPLE_EVERY, answerLatencySeries } from '../dns/answer-latency.js';
import type { ChangeEvent } from '../registry/mutations.js';
import type { RegistryStats } from '../registry/types.js';

/** DNS figures as the metrics endpoint needs them (the daemon adapts the DNS server's stats to this). */
export interface DnsMetrics {
  /** Queries, by query type (A, SRV, ...). */
  readonly queriesByType: Readonly<Record<string, number>>;
  /** Responses, by response code (NOERROR, NXDOMAIN, ...). */
  readonly responsesByRcode: Readonly<Record<string, number>>;
  /** Answers served from the encoded-response cache. */
  readonly cacheHits: number;
  /** Answers computed (cache misses). */
  readonly cacheMisses?: number;
  /** Cached questions now, and the encoded reply bytes they hold. */
  readonly cacheEntries?: number;
  readonly cacheBytes?: number;
  /** Cache entries dropped because something they depend on changed. */
  readonly cacheInvalidations?: number;
  /** Messages left unanswered, replies sent truncated, requests whose handling threw. */
  readonly dropped?: number;
  readonly truncated?: number;
  readonly internalErrors?: number;
  /** TCP connections accepted since start, open now, refused by the cap. */
  readonly tcpConnections?: number;
  readonly tcpOpen?: number;
  readonly tcpRejected?: number;
  /** TCP connections the server closed, by reason (evicted-idle, evicted-stalled, deadline, idle, dropped). */
  readonly tcpClosed?: Readonly<Record<string, number>>;
  /** Sampled answer latency, in the flat shape src/dns/answer-latency.ts describes. */
  readonly answerLatency?: Readonly<Record<string, number>>;
  /** DNS UPDATEs by outcome: accepted, or the reason refused. */
  readonly updates?: Readonly<Record<string, number>>;
}

/** What the daemon tells at scrape time, besides the counters kept here. */
export interface MetricsInputs {
  readonly registry: RegistryStats;
  readonly dns?: DnsMetrics;
  readonly watchers?: number;
  readonly checksScheduled?: number;
}

/** Daemon facts read at each scrape; a family is left out when its source is not given. */
export interface DaemonGauges {
  /** DNS worker processes asked for (`--workers`; 0 when the daemon answers DNS itself). */
  readonly workersDesired?: () => number;
  /** DNS worker processes alive now. */
  readonly workersAlive?: () => number;
  /** Whether the store's view may be out of date (etcd: watch disconnected or probe failing). */
  readonly storeStale?: () => boolean;
}

/** How to build the metrics. */
export interface MetricsOptions {
  /** Add prom-client's default process and Node.js runtime metrics (the daemon does; tests need not). */
  readonly runtime?: boolean;
  /** Labels of `beacon_build_info`. */
  readonly build?: { readonly version: string };
  readonly daemon?: DaemonGauges;
}

/** Control API request latency buckets (seconds): sub-millisecond reads to multi-second long-polls. */
const CONTROL_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60];

type Labelled = { labels: Record<string, string>; value: number };

/** A counter whose values are read from somewhere else at each scrape (it only ever goes up there). */
function pulledCounter(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => readonly Labelled[] | undefined): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      for (const { labels, value } of read() ?? []) this.inc(labels, value);
    },
  });
}

/** A gauge read at each scrape. */
function pulledGauge(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => readonly Labelled[] | undefined): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect(this: Gauge) {
      this.reset();
      for (const { labels, value } of read() ?? []) this.set(labels, value);
    },
  });
}

const one = (value: number | undefined): Labelled[] => (value === undefined ? [] : [{ labels: {}, value }]);
const byLabel = (label: string, values: Readonly<Record<string, number>>): Labelled[] => Object.entries(values).map(([key, value]) => ({ labels: { [label]: key }, value }));

/** The daemon's metrics and their Prometheus rendering. */
export class Metrics {
  /** The prom-client registry (one per daemon, so that several daemons can share a test process). */
  readonly registry = new Registry();
  private inputs: MetricsInputs | undefined;
  private readonly registrations: Counter<'kind'>;
  private readonly deregistrations: Counter<'reason'>;
  private readonly healthChanges: Counter<'to'>;
  private readonly checkResults: Counter<'result' | 'type'>;
  private readonly breakerTransitions: Counter<'from' | 'to'>;
  private readonly reports: Counter<'outcome'>;
  private readonly reaperRuns: Counter;
  private readonly controlLatency: Histogram<'method' | 'route' | 'status'>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.runtime) {
      collectDefaultMetrics({ register: this.registry });
      // These three are gauges named like counters, which `promtool check metrics` rejects; the same figures
      // stay available by type in nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    }
    if (options.build) {
      new Gauge({ name: 'beacon_build_info', help: 'Always 1; the labels tell the Beacon version and the Node.js version running it.', labelNames: ['version', 'node'], registers })
        .set({ version: options.build.version, node: process.version }, 1);
    }
    this.registrations = new Counter({ name: 'beacon_registrations_total', help: 'Instance registrations, new ones and ones replacing an instance with the same id.', labelNames: ['kind'], registers });
    this.deregistrations = new Counter({ name: 'beacon_deregistrations_total', help: 'Instance deregistrations, by reason (api, ttl expiry, critical too long...).', labelNames: ['reason'], registers });
    this.healthChanges = new Counter({ name: 'beacon_health_transitions_total', help: 'Instance health changes, by the state entered.', labelNames: ['to'], registers });
    this.checkResults = new Counter({ name: 'beacon_check_results_total', help: 'Active health check results (http, tcp), pass or fail.', labelNames: ['result', 'type'], registers });
    this.breakerTransitions = new Counter({ name: 'beacon_breaker_transitions_total', help: 'Circuit breaker state changes, by from and to state.', labelNames: ['from', 'to'], registers });
    this.reports = new Counter({ name: 'beacon_reports_total', help: 'Call outcomes clients reported to the circuit breakers.', labelNames: ['outcome'], registers });
    this.reaperRuns = new Counter({ name: 'beacon_reaper_runs_total', help: 'Runs of the TTL reaper, which expires instances whose heartbeat is overdue.', registers });
    this.controlLatency = new Histogram({
      name: 'beacon_control_request_duration_seconds',
      help: 'Control API request latency, from the request arriving to the response sent, by method, route pattern and HTTP status.',
      labelNames: ['method', 'route', 'status'],
      buckets: CONTROL_LATENCY_BUCKETS,
      registers,
    });
    this.registerPulled(options.daemon ?? {});
  }

  /** Count what a registry change event means. */
  onChange(event: ChangeEvent): void {
    const m = event.mutation;
    if (m.type === 'register') this.registrations.inc({ kind: event.before ? 'replace' : 'new' });
    if (m.type === 'deregister') this.deregistrations.inc({ reason: m.reason ?? 'api' });
    if (event.before && event.after && event.before.health !== event.after.health) this.healthChanges.inc({ to: event.after.health });
  }

  /** Count one active check result. */
  onCheckResult(type: string, healthy: boolean): void {
    this.checkResults.inc({ result: healthy ? 'pass' : 'fail', type });
  }

  /** Count one circuit transition. */
  onCircuitChange(from: string, to: string): void {
    this.breakerTransitions.inc({ from, to });
  }

  /** Count one reported call outcome. */
  onReport(outcome: 'success' | 'failure'): void {
    this.reports.inc({ outcome });
  }

  /** Count one reaper run. */
  onReaperRun(): void {
    this.reaperRuns.inc();
  }

  /** Record one control API request (`route` is the route pattern, never the raw URL: bounded cardinality). */
  onControlRequest(method: string, route: string, status: number, seconds: number): void {
    this.controlLatency.observe({ method, route, status: String(status) }, seconds);
  }

  /** Render everything in the Prometheus text format, reading the scrape-time figures from `inputs`. */
  async render(inputs: MetricsInputs): Promise<string> {
    this.inputs = inputs;
    try {
      return await this.registry.metrics();
    } finally {
      this.inputs = undefined;
    }
  }

  private registerPulled(daemon: DaemonGauges): void {
    const r = this.registry;
    const registry = (): RegistryStats | undefined => this.inputs?.registry;
    const dns = (): DnsMetrics | undefined => this.inputs?.dns;
    pulledGauge(r, 'beacon_services', 'Services with at least one registered instance.', [], () => one(registry()?.totalServices));
    pulledGauge(r, 'beacon_instances', 'Registered instances, by health state (healthy, unhealthy, unknown).', ['health'], () => {
      const s = registry();
      return s && byLabel('health', { healthy: s.healthyInstances, unhealthy: s.unhealthyInstances, unknown: s.unknownInstances });
    });
    pulledGauge(r, 'beacon_instances_maintenance', 'Registered instances in maintenance (left out of DNS whatever their health).', [], () => one(registry()?.maintenanceInstances));
    pulledGauge(r, 'beacon_change_index', 'The registry change index: goes up by one with every change.', [], () => one(registry()?.index));
    pulledGauge(r, 'beacon_checks_scheduled', 'Instances with an active health check scheduled.', [], () => one(this.inputs?.checksScheduled));
    pulledGauge(r, 'beacon_watchers', 'Open watch long-polls and event streams on the control API.', [], () => one(this.inputs?.watchers));

    pulledCounter(r, 'beacon_dns_queries_total', 'DNS queries answered or refused, by question type.', ['qtype'], () => { const d = dns(); return d && byLabel('qtype', d.queriesByType); });
    pulledCounter(r, 'beacon_dns_responses_total', 'DNS responses sent, by response code.', ['rcode'], () => { const d = dns(); return d && byLabel('rcode', d.responsesByRcode); });
    pulledCounter(r, 'beacon_dns_cache_hits_total', 'DNS answers served from the encoded-response cache.', [], () => one(dns()?.cacheHits));
    pulledCounter(r, 'beacon_dns_cache_misses_total', 'DNS answers computed from the registry because the cache had none.', [], () => one(dns()?.cacheMisses));
    pulledCounter(r, 'beacon_dns_cache_invalidations_total', 'Cached DNS answers dropped because a record they depend on changed.', [], () => one(dns()?.cacheInvalidations));
    pulledGauge(r, 'beacon_dns_cache_entries', 'Questions held in the DNS response cache.', [], () => one(dns()?.cacheEntries));
    pulledGauge(r, 'beacon_dns_cache_bytes', 'Encoded reply bytes held in the DNS response cache.', [], () => one(dns()?.cacheBytes));
    pulledCounter(r, 'beacon_dns_dropped_total', 'DNS messages left unanswered: too short, responses, source port 0, batches lost.', [], () => one(dns()?.dropped));
    pulledCounter(r, 'beacon_dns_truncated_total', 'DNS replies sent with the TC bit set (the client should retry over TCP).', [], () => one(dns()?.truncated));
    pulledCounter(r, 'beacon_dns_internal_errors_total', 'DNS requests whose handling failed unexpectedly (answered SERVFAIL).', [], () => one(dns()?.internalErrors));
    pulledCounter(r, 'beacon_dns_tcp_connections_total', 'DNS TCP connections accepted.', [], () => one(dns()?.tcpConnections));
    pulledGauge(r, 'beacon_dns_tcp_connections_open', 'DNS TCP connections open now.', [], () => one(dns()?.tcpOpen));
    pulledCounter(r, 'beacon_dns_tcp_rejected_total', 'DNS TCP connections refused at accept: the client address holds too many already.', [], () => one(dns()?.tcpRejected));
    pulledCounter(
      r,
      'beacon_dns_tcp_closed_total',
      'DNS TCP connections the server closed, by reason: evicted-idle and evicted-stalled (room made for a new client), deadline (message not complete in time), idle, dropped (after a message it does not answer).',
      ['reason'],
      () => { const d = dns(); return d?.tcpClosed && byLabel('reason', d.tcpClosed); },
    );
    pulledCounter(
      r,
      'beacon_dns_updates_total',
      'DNS UPDATE messages by outcome: accepted, or why refused (unsigned, badkey, badsig, badtime, formerr, notauth, notzone, yxdomain, nxdomain, yxrrset, nxrrset, refused, servfail).',
      ['outcome'],
      () => { const d = dns(); return d?.updates && byLabel('outcome', d.updates); },
    );
    this.registerAnswerLatency();

    if (daemon.workersDesired) {
      const read = daemon.workersDesired;
      pulledGauge(r, 'beacon_dns_workers_desired', 'DNS worker processes configured (--workers; 0 when the daemon answers DNS itself).', [], () => one(read()));
    }
    if (daemon.workersAlive) {
      const read = daemon.workersAlive;
      pulledGauge(r, 'beacon_dns_workers_alive', 'DNS worker processes serving now (the standby not counted); below beacon_dns_workers_desired while one is being replaced.', [], () => one(read()));
    }
    if (daemon.storeStale) {
      const read = daemon.storeStale;
      pulledGauge(r, 'beacon_store_stale', '1 while the store may be out of date (etcd watch disconnected or its probe failing), else 0.', [], () => one(read() ? 1 : 0));
    }
  }

  /**
   * The DNS answer latency histogram. Its buckets arrive already counted (summed over the DNS workers),
   * which prom-client's Histogram cannot take, so this family is a collector of its own: prom-client's
   * registry renders any object with `name`, `help`, `type` and `get()` (the shape its own metrics have).
   */
  private registerAnswerLatency(): void {
    const name = 'beacon_dns_answer_duration_seconds';
    const help = `Time to build a DNS reply, from the request entering the handler to the reply bytes, sampled 1 in ${ANSWER_LATENCY_SAMPLE_EVERY} requests, by transport and response code.`;
    const collector = {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      collect: undefined,
      get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: this.answerLatencyValues() }),
      reset: () => undefined,
    };
    this.registry.registerMetric(collector as unknown as Metric);
  }

  private answerLatencyValues(): { metricName: string; labels: Record<string, string | number>; value: number }[] {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    const name = 'beacon_dns_answer_duration_seconds';
    for (const series of answerLatencySeries(this.inputs?.dns?.answerLatency ?? {})) {
      const labels = { rcode: series.rcode, transport: series.transport };
      let cumulative = 0;
      series.counts.forEach((count, index) => {
        cumulative += count;
        const le = index < ANSWER_LATENCY_BUCKETS.length ? String(ANSWER_LATENCY_BUCKETS[index]) : '+Inf';
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      values.push({ metricName: `${name}_sum`, labels, value: series.sum });
      values.push({ metricName: `${name}_count`, labels, value: cumulative });
    }
    return values;
  }
}
