/**
 * Event-loop stalls: how long the loop that answers DNS (and the control API) was kept from running.
 * perf_hooks.monitorEventLoopDelay arms a timer every `resolutionMs` and records the time between two of
 * its ticks; a tick that comes 41 ms after the previous one (resolution 1 ms) means about 40 ms during
 * which nothing else ran, no DNS query included. The longest such stall since the last reset is the figure
 * a registration burst must keep small; the daemon can expose it (e.g. in /v1/stats) and reset it at will.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay since the last reset, in milliseconds (the timer's own period taken out). */
export interface LoopStallReading {
  /** Longest stall. */
  readonly maxStallMs: number;
  /** 99th percentile of the delays between ticks. */
  readonly p99StallMs: number;
  /** Mean delay between ticks. */
  readonly meanStallMs: number;
  /** Ticks recorded. */
  readonly samples: number;
}

/** What the monitor reads from a histogram (node's IntervalHistogram; tests pass a fake). Values in ns. */
export type DelayHistogram = Pick<IntervalHistogram, 'enable' | 'disable' | 'reset' | 'max' | 'mean' | 'count' | 'percentile'>;

/** Options of a LoopStallMonitor. */
export interface LoopStallOptions {
  /** Sampling period in ms (default 1: a stall is seen to within about a millisecond). */
  readonly resolutionMs?: number;
  /** Histogram source; default monitorEventLoopDelay({ resolution: resolutionMs }). */
  readonly histogram?: DelayHistogram;
}

const NS_PER_MS = 1e6;

/** Watches the event loop from the moment it is created until stop(). */
export class LoopStallMonitor {
  private readonly resolutionMs: number;
  private readonly histogram: DelayHistogram;
  private running = true;
  private windowStart = Date.now();

  constructor(options: LoopStallOptions = {}) {
    this.resolutionMs = options.resolutionMs ?? 1;
    if (!(this.resolutionMs >= 1)) throw new RangeError('resolutionMs must be >= 1');
    this.histogram = options.histogram ?? monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
  }

  /** The stalls recorded since creation or the last reset(); zeros when there is no sample yet. */
  read(): LoopStallReading {
    if (this.histogram.count === 0) return { maxStallMs: 0, p99StallMs: 0, meanStallMs: 0, samples: 0 };
    // Each sample is the time between two ticks: the period itself is not a stall.
    const stall = (ns: number): number => Math.max(0, ns / NS_PER_MS - this.resolutionMs);
    return {
      maxStallMs: stall(this.histogram.max),
      p99StallMs: stall(this.histogram.percentile(99)),
      meanStallMs: stall(this.histogram.mean),
      samples: this.histogram.count,
    };
  }

  /**
   * The reading since the previous take() (or creation), then a fresh window: what `/v1/stats` reports, so
   * that two reads around a burst give that burst's own longest stall. `windowMs` is the window's length.
   */
  take(now = Date.now()): LoopStallReading & { readonly windowMs: number } {
    const reading = { ...this.read(), windowMs: Math.max(0, now - this.windowStart) };
    this.reset();
    this.windowStart = now;
    return reading;
  }

  /** Forget what was recorded (e.g. at the start of a measurement window). */
  reset(): void {
    this.histogram.reset();
  }

  /** Stop sampling (the timer no longer runs). Idempotent. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.histogram.disable();
  }
}
