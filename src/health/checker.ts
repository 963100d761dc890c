/**
 * Schedules active health checks (HTTP, TCP) for every instance that defines one, and writes their results
 * through the durable registry. The schedule follows the registry's change events: an instance registered
 * with a check starts `unknown` and is probed at once; a replaced check is rescheduled; a removed instance's
 * probe is cancelled. Probes are independent promises with their own timeout, so a hung target blocks
 * neither other probes nor DNS (seed mutant D).
 */
import type { Logger } from 'pino';
import { silentLogger } from '../log.js';
import type { ChangeEvent, ChangeListener } from '../registry/mutations.js';
import { isActiveCheck } from '../registry/liveness.js';
import type { ActiveCheck, HealthStatus, InstanceRecord, RegistryConfig } from '../registry/types.js';
import { httpProbe, tcpProbe, type ProbeOptions, type ProbeResult } from './probes.js';

/** Runs one probe for an instance's check. Injected in tests; the default does real HTTP/TCP. */
export type ProbeRunner = (check: ActiveCheck, record: InstanceRecord, options: ProbeOptions) => Promise<ProbeResult>;

/** What the checker reads from the registry. */
export interface CheckedRegistry {
  readonly config: RegistryConfig;
  records(service?: string): InstanceRecord[];
  get(service: string, id: string): InstanceRecord | undefined;
  onChange(listener: ChangeListener): () => void;
}

/** Where check results are written (the DurableRegistry in the daemon). */
export interface HealthWriter {
  updateHealth(service: string, id: string, health: HealthStatus, note?: string): Promise<unknown>;
}

/** One finished probe, for metrics and logs. */
export interface CheckResultEvent {
  readonly service: string;
  readonly id: string;
  readonly type: ActiveCheck['type'];
  readonly healthy: boolean;
  readonly note: string;
}

/** Options of a HealthChecker. */
export interface HealthCheckerOptions {
  readonly registry: CheckedRegistry;
  readonly writer: HealthWriter;
  /** Probe implementation; defaults to real HTTP/TCP probes. */
  readonly probe?: ProbeRunner;
  readonly logger?: Logger;
  /** Called after every probe (metrics). */
  readonly onResult?: (result: CheckResultEvent) => void;
  /** Default probe timeout when a check sets none (capped by its interval). Default 5 s. */
  readonly defaultTimeoutMs?: number;
  /** Randomness for spreading the first probes of restored instances; defaults to Math.random. */
  readonly random?: () => number;
  /**
   * Whether this node probes an instance. On a shared store (etcd) only the owner does, so N nodes do not
   * multiply probes and health writes (see src/store/etcd.ts, "ownership"). Default: every instance.
   */
  readonly owns?: (service: string, id: string) => boolean;
}

/** The default probe runner: HTTP GET or TCP connect (host/port default to the instance's address/port). */
export const defaultProbeRunner: ProbeRunner = (check, record, options) =>
  check.type === 'http'
    ? httpProbe(check.url, options)
    : tcpProbe(check.host ?? record.spec.address, check.port ?? record.spec.port, options);

interface Scheduled {
  readonly service: string;
  readonly id: string;
  readonly check: ActiveCheck;
  /** Identity of what is probed: when it changes, the schedule restarts. */
  readonly key: string;
  timer?: ReturnType<typeof setTimeout>;
  inFlight?: { controller: AbortController; done: Promise<void> };
  cancelled: boolean;
}

const entryKey = (service: string, id: string): string => `${service}\u0000${id}`;

function checkIdentity(record: InstanceRecord, check: ActiveCheck): string {
  return JSON.stringify([check, record.spec.address, record.spec.port]);
}

/** Runs every instance's active check on its own schedule. */
export class HealthChecker {
  private readonly entries = new Map<string, Scheduled>();
  private readonly probe: ProbeRunner;
  private readonly logger: Logger;
  private readonly random: () => number;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: HealthCheckerOptions) {
    this.probe = options.probe ?? defaultProbeRunner;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
  }

  /** Subscribe to the registry and probe, at once, every instance that already has an active check. */
  start(): void {
    if (this.unsubscribe) return;
    this.stopped = false;
    this.unsubscribe = this.options.registry.onChange((event) => this.onChange(event));
    for (const record of this.options.registry.records()) {
      if (!isActiveCheck(record.spec.check) || !this.owns(record.service, record.spec.id)) continue;
      // Instances restored with a known health keep it until their next probe; spreading those first probes
      // over one interval avoids a burst of thousands of connections at startup. Unknown ones go at once.
      const delay = record.health === 'unknown' ? 0 : Math.floor(this.random() * this.intervalOf(record.spec.check));
      this.schedule(record, record.spec.check, delay);
    }
  }

  /** Number of instances with a scheduled check. */
  get size(): number {
    return this.entries.size;
  }

  /** Number of probes running right now. */
  get inFlight(): number {
    let n = 0;
    for (const entry of this.entries.values()) if (entry.inFlight) n++;
    return n;
  }

  /** Stop: unsubscribe, clear timers, abort running probes and wait for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const pending: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      const done = this.cancel(entry);
      if (done) pending.push(done);
    }
    this.entries.clear();
    await Promise.allSettled(pending);
  }

  private onChange(event: ChangeEvent): void {
    const key = entryKey(event.service, event.id);
    const existing = this.entries.get(key);
    const after = event.after;
    const check = after?.spec.check;
    if (!after || !isActiveCheck(check) || !this.owns(after.service, after.spec.id)) {
      if (existing) {
        void this.cancel(existing);
        this.entries.delete(key);
      }
      return;
    }
    if (existing && existing.key === checkIdentity(after, check)) {
      // Same check: keep the schedule. Health back to `unknown` (e.g. a restore) means: probe again now.
      if (after.health === 'unknown' && !existing.inFlight && existing.timer !== undefined) {
        clearTimeout(existing.timer);
        existing.timer = undefined;
        this.runProbe(existing);
      }
      return;
    }
    if (existing) void this.cancel(existing);
    this.schedule(after, check);
  }

  private schedule(record: InstanceRecord, check: ActiveCheck, delayMs = 0): void {
    const entry: Scheduled = { service: record.service, id: record.spec.id, check, key: checkIdentity(record, check), cancelled: false };
    this.entries.set(entryKey(entry.service, entry.id), entry);
    if (delayMs <= 0) {
      this.runProbe(entry);
      return;
    }
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.runProbe(entry);
    }, delayMs);
  }

  private cancel(entry: Scheduled): Promise<void> | undefined {
    entry.cancelled = true;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.inFlight?.controller.abort();
    return entry.inFlight?.done;
  }

  private owns(service: string, id: string): boolean {
    return this.options.owns?.(service, id) ?? true;
  }

  private intervalOf(check: ActiveCheck): number {
    return check.intervalMs ?? this.options.registry.config.healthCheckIntervalMs;
  }

  private timeoutOf(check: ActiveCheck): number {
    return check.timeoutMs ?? Math.min(this.options.defaultTimeoutMs ?? 5000, this.intervalOf(check));
  }

  private runProbe(entry: Scheduled): void {
    if (entry.cancelled || entry.inFlight || this.stopped) return;
    const record = this.options.registry.get(entry.service, entry.id);
    if (!record) return;
    const controller = new AbortController();
    const timeoutMs = this.timeoutOf(entry.check);
    const done = this.probeOnce(entry, record, controller, timeoutMs).finally(() => {
      entry.inFlight = undefined;
      if (!entry.cancelled && !this.stopped) {
        entry.timer = setTimeout(() => {
          entry.timer = undefined;
          this.runProbe(entry);
        }, this.intervalOf(entry.check));
      }
    });
    entry.inFlight = { controller, done };
  }

  /** One probe, raced against its timeout here too, so that even a misbehaving probe runner cannot hang. */
  private async probeOnce(entry: Scheduled, record: InstanceRecord, controller: AbortController, timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<ProbeResult>((resolve) => {
      timer = setTimeout(() => {
        resolve({ healthy: false, note: `timeout after ${timeoutMs} ms` });
        controller.abort();
      }, timeoutMs);
      // Cancelled (deregistered, stopping): settle at once whatever the probe runner does.
      controller.signal.addEventListener('abort', () => resolve({ healthy: false, note: 'probe cancelled' }), { once: true });
    });
    let result: ProbeResult;
    try {
      result = await Promise.race([
        this.probe(entry.check, record, { timeoutMs, signal: controller.signal }).catch((error: unknown) => ({
          healthy: false,
          note: `probe error: ${error instanceof Error ? error.message : String(error)}`,
        })),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (entry.cancelled || this.stopped) return;
    this.options.onResult?.({ service: entry.service, id: entry.id, type: entry.check.type, healthy: result.healthy, note: result.note });
    const current = this.options.registry.get(entry.service, entry.id);
    const health: HealthStatus = result.healthy ? 'healthy' : 'unhealthy';
    if (!current || current.health === health) return;
    // The flip itself is logged at info by the daemon's registry change log, once it is recorded.
    this.logger.debug({ service: entry.service, id: entry.id, from: current.health, to: health, note: result.note }, 'check result changes health');
    try {
      await this.options.writer.updateHealth(entry.service, entry.id, health, result.note);
    } catch (error) {
      // The instance may have been removed meanwhile, or the store may be down: log and try next interval.
      // A failing store is logged once per episode by the daemon; the instance may also have been removed.
      this.logger.debug({ service: entry.service, id: entry.id, err: error }, 'could not record check result');
    }
  }
}
