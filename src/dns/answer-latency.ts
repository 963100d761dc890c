/**
 * Sampled DNS answer latency: one request in 64 on average is timed with `performance.now()` (a float of
 * milliseconds, sub-microsecond resolution; no BigInt to allocate on the request path) from the
 * handler's entry to its reply being ready (the transports all enter through `DnsRequestHandler.handle`).
 * Sampling keeps the clock read off 63 of 64 requests on the hot path; 1 in 64 still gives hundreds of
 * samples a second at modest load, plenty for percentiles. The gap between samples is random (1 to 127
 * requests) rather than fixed, so that traffic with a period of its own (a client asking A then SRV then
 * TXT in turn) cannot hide behind the sampling period.
 *
 * The figures travel as a flat record of numbers so that the daemon can add up its DNS workers' reports
 * with every other counter (see DnsStats): `transport|rcode|<bucket index>` holds that bucket's own count
 * (not cumulative; the last index is +Inf) and `transport|rcode|sum` the sampled seconds.
 */

/** Sample one request in this many, on average. */
export const ANSWER_LATENCY_SAMPLE_EVERY = 64;

import { performance } from 'node:perf_hooks';

/** Upper bounds (seconds) of the histogram buckets: 10 µs to 100 ms, answers are usually tens of µs. */
export const ANSWER_LATENCY_BUCKETS: readonly number[] = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];


/** One histogram series read back out of the flat record. */
export interface AnswerLatencySeries {
  readonly transport: string;
  readonly rcode: string;
  /** Per-bucket counts, `ANSWER_LATENCY_BUCKETS.length + 1` long (the last one is +Inf). */
  readonly counts: readonly number[];
  readonly sum: number;
}

/** Times one request in 64 and keeps the bucket counts. */
export class AnswerLatencySampler {
  /** Requests until the next sampled one. */
  private countdown = ANSWER_LATENCY_SAMPLE_EVERY;
  /** Whether the request in flight is timed (a boolean, so the other requests never read the clock). */
  private sampling = false;
  private startedAt = 0;
  private transport = '';
  /** Per `transport|rcode`: the bucket counts, then the sum of seconds. */
  private readonly series = new Map<string, number[]>();
  /** The same slots by transport and rcode number, so that a sampled request builds no key string. */
  private readonly byRcode = new Map<string, Map<number, number[]>>();

  /**
   * `rcodeName` names a response code for the label (only called for sampled requests); `random` draws the
   * gaps (tests pass a constant).
   */
  constructor(
    private readonly rcodeName: (rcode: number) => string,
    private readonly random: () => number = Math.random,
  ) {}

  /** A request entered the handler over `transport`. */
  started(transport: string): void {
    if (--this.countdown !== 0) {
      this.sampling = false;
      return;
    }
    this.sampling = true;
    this.countdown = 1 + Math.floor(this.random() * (2 * ANSWER_LATENCY_SAMPLE_EVERY - 1));
    this.transport = transport;
    this.startedAt = performance.now();
  }

  /** The request's reply is ready with this rcode; recorded when the request was sampled. */
  answered(rcode: number): void {
    if (!this.sampling) return;
    this.sampling = false;
    const seconds = (performance.now() - this.startedAt) / 1e3;
    let byRcode = this.byRcode.get(this.transport);
    if (byRcode === undefined) {
      byRcode = new Map();
      this.byRcode.set(this.transport, byRcode);
    }
    let slots = byRcode.get(rcode);
    if (slots === undefined) {
      slots = this.slots(this.transport, this.rcodeName(rcode));
      byRcode.set(rcode, slots);
    }
    count(slots, seconds);
  }

  /** Record one observation (tests and `answered`). */
  record(transport: string, rcodeName: string, seconds: number): void {
    count(this.slots(transport, rcodeName), seconds);
  }

  /** The slots of one series, made on first use. */
  private slots(transport: string, rcodeName: string): number[] {
    const key = `${transport}|${rcodeName}`;
    let slots = this.series.get(key);
    if (!slots) {
      slots = new Array<number>(ANSWER_LATENCY_BUCKETS.length + 2).fill(0);
      this.series.set(key, slots);
    }
    return slots;
  }

  /** The figures, in the flat shape described above. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, slots] of this.series) {
      slots.forEach((value, index) => {
        if (index <= ANSWER_LATENCY_BUCKETS.length) {
          if (value > 0) out[`${key}|${index}`] = value;
        } else out[`${key}|sum`] = value;
      });
    }
    return out;
  }
}

/** Count one observation of `seconds` into a series' slots (bucket counts, then the sum). */
function count(slots: number[], seconds: number): void {
  let bucket = 0;
  while (bucket < ANSWER_LATENCY_BUCKETS.length && seconds > (ANSWER_LATENCY_BUCKETS[bucket] ?? Infinity)) bucket++;
  slots[bucket] = (slots[bucket] ?? 0) + 1;
  slots[ANSWER_LATENCY_BUCKETS.length + 1] = (slots[ANSWER_LATENCY_BUCKETS.length + 1] ?? 0) + seconds;
}

/** Read the flat record (one process's or several summed) back into series. */
export function answerLatencySeries(figures: Readonly<Record<string, number>>): AnswerLatencySeries[] {
  const series = new Map<string, { transport: string; rcode: string; counts: number[]; sum: number }>();
  for (const [key, value] of Object.entries(figures)) {
    const [transport, rcode, slot] = key.split('|');
    if (transport === undefined || rcode === undefined || slot === undefined) continue;
    const id = `${transport}|${rcode}`;
    let entry = series.get(id);
    if (!entry) {
      entry = { transport, rcode, counts: new Array<number>(ANSWER_LATENCY_BUCKETS.length + 1).fill(0), sum: 0 };
      series.set(id, entry);
    }
    if (slot === 'sum') entry.sum += value;
    else {
      const index = Number(slot);
      if (Number.isInteger(index) && index >= 0 && index < entry.counts.length) entry.counts[index] = (entry.counts[index] ?? 0) + value;
    }
  }
  return [...series.values()];
}
