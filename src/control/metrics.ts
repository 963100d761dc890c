/**
 * Counters for the Prometheus `/metrics` endpoint (text exposition format 0.0.4), fed by registry change
 * events, circuit transitions, health check results and the DNS server's own counters.
 */
import type { ChangeEvent } from '../registry/mutations.js';
import type { RegistryStats } from '../registry/types.js';

/** DNS counters as the metrics endpoint needs them (the daemon adapts the DNS server's stats to this). */
export interface DnsMetrics {
  /** Queries, by query type (A, SRV, ...). */
  readonly queriesByType: Readonly<Record<string, number>>;
  /** Responses, by response code (NOERROR, NXDOMAIN, ...). */
  readonly responsesByRcode: Readonly<Record<string, number>>;
  /** Answers served from the encoded-response cache. */
  readonly cacheHits: number;
  /** Answers computed (cache misses). */
  readonly cacheMisses?: number;
  /** Other plain counters, exported as `beacon_dns_<name>_total`. */
  readonly counters?: Readonly<Record<string, number>>;
}

/** Everything rendered besides the counters kept here. */
export interface MetricsInputs {
  readonly registry: RegistryStats;
  readonly dns?: DnsMetrics;
  readonly watchers?: number;
  readonly checksScheduled?: number;
}

/** A bag of labelled counters. */
class Counter {
  private readonly values = new Map<string, number>();
  inc(labels: Record<string, string>, by = 1): void {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  entries(): { labels: [string, string][]; value: number }[] {
    return [...this.values].map(([key, value]) => ({ labels: JSON.parse(key) as [string, string][], value }));
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: readonly (readonly [string, string])[]): string {
  return labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** The daemon's counters and their Prometheus rendering. */
export class Metrics {
  private readonly registrations = new Counter();
  private readonly deregistrations = new Counter();
  private readonly healthChanges = new Counter();
  private readonly checkResults = new Counter();
  private readonly breakerTransitions = new Counter();
  private readonly reports = new Counter();
  private reaperRuns = 0;

  /** Count what a registry change event means. */
  onChange(event: ChangeEvent): void {
    const m = event.mutation;
    if (m.type === 'register') this.registrations.inc({ kind: event.before ? 'replace' : 'new' });
    if (m.type === 'deregister') this.deregistrations.inc({ reason: m.reason ?? 'api' });
    if (event.before && event.after && event.before.health !== event.after.health) this.healthChanges.inc({ to: event.after.health });
  }

  /** Count one active check result. */
  onCheckResult(type: string, healthy: boolean): void {
    this.checkResults.inc({ type, result: healthy ? 'pass' : 'fail' });
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
    this.reaperRuns++;
  }

  /** Render everything in the Prometheus text format. */
  render(inputs: MetricsInputs): string {
    const out: string[] = [];
    const family = (name: string, type: 'counter' | 'gauge', help: string, samples: { labels: [string, string][]; value: number }[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const s of samples) out.push(`${name}${labelText(s.labels)} ${s.value}`);
    };
    const r = inputs.registry;
    family('beacon_services', 'gauge', 'Services with at least one instance.', [{ labels: [], value: r.totalServices }]);
    family('beacon_instances', 'gauge', 'Registered instances by health.', [
      { labels: [['health', 'healthy']], value: r.healthyInstances },
      { labels: [['health', 'unhealthy']], value: r.unhealthyInstances },
      { labels: [['health', 'unknown']], value: r.unknownInstances },
    ]);
    family('beacon_instances_maintenance', 'gauge', 'Instances in maintenance.', [{ labels: [], value: r.maintenanceInstances }]);
    family('beacon_change_index', 'gauge', 'Registry change index.', [{ labels: [], value: r.index }]);
    family('beacon_registrations_total', 'counter', 'Registrations (new or replacing).', this.registrations.entries());
    family('beacon_deregistrations_total', 'counter', 'Deregistrations by reason.', this.deregistrations.entries());
    family('beacon_health_transitions_total', 'counter', 'Instance health changes by new state.', this.healthChanges.entries());
    family('beacon_check_results_total', 'counter', 'Active health check results.', this.checkResults.entries());
    family('beacon_breaker_transitions_total', 'counter', 'Circuit breaker transitions.', this.breakerTransitions.entries());
    family('beacon_reports_total', 'counter', 'Call outcomes reported to the circuit breakers.', this.reports.entries());
    family('beacon_reaper_runs_total', 'counter', 'TTL reaper runs.', [{ labels: [], value: this.reaperRuns }]);
    if (inputs.checksScheduled !== undefined) family('beacon_checks_scheduled', 'gauge', 'Instances with a scheduled active check.', [{ labels: [], value: inputs.checksScheduled }]);
    if (inputs.watchers !== undefined) family('beacon_watchers', 'gauge', 'Open watch long-polls and streams.', [{ labels: [], value: inputs.watchers }]);
    const dns = inputs.dns;
    if (dns) {
      family('beacon_dns_queries_total', 'counter', 'DNS queries by question type.', Object.entries(dns.queriesByType).map(([qtype, value]) => ({ labels: [['qtype', qtype]], value })));
      family('beacon_dns_responses_total', 'counter', 'DNS responses by response code.', Object.entries(dns.responsesByRcode).map(([rcode, value]) => ({ labels: [['rcode', rcode]], value })));
      family('beacon_dns_cache_hits_total', 'counter', 'DNS answers served from the response cache.', [{ labels: [], value: dns.cacheHits }]);
      if (dns.cacheMisses !== undefined) family('beacon_dns_cache_misses_total', 'counter', 'DNS answers computed.', [{ labels: [], value: dns.cacheMisses }]);
      for (const [name, value] of Object.entries(dns.counters ?? {})) {
        const metric = `beacon_dns_${name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()}_total`;
        family(metric, 'counter', `DNS ${name}.`, [{ labels: [], value }]);
      }
    }
    return `${out.join('\n')}\n`;
  }
}
