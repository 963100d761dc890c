import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/index.js';
import { DeadlineHeap } from '../../src/registry/deadline-heap.js';

describe('DeadlineHeap', () => {
  it('agrees with a plain map on the earliest deadline and on what is due, under random sets and deletes', () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const heap = new DeadlineHeap<string>();
      const truth = new Map<string, number>();
      let now = 0;
      for (let step = 0; step < 3_000; step++) {
        const key = `k${Math.floor(random() * 50)}`;
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

  it('a key renewed many times surfaces once, at its last deadline', () => {
    const heap = new DeadlineHeap<undefined>();
    for (let i = 0; i < 10_000; i++) heap.set('only', 1_000 + i, undefined);
    expect(heap.peek()?.deadline).toBe(10_999);
    expect(heap.takeDue(20_000).map((e) => e.key)).toEqual(['only']);
    expect(heap.peek()).toBeUndefined();
  });
});
