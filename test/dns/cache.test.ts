import { describe, expect, it } from 'vitest';
import type { AuthorityAnswer } from '../../src/dns/authority.js';
import { ResponseCache, variantFor } from '../../src/dns/cache.js';

const answer = (tags: string[]): AuthorityAnswer => ({ rcode: 0, aa: true, answer: [], authority: [], additional: [], rotation: 1, tags });
const variant = (size: number) => ({ bytes: Buffer.alloc(size), answerOffsets: undefined });

describe('ResponseCache bounds', () => {
  it('evicts the oldest entries once reply bytes pass the budget, never the entry being stored', () => {
    const cache = new ResponseCache(1_000, 1_000);
    for (const key of ['a', 'b', 'c']) cache.storeVariant(cache.set(key, answer([`svc:${key}`])), 0, variant(400));
    expect(cache.size).toBe(2); // a went when c pushed the total to 1200
    expect(cache.get('a')).toBeUndefined();
    expect(cache.bytes).toBe(800);
    const big = cache.set('big', answer(['svc:big']));
    cache.storeVariant(big, 0, variant(5_000));
    expect(cache.get('big')).toBe(big); // kept even though alone it is over budget
    expect(variantFor(big, 0)?.bytes.length).toBe(5_000);
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(5_000);
  });

  it('keeps the byte count right through invalidation, a second shape, replacement and clear', () => {
    const cache = new ResponseCache(1_000, 1_000_000);
    const entry = cache.set('q', answer(['svc:api']));
    cache.storeVariant(entry, 0, variant(100));
    cache.storeVariant(entry, 1, variant(50));
    expect(cache.bytes).toBe(150);
    cache.set('q', answer(['svc:api'])); // replaced: the old replies no longer count
    expect(cache.bytes).toBe(0);
    cache.storeVariant(cache.get('q')!, 0, variant(70));
    expect(cache.invalidate('svc:api')).toBe(1);
    expect(cache.bytes).toBe(0);
    cache.storeVariant(cache.set('r', answer([])), 0, variant(10));
    cache.clear();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });

  it('bounds the number of questions too', () => {
    const cache = new ResponseCache(3, 1_000_000);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, answer([]));
    expect([cache.size, cache.get('a'), cache.get('d')?.key]).toEqual([3, undefined, 'd']);
  });
});
