/**
 * Consul blocking queries on Beacon's change feed. `X-Consul-Index` is Beacon's change index plus one, so it
 * is never 0 (Consul clients treat 0 as "no index") and moves with every visible change. A read with
 * `?index=N` waits until the index passes N or `?wait` elapses (default 5 minutes, at most 10, plus up to
 * wait/16 of jitter, as Consul documents in 'Blocking Queries'); an index ahead of the current one (the
 * registry was replaced by an older snapshot) answers at once, so the client re-reads and starts over.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { ChangeFeed } from '../watch.js';
import { parseGoDuration } from './definition.js';

/** Wait when `?index` is given without `?wait`. */
export const DEFAULT_BLOCKING_WAIT_MS = 5 * 60_000;
/** Longest `?wait`. */
export const MAX_BLOCKING_WAIT_MS = 10 * 60_000;

/** The `X-Consul-Index` of a Beacon change index. */
export const consulIndex = (beaconIndex: number): number => beaconIndex + 1;

/** `?wait=` in ms: a Go duration (`10s`, `5m`) as Consul takes it, capped at MAX_BLOCKING_WAIT_MS, plus jitter. */
export function blockingWaitMs(value: string | undefined, random: () => number = Math.random): number {
  if (value === undefined || value === '') return DEFAULT_BLOCKING_WAIT_MS;
  const ms = Math.min(MAX_BLOCKING_WAIT_MS, parseGoDuration(value, 'wait'));
  if (ms === 0) throw new InvalidArgumentError('wait must be greater than zero', 'wait');
  // Jitter spreads the wake-ups of many clients that asked with the same wait (Consul adds up to wait/16).
  return Math.round(ms + random() * (ms / 16));
}

/** Parse `?index=`: a non-negative integer, or undefined when absent. */
export function blockingIndex(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(value)) throw new InvalidArgumentError(`index must be a non-negative integer, got ${JSON.stringify(value)}`, 'index');
  return Number(value);
}

/**
 * Wait as a blocking query asks: return at once without an index, with index 0, or when the index is not the
 * current one; otherwise when the feed moves past it, after `waitMs`, or on `signal`.
 */
export async function block(feed: Pick<ChangeFeed, 'index' | 'wait'>, index: number | undefined, waitMs: number, signal: AbortSignal): Promise<void> {
  if (index === undefined || index === 0) return;
  if (index !== consulIndex(feed.index)) return;
  await feed.wait(feed.index, waitMs, signal);
}
