import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/index.js';
import { SHARD_COUNT, ShardedMap, shardOf } from '../src/sharded-map.js';
import { textHash } from '../src/text-hash.js';

describe('ShardedMap', () => {
  it('agrees with a Map under random sets, deletes and clears', () => {
    const random = seededRandom(11);
    const sharded = new ShardedMap<string, number>(textHash);
    const truth = new Map<string, number>();
    for (let step = 0; step < 20_000; step++) {
      const key = `k${Math.floor(random() * 2_000)}`;
      const r = random();
      if (r < 0.6) {
        sharded.set(key, step);
        truth.set(key, step);
      } else if (r < 0.999) {
        expect(sharded.delete(key)).toBe(truth.delete(key));
      } else {
        sharded.clear();
        truth.clear();
      }
      expect(sharded.size).toBe(truth.size);
      expect(sharded.get(key)).toBe(truth.get(key));
      expect(sharded.has(key)).toBe(truth.has(key));
    }
  });

  it('hands out the first value of each shard that has any, in insertion order within it', () => {
    const map = new ShardedMap<number, string>((n) => n);
    expect([...map.heads()]).toEqual([]);
    // A key that is its own hash lands in shard key % SHARD_COUNT (below 2^16 the high half mixes in nothing).
    for (let n = 0; n < 3 * SHARD_COUNT; n++) map.set(n, `v${n}`);
    const heads = [...map.heads()];
    expect(heads).toHaveLength(SHARD_COUNT);
    expect(new Set(heads)).toEqual(new Set(Array.from({ length: SHARD_COUNT }, (_, n) => `v${n}`)));
    map.delete(0);
    expect([...map.heads()]).toContain(`v${SHARD_COUNT}`); // the next in key 0's shard moved up
    map.set(SHARD_COUNT, 'changed'); // a present key keeps its place
    expect([...map.heads()]).toContain('changed');
  });

  it('spreads text keys evenly: no shard holds more than twice its share of 100,000', () => {
    const counts = new Array<number>(SHARD_COUNT).fill(0);
    for (let i = 0; i < 100_000; i++) counts[shardOf(textHash(`instance-${i}._web._tcp`))]!++;
    expect(Math.max(...counts)).toBeLessThan((2 * 100_000) / SHARD_COUNT);
    expect(Math.min(...counts)).toBeGreaterThan(100_000 / SHARD_COUNT / 2);
  });
});
