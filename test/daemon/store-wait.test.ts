/** openWhenReachable: retries an unreachable store with backoff, gives up after --store-wait, never waits for a corrupt one. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openWhenReachable } from '../../src/daemon/store-wait.js';
import { StoreCorruptError, StoreUnavailableError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';

describe('openWhenReachable', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps trying with doubling delays until the store answers', async () => {
    const attemptsAt: number[] = [];
    const opening = openWhenReachable(async () => {
      attemptsAt.push(Date.now());
      if (attemptsAt.length < 6) throw new StoreUnavailableError('etcd down');
      return 'loaded';
    }, { log: silentLogger });
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(opening).resolves.toBe('loaded');
    const gaps = attemptsAt.slice(1).map((t, i) => t - attemptsAt[i]!);
    expect(gaps).toEqual([100, 200, 400, 800, 1600]);
  });

  it('gives up after the wait it was given', async () => {
    let attempts = 0;
    const opening = openWhenReachable(async () => {
      attempts += 1;
      throw new StoreUnavailableError('etcd down');
    }, { log: silentLogger, waitMs: 1000 });
    const outcome = expect(opening).rejects.toThrow(/did not answer within 1000 ms \(--store-wait\)/);
    await vi.advanceTimersByTimeAsync(5_000);
    await outcome;
    expect(attempts).toBe(4); // at 0, 100, 300, 700 ms; the next (1500 ms) would pass the wait
  });

  it('does not wait for a corrupt store', async () => {
    await expect(openWhenReachable(async () => {
      throw new StoreCorruptError('bad row');
    }, { log: silentLogger })).rejects.toBeInstanceOf(StoreCorruptError);
  });
});
