import { afterEach, describe, expect, it, vi } from 'vitest';
import { GenerationalMemo } from '../../src/dns/instance-memo.js';

const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));

/** Read `all` in order `passes` times, memoising each miss (a listing rebuilt each time); misses per pass. */
function missesPerPass(memo: GenerationalMemo<{ i: number }, number>, all: readonly { i: number }[], passes: number): number[] {
  const out: number[] = [];
  for (let pass = 0; pass < passes; pass++) {
    let misses = 0;
    for (const k of all) {
      if (memo.get(k) === undefined) {
        misses++;
        memo.set(k, k.i);
      }
    }
    out.push(misses);
  }
  return out;
}

describe('GenerationalMemo', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('keeps hitting a working set as large as a generation, read in the same order each time', () => {
    const memo = new GenerationalMemo<{ i: number }, number>(100);
    const all = keys(100);
    expect(missesPerPass(memo, all, 5)).toEqual([100, 0, 0, 0, 0]); // the first pass only
    expect(all.every((k) => memo.get(k) === k.i)).toBe(true);
  });

  it('lets go of what was not used for two generations, and keeps what was used in the last one', () => {
    const memo = new GenerationalMemo<{ i: number }, string>(10);
    const kept = { i: -1 };
    const forgotten = { i: -2 };
    memo.set(kept, 'kept');
    memo.set(forgotten, 'forgotten');
    for (const [n, k] of keys(25).entries()) {
      memo.set(k, String(k.i));
      if (n % 5 === 0) expect(memo.get(kept)).toBe('kept'); // a read moves it into the young generation
    }
    expect(memo.get(kept)).toBe('kept');
    expect(memo.get(forgotten)).toBeUndefined();
  });

  it('holds at most two generations of entries', () => {
    const memo = new GenerationalMemo<{ i: number }, number>(10);
    const all = keys(50);
    for (const k of all) memo.set(k, k.i);
    expect(all.filter((k) => memo.get(k) !== undefined).length).toBeLessThanOrEqual(20);
    expect(all.slice(-10).every((k) => memo.get(k) === k.i)).toBe(true);
  });

  it('grows to a working set of three generations read over and over, then stops missing', () => {
    const memo = new GenerationalMemo<{ i: number }, number>(100);
    const all = keys(300);
    const misses = missesPerPass(memo, all, 6);
    expect(misses[0]).toBe(300);
    expect(misses.slice(-3)).toEqual([0, 0, 0]);
    expect(memo.generationSize).toBeGreaterThanOrEqual(150);
    expect(memo.generationSize).toBeLessThanOrEqual(400);
  });

  it('forgets a deleted key, and does not count it as let go too soon when it is memoised again', () => {
    const memo = new GenerationalMemo<{ i: number }, number>(10);
    const all = keys(2);
    for (const k of all) memo.set(k, k.i);
    memo.delete(all[0]!);
    expect(memo.get(all[0]!)).toBeUndefined();
    expect(memo.get(all[1]!)).toBe(1);
    // Deleted and memoised again, over and over (facts moved to a later array, the old one asked again).
    for (let n = 0; n < 1000; n++) {
      for (const k of all) {
        memo.delete(k);
        memo.set(k, n);
      }
    }
    expect(memo.get(all[0]!)).toBe(999);
    expect(memo.generationSize).toBe(10);
  });

  it('marks one key in 16 of those it memoises, however many keys are live', () => {
    // One weak set of every live key grew with the registry, each growth a rehash of the whole table.
    let marked = 0;
    const add = WeakSet.prototype.add;
    vi.spyOn(WeakSet.prototype, 'add').mockImplementation(function (this: WeakSet<WeakKey>, key: WeakKey) {
      marked++;
      return add.call(this, key);
    });
    const memo = new GenerationalMemo<{ i: number }, number>(1000);
    for (const k of keys(50_000)) memo.set(k, k.i);
    expect(marked).toBe(50_000 / 16);
  });

  // The sample's returns stand for all: a working set of any size read over and over makes it grow.
  it.each([
    { size: 20_000, passes: 10 },
    { size: 140_000, passes: 6 },
  ])('grows from a generation of 1,000 to a working set of $size read over and over', ({ size, passes }) => {
    const memo = new GenerationalMemo<{ i: number }, number>(1000);
    const misses = missesPerPass(memo, keys(size), passes);
    expect(misses.slice(-2)).toEqual([0, 0]);
    expect(memo.generationSize).toBeGreaterThanOrEqual(size / 2);
  });

  it('forgets the mark of a deleted key: memoised again, it is new, not a return', () => {
    const memo = new GenerationalMemo<{ i: number }, number>(10);
    const sixteen = keys(16);
    for (const k of sixteen) memo.set(k, k.i); // the 16th is marked
    const marked = sixteen[15]!;
    for (const k of keys(30)) memo.set(k, k.i); // `marked` is let go: a return, were it memoised now
    memo.delete(marked);
    memo.set(marked, 0);
    expect(memo.generationSize).toBe(10);
  });

  it('does not grow for keys read once, however many', () => {
    const memo = new GenerationalMemo<{ i: number }, number>(10);
    for (const k of keys(1000)) if (memo.get(k) === undefined) memo.set(k, k.i);
    expect(memo.generationSize).toBe(10);
  });

  it('keeps up with a working set that grows by one key at a time (services listed after each registration)', () => {
    const memo = new GenerationalMemo<{ i: number }, number>(256);
    const services: { i: number }[][] = Array.from({ length: 20 }, () => []);
    let misses = 0;
    for (let round = 0; round < 6000; round++) {
      const service = services[round % 20]!;
      service.push({ i: round });
      for (const k of service) {
        if (memo.get(k) === undefined) {
          misses++;
          memo.set(k, k.i);
        }
      }
    }
    // Each key misses once when new; growing costs a few hundred more, not a rebuild of every listing.
    expect(misses).toBeLessThan(6000 * 1.2);
  });
});
