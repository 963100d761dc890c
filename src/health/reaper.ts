/**
 * The TTL reaper: one timer set at the registry's next deadline (a missed heartbeat TTL, or the end of
 * deregister-critical-after), re-armed when a change brings a deadline closer. When it fires it runs
 * `cleanupExpired()` through the durable registry, so expiry is persisted like any other mutation.
 * The timer never sleeps longer than `maxSleepMs`, which bounds how late an expiry can be even if a
 * deadline moved without a change event.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { silentLogger } from '../log.js';
import type { ChangeEvent, ChangeListener } from '../registry/mutations.js';
import type { InstanceRecord } from '../registry/types.js';

/** What the reaper reads from the registry. */
export interface ReapedRegistry {
  readonly clock: Clock;
  /** Earliest deadline over all records (called after a run, and at most once per maxSleepMs). */
  nextDeadline(): number | undefined;
  /** The deadline of one record (cheap): used on change events. */
  deadlineOf(record: InstanceRecord): number | undefined;
  onChange(listener: ChangeListener): () => void;
}

/** Where expiry is carried out (the DurableRegistry in the daemon). */
export interface ExpiryWriter {
  cleanupExpired(): Promise<number>;
}

/** Options of a Reaper. */
export interface ReaperOptions {
  readonly registry: ReapedRegistry;
  readonly writer: ExpiryWriter;
  readonly logger?: Logger;
  /** Longest sleep between two looks at the deadline. Default 1000 ms. */
  readonly maxSleepMs?: number;
  /** Delay before retrying after a failed or fruitless run with a deadline already past. Default 100 ms. */
  readonly retryMs?: number;
  /** Called after each run with the number of instances removed. */
  readonly onRun?: (removed: number) => void;
}

/** Expires instances on time with a single timer. */
export class Reaper {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor: number | undefined;
  private running: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = true;
  private readonly logger: Logger;
  private readonly maxSleepMs: number;
  private readonly retryMs: number;
  /** Consecutive failed runs: the retry delay doubles with each, up to maxSleepMs (a down store is not hammered). */
  private failures = 0;

  constructor(private readonly options: ReaperOptions) {
    this.logger = options.logger ?? silentLogger;
    this.maxSleepMs = options.maxSleepMs ?? 1000;
    this.retryMs = options.retryMs ?? 100;
  }

  /** Start watching deadlines. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.options.registry.onChange((event) => this.onChange(event));
    this.arm();
  }

  /** Stop the timer and wait for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.clear();
    await this.running;
  }

  /** When the timer will next fire (ms, registry clock), if armed. */
  get nextWake(): number | undefined {
    return this.armedFor;
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
  }

  private onChange(event: ChangeEvent): void {
    const { registry } = this.options;
    // Only a change can bring a deadline closer, and only the changed record's deadline can be the new earliest.
    const deadline = event.after === undefined ? undefined : registry.deadlineOf(event.after);
    if (deadline !== undefined) this.armAt(deadline);
  }

  /** (Re-)arm the timer if the next deadline is earlier than the current wake-up, or nothing is armed. */
  private arm(minDelayMs = 0): void {
    if (this.stopped || this.running) return;
    const deadline = this.options.registry.nextDeadline();
    if (deadline === undefined) {
      this.clear();
      return;
    }
    this.armAt(deadline, minDelayMs);
  }

  private armAt(deadline: number, minDelayMs = 0): void {
    if (this.stopped || this.running) return;
    const now = this.options.registry.clock.now();
    // +1: a deadline is "passed" once now is strictly after it.
    const delay = Math.min(this.maxSleepMs, Math.max(minDelayMs, deadline - now + 1));
    const wake = now + delay;
    if (this.armedFor !== undefined && this.armedFor <= wake) return;
    this.clear();
    this.armedFor = wake;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = undefined;
      this.run();
    }, delay);
  }

  private run(): void {
    if (this.stopped || this.running) return;
    const now = this.options.registry.clock.now();
    const deadline = this.options.registry.nextDeadline();
    if (deadline === undefined || deadline > now) {
      this.arm();
      return;
    }
    let failed = false;
    this.running = this.options.writer
      .cleanupExpired()
      .then((removed) => {
        this.options.onRun?.(removed);
        if (removed > 0) this.logger.info({ removed }, 'expired instances removed');
      })
      .catch((error: unknown) => {
        failed = true;
        this.failures++;
        if (this.failures === 1 || Number.isInteger(Math.log2(this.failures))) this.logger.warn({ err: error, failures: this.failures }, 'expiry run failed');
      })
      .finally(() => {
        this.running = undefined;
        if (!failed) this.failures = 0;
        const next = this.options.registry.nextDeadline();
        const stillPast = next !== undefined && next < this.options.registry.clock.now();
        const retry = Math.min(this.maxSleepMs, this.retryMs * 2 ** Math.max(0, this.failures - 1));
        this.arm(failed || stillPast ? retry : 0);
      });
  }
}
