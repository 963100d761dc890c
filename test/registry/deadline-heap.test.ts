import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/index.js';
import { DeadlineHeap } from '../../src/registry/deadline-heap.js';
import { textHash } from '../../src/text-hash.js';

describe('DeadlineHeap', () => {
  it('agrees with a plain map on the earliest deadline and on what is due, under random sets and deletes', () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const heap = new DeadlineHeap<string>(textHash);
      const truth = new Map<string, number>();
      let now = 0;
      for (let step = 0; step < 3_000; step++) {
        // 500 keys over 64 shards: what falls due comes from several shards and must come out merged.
        const key = `k${Math.floor(random() * 500)}`;
        const r = random();
        if (r < 0.6) {
          // Mostly later deadlines (renewals), sometimes earlier ones.
          const deadline = now + Math.floor(random() * 1_000) - (random() < 0.1 ? 500 : 0);
          heap.set(key, deadline, key);
          truth.set(key, deadline);
        } else if (r < 0.7) {
          heap.delete(key);
          truth.delete(key);
        } else if (r < 0.8) {
          now += Math.floor(random() * 200);
          const due = heap.takeDue(now);
          const expected = [...truth].filter(([, d]) => d <= now);
          expect(due.map((e) => e.key).sort()).toEqual(expected.map(([k]) => k).sort());
          expect(due.map((e) => e.deadline)).toEqual([...due.map((e) => e.deadline)].sort((a, b) => a - b));
          for (const [k] of expected) truth.delete(k);
        }
        const earliest = Math.min(...truth.values());
        expect(heap.peek()?.deadline ?? Infinity, `seed ${seed} step ${step}`).toBe(earliest);
        expect(heap.size).toBe(truth.size);
      }
    }
  });

  it('spreads 100,000 keys so that no shard holds more than 2,000, and still hands them back earliest first', () => {
    const heap = new DeadlineHeap<number>(textHash);
    const random = seededRandom(7);
    for (let i = 0; i < 100_000; i++) heap.set(`instance-${i}\u0000_web._tcp`, Math.floor(random() * 1e6), i);
    expect(heap.size).toBe(100_000);
    // A single heap would grow its index past 65,536 keys in one step (one copy of the whole table).
    expect(heap.largestShard).toBeLessThanOrEqual(2_000);
    expect(heap.largestShard).toBeGreaterThan(1_000);
    const due = heap.takeDue(1e6);
    expect(due).toHaveLength(100_000);
    for (let i = 1; i < due.length; i++) expect(due[i]!.deadline).toBeGreaterThanOrEqual(due[i - 1]!.deadline);
    expect(heap.size).toBe(0);
    expect(heap.largestShard).toBe(0);
  });

  it('keys objects by identity, spread by the hash it is given', () => {
    const key = (id: string): { id: string } => ({ id });
    const a = key('a');
    const heap = new DeadlineHeap<undefined, { id: string }>((k) => textHash(k.id));
    heap.set(a, 10, undefined);
    heap.set(key('a'), 5, undefined); // equal text, another object: another key
    expect(heap.size).toBe(2);
    heap.set(a, 20, undefined);
    expect(heap.size).toBe(2);
    heap.delete(a);
    expect(heap.takeDue(100).map((e) => e.deadline)).toEqual([5]);
  });

  it('a key renewed many times surfaces once, at its last deadline', () => {
    const heap = new DeadlineHeap<undefined>(textHash);
    for (let i = 0; i < 10_000; i++) heap.set('only', 1_000 + i, undefined);
    expect(heap.peek()?.deadline).toBe(10_999);
    expect(heap.takeDue(20_000).map((e) => e.key)).toEqual(['only']);
    expect(heap.peek()).toBeUndefined();
  });
});
