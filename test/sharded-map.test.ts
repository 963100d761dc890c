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

  it('finds by a hash the caller passes exactly what hashOf would find', () => {
    const map = new ShardedMap<string, number>(textHash);
    for (let i = 0; i < 1_000; i++) map.setHashed(`k${i}`, textHash(`k${i}`), i);
    expect(map.size).toBe(1_000);
    expect(map.get('k500')).toBe(500);
    expect(map.getHashed('k500', textHash('k500'))).toBe(500);
    map.set('k1', -1);
    expect(map.getHashed('k1', textHash('k1'))).toBe(-1);
    expect(map.deleteHashed('k2', textHash('k2'))).toBe(true);
    expect(map.has('k2')).toBe(false);
    expect(map.size).toBe(999);
  });

  it('spreads text keys evenly: no shard holds more than twice its share of 100,000', () => {
    const counts = new Array<number>(SHARD_COUNT).fill(0);
    for (let i = 0; i < 100_000; i++) counts[shardOf(textHash(`instance-${i}._web._tcp`))]!++;
    expect(Math.max(...counts)).toBeLessThan((2 * 100_000) / SHARD_COUNT);
    expect(Math.min(...counts)).toBeGreaterThan(100_000 / SHARD_COUNT / 2);
  });
});
