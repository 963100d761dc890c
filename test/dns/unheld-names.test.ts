/**
 * Negative answers at instance names (no eligible instance holds the name) stay cached across the service's
 * other changes, and every change that does move them shows in the very next answer: a registration (eligible
 * or not), a deregistration (eligible or not), a move to the other protocol, a name differing only in case;
 * and, served from the cache, they carry the SOA serial of the moment (written into them when read).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { ServiceInstance } from '../../src/registry/types.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import { parseDomain } from '../../src/dns/authority.js';
import { ResponseCache } from '../../src/dns/cache.js';
import { CacheInvalidation } from '../../src/dns/cache-invalidation.js';
import { instanceTag, subtypeTag, subtypesTag, unheldTag } from '../../src/dns/cache-tags.js';
import { HostIndex } from '../../src/dns/hosts.js';
import type { DnsChange, DnsView } from '../../src/dns/view.js';
import type { DnsServer } from '../../src/dns/server.js';
import { buildQuery, decode, udpQuery, serveOnLoopback, type Decoded } from './helpers.js';

let registry: ServiceRegistry;
let view: ReturnType<typeof createRegistryView>;
let server: DnsServer;
let port: number;

beforeEach(async () => {
  registry = new ServiceRegistry({ defaultTtlMs: 3_600_000 }, { clock: new ManualClock(1_000_000) });
  registry.register('api', new ServiceInstance('api-1', '10.0.0.1', 8080));
  registry.register('api', new ServiceInstance('api-2', '10.0.0.2', 8080));
  view = createRegistryView(registry);
  server = await serveOnLoopback(view);
  port = server.addresses.udp[0]!.port;
});
afterEach(async () => {
  await server.close();
  view.dispose();
});

const ask = async (name: string, type: string): Promise<Decoded> => decode(await udpQuery(port, buildQuery(name, type)));
const txt = (r: Decoded): string[] => r.answer.filter((l) => l.includes(' TXT '));

describe('answers at instance names nobody holds', () => {
  it('stay cached while siblings flip health and re-register', async () => {
    expect((await ask('ghost._api._tcp.local.', 'TXT')).rcode).toBe('NXDOMAIN');
    const misses = server.stats().cacheMisses;
    registry.updateHealth('api', 'api-1', 'unhealthy');
    registry.register('api', new ServiceInstance('api-2', '10.0.0.2', 8080).withMetadata('rev', '2'));
    registry.updateHealth('api', 'api-1', 'healthy');
    expect((await ask('ghost._api._tcp.local.', 'TXT')).rcode).toBe('NXDOMAIN');
    expect(server.stats().cacheMisses).toBe(misses); // answered from the cache: the entry was kept
    // The siblings' own answers did follow (the cached listing went).
    expect(txt(await ask('api-2._api._tcp.local.', 'TXT')).join()).toContain('rev=2');
  });

  it('follow a registration of that name, eligible or not, in the next answer', async () => {
    expect((await ask('ghost._api._tcp.local.', 'TXT')).rcode).toBe('NXDOMAIN');
    expect((await ask('sick._api._tcp.local.', 'SRV')).rcode).toBe('NXDOMAIN');
    registry.register('api', new ServiceInstance('Ghost', '10.0.0.9', 9000).withMetadata('k', 'v'));
    expect(txt(await ask('ghost._api._tcp.local.', 'TXT'))).toHaveLength(1);
    // Registered ineligible on arrival: no eligible change at all, yet the name now exists (NODATA).
    registry.register('api', new ServiceInstance('sick', '10.0.0.8', 9000).withHealth('unhealthy'));
    const sick = await ask('sick._api._tcp.local.', 'SRV');
    expect([sick.rcode, sick.answer.length]).toEqual(['NOERROR', 0]);
  });

  it('follow a deregistration of an ineligible instance in the next answer', async () => {
    registry.register('api', new ServiceInstance('sick', '10.0.0.8', 9000).withHealth('unhealthy'));
    registry.register('api', new ServiceInstance('held', '10.0.0.7', 9000));
    registry.setMaintenance('api', 'held', true, 'deploy');
    for (const name of ['sick', 'held']) {
      const r = await ask(`${name}._api._tcp.local.`, 'TXT');
      expect([r.rcode, r.answer.length]).toEqual(['NOERROR', 0]);
    }
    registry.deregister('api', 'sick');
    registry.deregister('api', 'held');
    expect((await ask('sick._api._tcp.local.', 'TXT')).rcode).toBe('NXDOMAIN');
    expect((await ask('held._api._tcp.local.', 'TXT')).rcode).toBe('NXDOMAIN');
  });

  it('follow a move to the other protocol, under both protocols', async () => {
    registry.register('api', new ServiceInstance('mover', '10.0.0.6', 9000).withHealth('unhealthy'));
    expect((await ask('mover._api._tcp.local.', 'TXT')).rcode).toBe('NOERROR');
    expect((await ask('mover._api._udp.local.', 'TXT')).rcode).toBe('NXDOMAIN');
    registry.register('api', new ServiceInstance('mover', '10.0.0.6', 9000).withProtocol('udp').withHealth('unhealthy'));
    expect((await ask('mover._api._tcp.local.', 'TXT')).rcode).toBe('NXDOMAIN');
    expect((await ask('mover._api._udp.local.', 'TXT')).rcode).toBe('NOERROR');
  });

  it('follow the last instance of a service going and the service coming back', async () => {
    expect((await ask('api-1._api._tcp.local.', 'SRV')).answer).toHaveLength(1);
    expect((await ask('ghost._api._tcp.local.', 'SRV')).rcode).toBe('NXDOMAIN');
    registry.deregister('api', 'api-1');
    registry.deregister('api', 'api-2');
    expect((await ask('api-1._api._tcp.local.', 'SRV')).rcode).toBe('NXDOMAIN');
    registry.register('api', new ServiceInstance('GHOST', '10.0.0.5', 9000));
    expect((await ask('ghost._api._tcp.local.', 'SRV')).answer).toHaveLength(1);
    expect((await ask('api-1._api._tcp.local.', 'SRV')).rcode).toBe('NXDOMAIN');
  });
});

describe('a view that does not list its registrations', () => {
  it('drops the negative answers of every service it names', () => {
    const listeners = new Set<(change: DnsChange) => void>();
    const bare: DnsView = {
      eligible: () => [],
      services: () => [],
      hasService: () => true,
      hasInstance: () => false,
      onChange: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const cache = new ResponseCache();
    const invalidation = new CacheInvalidation(bare, cache, new HostIndex(parseDomain('local.')));
    const negative = { rcode: 3, aa: true, answer: [], authority: [], additional: [], rotation: 1 };
    cache.set('ghost-api', { ...negative, tags: [instanceTag('api', 'tcp', 'ghost'), unheldTag('api')] });
    cache.set('ghost-web', { ...negative, tags: [instanceTag('web', 'tcp', 'ghost'), unheldTag('web')] });
    // Instance detail without registrations: any name of `api` may have been registered.
    for (const listener of listeners) listener({ services: ['api'], instances: [] });
    expect(cache.get('ghost-api')).toBeUndefined();
    expect(cache.get('ghost-web')).toBeDefined();
    // Registrations listed: only the names listed go.
    cache.set('ghost-api', { ...negative, tags: [instanceTag('api', 'tcp', 'ghost'), unheldTag('api')] });
    for (const listener of listeners) listener({ services: ['web'], instances: [], registrations: [{ service: 'web', protocol: 'tcp', id: 'other' }] });
    expect(cache.get('ghost-web')).toBeDefined();
    for (const listener of listeners) listener({ services: ['web'], instances: [], registrations: [{ service: 'web', protocol: 'tcp', id: 'ghost' }] });
    expect(cache.get('ghost-web')).toBeUndefined();
    expect(cache.get('ghost-api')).toBeDefined();
    // Subtype answers: a change without instance detail may have moved any tag.
    cache.set('sub-api', { ...negative, rcode: 0, tags: [subtypeTag('api', 'tcp', 'blue'), subtypesTag('api')] });
    for (const listener of listeners) listener({ services: ['api'], instances: [], enumeration: false, registrations: [] });
    expect(cache.get('sub-api')).toBeDefined();
    for (const listener of listeners) listener({ services: ['api'] });
    expect(cache.get('sub-api')).toBeUndefined();
    invalidation.close();
  });
});

describe('cached negative answers after the SOA serial moved', () => {
  const serialOf = (r: Decoded): number => Number(r.authority.find((l) => l.includes(' SOA '))!.split(' ').slice(-5)[0]);

  it('carry the new serial from the cache, in every EDNS shape, at every move', async () => {
    const asks = [
      async () => decode(await udpQuery(port, buildQuery('ghost._api._tcp.local.', 'TXT'))),
      async () => decode(await udpQuery(port, buildQuery('ghost._api._tcp.local.', 'TXT', { edns: 1232 }))),
      async () => decode(await udpQuery(port, buildQuery('_nosuch._tcp.local.', 'SRV'))),
    ];
    let last = -1;
    for (const ask of asks) {
      const r = await ask();
      expect(r.rcode).toBe('NXDOMAIN');
      last = serialOf(r);
    }
    const misses = server.stats().cacheMisses;
    for (let move = 0; move < 3; move++) {
      registry.updateHealth('api', 'api-1', move % 2 === 0 ? 'unhealthy' : 'healthy');
      expect(server.serial.current).not.toBe(last);
      const serials = [];
      for (const ask of asks) serials.push(serialOf(await ask()));
      expect(serials).toEqual([server.serial.current, server.serial.current, server.serial.current]);
      last = server.serial.current;
    }
    expect(server.stats().cacheMisses).toBe(misses); // every one of them a cache hit
  });
});
