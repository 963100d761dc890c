import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuthorityAnswer } from '../../src/dns/authority.js';
import { ResponseCache, variantFor } from '../../src/dns/cache.js';
import { CacheInvalidation } from '../../src/dns/cache-invalidation.js';
import { ENUM_TAG, SOA_TAG, instanceTag, nameTag, serviceTag } from '../../src/dns/cache-tags.js';
import dnsPacket from 'dns-packet';
import { HostIndex } from '../../src/dns/hosts.js';
import { nameKey, parseName } from '../../src/dns/name.js';
import type { DnsChange, DnsView } from '../../src/dns/view.js';
import { parseDomain } from '../../src/dns/authority.js';
import { FakeView } from './fake-view.js';
import { questionKeyHash } from '../../src/dns/wire.js';

const answer = (tags: string[]): AuthorityAnswer => ({ rcode: 0, aa: true, answer: [], authority: [], additional: [], rotation: 1, tags });
const variant = (size: number) => ({ bytes: Buffer.alloc(size), answerOffsets: undefined });

describe('ResponseCache bounds', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

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

  it('finds entries by their key octets, also when two keys share a hash, through replacement and invalidation', () => {
    const octets = (key: string) => Buffer.from(`${key}\u0000padding`, 'latin1'); // longer than the key, as the parser's scratch is
    const find = (cache: ResponseCache, key: string) => cache.find(octets(key), key.length, questionKeyHash(key));
    // Two keys with the same FNV-1a hash (found by search), so they share a chain.
    const [one, two] = ['key-901258', 'key-1540052'];
    expect(questionKeyHash(one)).toBe(questionKeyHash(two));
    for (const firstGone of [one, two]) {
      const cache = new ResponseCache(1_000, 1_000_000);
      const first = cache.set(one, answer([`inst:${one}`, 'svc:both']));
      const second = cache.set(two, answer([`inst:${two}`, 'svc:both']));
      expect([find(cache, one), find(cache, two), find(cache, 'key-9')]).toEqual([first, second, undefined]);
      expect(cache.find(octets(one), one.length - 1, questionKeyHash(one))).toBeUndefined(); // a prefix is not the key
      const replaced = cache.set(firstGone, answer([`inst:${firstGone}`]));
      expect(find(cache, firstGone)).toBe(replaced);
      expect(cache.invalidate(`inst:${firstGone}`)).toBe(1);
      const other = firstGone === one ? two : one;
      expect([find(cache, firstGone), find(cache, other)]).toEqual([undefined, firstGone === one ? second : first]);
      expect(cache.invalidate('svc:both')).toBe(1);
      expect(find(cache, other)).toBeUndefined();
      cache.set(one, answer([]));
      cache.clear();
      expect(find(cache, one)).toBeUndefined();
    }
  });

  it('evicts in the order entries were stored, across its shards, under both bounds', () => {
    const byCount = new ResponseCache(100, 1_000_000);
    const keys = Array.from({ length: 500 }, (_, i) => `question-${i}`);
    for (const key of keys) byCount.set(key, answer([`inst:${key}`]));
    expect(byCount.size).toBe(100);
    expect(keys.filter((key) => byCount.get(key) !== undefined)).toEqual(keys.slice(-100));
    const byBytes = new ResponseCache(1_000, 1_000);
    for (const key of keys) byBytes.storeVariant(byBytes.set(key, answer([`inst:${key}`])), 0, variant(100));
    expect(keys.filter((key) => byBytes.get(key) !== undefined)).toEqual(keys.slice(-10));
    // Replacing an entry stores it anew: it is now the newest, evicted last.
    byBytes.storeVariant(byBytes.set('question-490', answer([])), 0, variant(100));
    byBytes.storeVariant(byBytes.set('one-more', answer([])), 0, variant(100));
    // 490 went back in and stays; 491, now the oldest, made room for one-more.
    expect(keys.filter((key) => byBytes.get(key) !== undefined)).toEqual(['question-490', ...keys.slice(-8)]);
    expect(byBytes.get('one-more')).toBeDefined();
    // Entries dropped from the middle, the oldest and the newest leave the order of the rest intact.
    const mixed = new ResponseCache(6, 1_000_000);
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) mixed.set(key, answer([`inst:${key}`]));
    for (const key of ['c', 'a', 'f']) mixed.invalidate(`inst:${key}`);
    for (const key of ['g', 'h', 'i', 'j']) mixed.set(key, answer([`inst:${key}`]));
    expect(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].filter((key) => mixed.get(key) !== undefined)).toEqual(['d', 'e', 'g', 'h', 'i', 'j']); // b, the oldest left, made room for j
    for (const key of ['k', 'l', 'm']) mixed.set(key, answer([`inst:${key}`]));
    expect(mixed.size).toBe(6);
    expect(['d', 'e', 'g', 'h', 'i', 'j', 'k', 'l', 'm'].filter((key) => mixed.get(key) !== undefined)).toEqual(['h', 'i', 'j', 'k', 'l', 'm']);
  });

  it('keeps every table it grows under a 64th of its questions (each growth copies a whole table)', () => {
    let largest = 0;
    const set = Map.prototype.set;
    vi.spyOn(Map.prototype, 'set').mockImplementation(function (this: Map<unknown, unknown>, key: unknown, value: unknown) {
      const result = set.call(this, key, value);
      largest = Math.max(largest, this.size);
      return result;
    });
    const cache = new ResponseCache(100_000, 1_000_000_000);
    for (let i = 0; i < 20_000; i++) cache.set(`question-${i}`, answer([`inst:${i}`, 'svc:all']));
    vi.restoreAllMocks();
    expect(cache.size).toBe(20_000);
    expect(largest).toBeGreaterThan(200);
    expect(largest).toBeLessThan(600); // about 20,000 / 64 per shard; one Map per table would reach 20,000
    expect(cache.invalidate('svc:all')).toBe(20_000);
    expect(cache.size).toBe(0);
  });

  it('bounds the number of questions too', () => {
    const cache = new ResponseCache(3, 1_000_000);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, answer([]));
    expect([cache.size, cache.get('a'), cache.get('d')?.key]).toEqual([3, undefined, 'd']);
  });

  it('drops exactly the entries of a tag, however many keys it lists and whichever went first', () => {
    for (const count of [1, 2, 3, 8, 9, 40]) {
      const cache = new ResponseCache(1_000, 1_000_000);
      const keys = Array.from({ length: count }, (_, i) => `k${i}`);
      for (const key of keys) cache.set(key, answer(['svc:many', `inst:${key}`]));
      cache.set('other', answer(['svc:other']));
      // Drop every third key through its own tag first, then the rest through the shared one.
      let dropped = 0;
      for (const [i, key] of keys.entries()) if (i % 3 === 1) dropped += cache.invalidate(`inst:${key}`);
      expect(cache.invalidate('svc:many')).toBe(count - dropped);
      expect(keys.filter((key) => cache.get(key) !== undefined)).toEqual([]);
      expect([cache.size, cache.get('other')?.key]).toEqual([1, 'other']);
      cache.set('k0', answer(['svc:many'])); // the tag starts afresh
      expect(cache.invalidate('svc:many')).toBe(1);
    }
  });
});

describe('CacheInvalidation: drops exactly the answers that read what changed', () => {
  const cached = (cache: ResponseCache, tags: string[]): string => {
    const key = tags.join(',');
    cache.set(key, answer(tags));
    return key;
  };

  it('a changed instance drops its own answers and the service-wide ones, not its siblings', () => {
    const view = new FakeView()
      .set({ service: 'api', id: 'API-1', address: '10.0.0.1', port: 80 })
      .set({ service: 'api', id: 'api-2', address: '10.0.0.2', port: 80 })
      .set({ service: 'web', id: 'web-1', address: '10.0.0.3', port: 80, host: 'www.local' });
    const cache = new ResponseCache();
    const invalidation = new CacheInvalidation(view, cache, new HostIndex(parseDomain('local.')));
    const one = cached(cache, [instanceTag('api', 'tcp', 'api-1')]);
    const two = cached(cache, [instanceTag('api', 'tcp', 'api-2')]);
    const service = cached(cache, [serviceTag('api')]);
    const other = cached(cache, [serviceTag('web')]);
    const enumeration = cached(cache, [ENUM_TAG]);
    const host = cached(cache, [nameTag(nameKey(parseName('www.local.')))]);

    view.set({ service: 'api', id: 'API-1', address: '10.0.0.1', port: 81 });
    expect([one, two, service, other, enumeration, host].map((k) => cache.get(k) !== undefined)).toEqual([false, true, false, true, false, true]);

    view.setEligible('web', 'web-1', false); // its host name loses its address
    expect(cache.get(other)).toBeUndefined();
    expect(cache.get(host)).toBeUndefined();
    expect(cache.get(two)).toBeDefined();

    invalidation.close();
    view.remove('api', 'api-2');
    expect(cache.get(two)).toBeDefined(); // no longer following
  });

  it('keeps the enumeration answers when the change says the service list did not change', () => {
    const view = new FakeView().set({ service: 'api', id: 'a', address: '10.0.0.1', port: 80 });
    let notify: (c: DnsChange) => void = () => undefined;
    const follower: DnsView = { eligible: (s, p) => view.eligible(s, p), services: () => view.services(), hasService: () => true, hasInstance: () => true, onChange: (l) => ((notify = l), () => undefined) };
    const cache = new ResponseCache();
    new CacheInvalidation(follower, cache, new HostIndex(parseDomain('local.')));
    const enumeration = cached(cache, [ENUM_TAG]);
    notify({ services: ['api'], enumeration: false });
    expect(cache.get(enumeration)).toBeDefined();
    notify({ services: ['api'] });
    expect(cache.get(enumeration)).toBeUndefined();
  });
});

describe('ResponseCache.rewriteSerial', () => {
  const negative = (serial: number): Buffer =>
    dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 0x8400 | 3,
      questions: [{ name: 'x.local', type: 'A', class: 'IN' }],
      authorities: [{ name: 'local', type: 'SOA', ttl: 5, data: { mname: 'ns.local', rname: 'hostmaster.local', serial, refresh: 3600, retry: 600, expire: 86400, minimum: 5 } }],
    });
  const serialOf = (bytes: Buffer): number => (dnsPacket.decode(bytes).authorities![0] as { data: { serial: number } }).data.serial;

  it('writes the new serial into every stored SOA-bearing reply in place, keeps them, drops one it cannot rewrite', () => {
    const cache = new ResponseCache(1_000, 1_000_000);
    const a = cache.set('a', answer(['name:a', SOA_TAG]));
    cache.storeVariant(a, 0, { bytes: negative(100), answerOffsets: undefined });
    cache.storeVariant(a, 1, { bytes: negative(100), answerOffsets: undefined }); // a second EDNS shape
    const unreadable = cache.set('u', answer([SOA_TAG]));
    cache.storeVariant(unreadable, 0, variant(30)); // zeros: no SOA to be found
    const pending = cache.set('p', answer([SOA_TAG])); // never encoded: its answer holds the old serial
    const untagged = cache.set('n', answer(['name:n']));
    cache.storeVariant(untagged, 0, { bytes: negative(100), answerOffsets: undefined });
    const gone = cache.set('g', answer([SOA_TAG]));
    cache.storeVariant(gone, 0, { bytes: negative(100), answerOffsets: undefined });
    expect(cache.rewriteSerial(101)).toBe(3); // a's two replies and g's
    expect([serialOf(variantFor(a, 0)!.bytes), serialOf(variantFor(a, 1)!.bytes), serialOf(variantFor(gone, 0)!.bytes)]).toEqual([101, 101, 101]);
    expect(serialOf(variantFor(untagged, 0)!.bytes)).toBe(100); // not SOA-tagged: not touched
    expect([cache.get('u'), cache.get('p')]).toEqual([undefined, undefined]);
    expect(pending.key).toBe('p');
    cache.invalidate('name:a');
    expect(cache.rewriteSerial(102)).toBe(1); // a's replies left with it
  });
});
