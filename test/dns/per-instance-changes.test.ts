import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServiceInstance, ServiceRegistry, SmartLoadBalancer, createRegistryView, seededRandom } from '../../src/index.js';
import type { AuthorityAnswer } from '../../src/dns/authority.js';
import { parseDomain } from '../../src/dns/authority.js';
import { ResponseCache } from '../../src/dns/cache.js';
import { CacheInvalidation } from '../../src/dns/cache-invalidation.js';
import { ENUM_TAG, instanceShapeTag, instanceTag, nameTag, serviceShapeTag, serviceTag } from '../../src/dns/cache-tags.js';
import { HostIndex } from '../../src/dns/hosts.js';
import { nameKey, parseName } from '../../src/dns/name.js';
import type { DnsView } from '../../src/dns/view.js';

const answer = (tags: string[]): AuthorityAnswer => ({ rcode: 0, aa: true, answer: [], authority: [], additional: [], rotation: 1, tags });
const hostKey = (host: string): string => nameKey(parseName(host));

/** A ResponseCache that records every tag it is asked to invalidate. */
class RecordingCache extends ResponseCache {
  readonly tagsInvalidated: string[] = [];
  override invalidate(tag: string): number {
    this.tagsInvalidated.push(tag);
    return super.invalidate(tag);
  }
}

/** The view with a count of `eligible()` reads (a service re-read shows up here). */
function countingView(view: DnsView): { view: DnsView; reads: () => number } {
  let reads = 0;
  const counted: DnsView = {
    eligible: (service, protocol) => {
      reads += 1;
      return view.eligible(service, protocol);
    },
    instance: (service, protocol, id) => view.instance?.(service, protocol, id),
    services: () => view.services(),
    hasService: (service, protocol) => view.hasService(service, protocol),
    hasInstance: (service, protocol, id) => view.hasInstance(service, protocol, id),
    onChange: (listener) => view.onChange(listener),
  };
  return { view: counted, reads: () => reads };
}

describe('a change to one instance of a 5,000-instance service', () => {
  const SIZE = 5_000;
  const host = (i: number): string => `h${i}.hosts.local.`;

  function world() {
    const registry = new ServiceRegistry({ defaultTtlMs: 3_600_000 });
    for (let i = 0; i < SIZE; i++) registry.register('big', new ServiceInstance(`i-${i}`, `10.0.${i >> 8}.${i & 255}`, 8000).withHost(host(i)));
    registry.register('small', new ServiceInstance('s-0', '10.9.0.1', 80));
    const base = createRegistryView(registry);
    const { view, reads } = countingView(base);
    const cache = new RecordingCache(100_000, 1 << 30);
    const invalidation = new CacheInvalidation(view, cache, new HostIndex(parseDomain('local.')));
    // One cached answer per instance, per host name, for the service, the enumeration and another service.
    for (let i = 0; i < SIZE; i++) {
      cache.set(`inst-${i}`, answer([instanceTag('big', 'tcp', `i-${i}`)]));
      cache.set(`host-${i}`, answer([nameTag(hostKey(host(i)))]));
    }
    cache.set('browse-big', answer([serviceTag('big')]));
    cache.set('browse-small', answer([serviceTag('small')]));
    cache.set('enum', answer([ENUM_TAG]));
    const readsBefore = reads();
    const start = (): void => {
      cache.tagsInvalidated.length = 0;
    };
    return { registry, cache, reads: () => reads() - readsBefore, start, close: () => { invalidation.close(); base.dispose(); } };
  }

  it('drops that instance\'s own answers and the service\'s listing only, reading no service', () => {
    const w = world();
    w.start();
    const entries = w.cache.size;
    w.registry.register('big', new ServiceInstance('i-42', '10.0.0.42', 9000).withHost(host(42))); // new port, same host and address
    // A new port: the answers reading the SRV data go too (the shape tags), not only those reading metadata.
    expect(w.cache.tagsInvalidated.sort()).toEqual([instanceTag('big', 'tcp', 'i-42'), instanceShapeTag('big', 'tcp', 'i-42'), serviceTag('big'), serviceShapeTag('big')].sort());
    expect(w.cache.size).toBe(entries - 2);
    expect(w.cache.get('inst-41')).toBeDefined();
    expect(w.cache.get('host-42')).toBeDefined();
    expect(w.reads()).toBe(0);
    w.close();
  });

  it('drops the old and new host names of an instance that moved host, and its ancestors, nothing else', () => {
    const w = world();
    w.start();
    w.registry.register('big', new ServiceInstance('i-43', '10.0.0.43', 8000).withHost('moved.hosts.local.'));
    const names = w.cache.tagsInvalidated.filter((t) => t.startsWith('name:')).sort();
    expect(names).toEqual([nameTag(hostKey('h43.hosts.local.')), nameTag(hostKey('hosts.local.')), nameTag(hostKey('moved.hosts.local.'))].sort());
    expect(w.cache.get('host-43')).toBeUndefined();
    expect(w.cache.get('host-44')).toBeDefined();
    expect(w.reads()).toBe(0);
    w.close();
  });

  it('on deregistration or a health flip: that instance, its listing and its host; enumeration stays', () => {
    const w = world();
    w.start();
    w.registry.deregister('big', 'i-44');
    w.registry.updateHealth('big', 'i-45', 'unhealthy');
    expect(w.cache.tagsInvalidated).not.toContain(ENUM_TAG);
    expect(new Set(w.cache.tagsInvalidated)).toEqual(new Set([
      serviceTag('big'), serviceShapeTag('big'),
      instanceTag('big', 'tcp', 'i-44'), instanceShapeTag('big', 'tcp', 'i-44'), nameTag(hostKey(host(44))),
      instanceTag('big', 'tcp', 'i-45'), instanceShapeTag('big', 'tcp', 'i-45'), nameTag(hostKey(host(45))),
      nameTag(hostKey('hosts.local.')),
    ]));
    expect(w.cache.get('enum')).toBeDefined();
    expect(w.cache.get('browse-small')).toBeDefined();
    expect(w.reads()).toBe(0);
    w.close();
  });
});

describe('registry view under random mutations', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps eligible() equal to a full recomputation (seeded sequences of writes, lapses and circuits)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const random = seededRandom(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      const registry = new ServiceRegistry({ defaultTtlMs: 1_000 });
      const balancer = new SmartLoadBalancer(registry, { failureThreshold: 2, successThreshold: 1, openTimeoutMs: 700, halfOpenMaxCalls: 1 });
      const view = createRegistryView(registry, balancer);
      const services = ['api', 'db', 'web'];
      const ids = Array.from({ length: 12 }, (_, i) => `n${i}`);
      let steps = 0;
      for (let step = 0; step < 400; step++) {
        const service = pick(services);
        const id = pick(ids);
        const op = Math.floor(random() * 9);
        try {
          if (op <= 2) {
            const inst = new ServiceInstance(id, `10.0.0.${Math.floor(random() * 4)}`, 80 + Math.floor(random() * 3)).withProtocol(random() < 0.3 ? 'udp' : 'tcp');
            if (random() < 0.3) inst.withTtl(300 + Math.floor(random() * 2_000));
            if (random() < 0.3) inst.withHost(`h${Math.floor(random() * 3)}.local.`);
            registry.register(service, inst);
          } else if (op === 3) registry.deregister(service, id);
          else if (op === 4) registry.updateHealth(service, id, pick(['healthy', 'unhealthy', 'unknown'] as const));
          else if (op === 5) registry.setMaintenance(service, id, random() < 0.5);
          else if (op === 6) registry.heartbeat(service, id, random() < 0.8 ? 'pass' : 'fail');
          else if (op === 7 && random() < 0.6) balancer.reportFailure(service, id);
          else if (op === 7) balancer.reportSuccess(service, id);
          else vi.advanceTimersByTime(Math.floor(random() * 600));
        } catch {
          // not registered: the write changes nothing, which is fine here
        }
        steps += 1;
        for (const s of services) {
          for (const protocol of ['tcp', 'udp'] as const) {
            const now = registry.clock.now();
            const expected = registry.records(s).filter((r) => r.spec.protocol === protocol && registry.isServable(r, now) && balancer.admits(r));
            const seen = view.eligible(s, protocol);
            expect(seen.map((i) => i.id).sort(), `seed ${seed} step ${step} ${s}/${protocol}`).toEqual(expected.map((r) => r.spec.id).sort());
            for (const inst of seen) {
              const record = registry.get(s, inst.id)!;
              expect(inst.port).toBe(record.spec.port);
              expect(inst.address).toBe(record.spec.address);
              expect(inst.host).toBe(record.spec.host);
              expect(view.instance?.(s, protocol, inst.id.toUpperCase())).toBe(inst);
            }
          }
        }
      }
      expect(steps).toBe(400);
      view.dispose();
      balancer.dispose();
    }
  });
});
