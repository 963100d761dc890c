import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServiceInstance, ServiceRegistry, createRegistryView } from '../../src/index.js';
import { testUdpTransport } from './helpers.js';

// Fake timers drive Date.now() (the registry clock) and the view's lapse timer: nothing sleeps.
beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('registry view: a missed TTL reaches DNS without waiting for the reaper', () => {
  it('announces the service when an answered instance lapses, and re-reads without it', () => {
    const registry = new ServiceRegistry({ defaultTtlMs: 1_000 });
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    registry.register('api', new ServiceInstance('b', '10.0.0.2', 80).withTtl(5_000));
    const view = createRegistryView(registry);
    const announced: string[] = [];
    view.onChange((change) => announced.push(...change.services));
    expect(view.eligible('api', 'tcp').map((i) => i.id)).toEqual(['a', 'b']);
    vi.advanceTimersByTime(999);
    expect(announced).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(announced).toEqual(['api']);
    expect(view.eligible('api', 'tcp').map((i) => i.id)).toEqual(['b']);
    vi.advanceTimersByTime(4_000);
    expect(announced).toEqual(['api', 'api']);
    expect(view.eligible('api', 'tcp')).toEqual([]);
    view.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops a re-registered instance at the lapse of its new registration, under either protocol', () => {
    const registry = new ServiceRegistry({ defaultTtlMs: 1_000 });
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    registry.register('api', new ServiceInstance('u', '10.0.0.2', 53).withProtocol('udp'));
    const view = createRegistryView(registry);
    const announced: string[] = [];
    view.onChange((change) => announced.push(...(change.instances ?? []).map((i) => `${i.protocol}/${i.id}${i.after ? '' : ' out'}`)));
    vi.advanceTimersByTime(600);
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 81)); // a new DNS form, lapsing at 1,600
    registry.register('api', new ServiceInstance('u', '10.0.0.2', 53)); // moves to tcp, lapsing at 1,600
    expect(announced).toEqual(['tcp/a', 'udp/u out', 'tcp/u']);
    vi.advanceTimersByTime(999);
    expect(announced).toHaveLength(3);
    expect(view.eligible('api', 'tcp').map((i) => `${i.id}:${i.port}`)).toEqual(['a:81', 'u:53']);
    vi.advanceTimersByTime(1);
    expect(announced.slice(3).sort()).toEqual(['tcp/a out', 'tcp/u out']);
    expect(view.eligible('api', 'tcp')).toEqual([]);
    view.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not announce a service whose instances were renewed by heartbeats in time', () => {
    const registry = new ServiceRegistry({ defaultTtlMs: 1_000 });
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    const view = createRegistryView(registry);
    const announced: string[] = [];
    view.onChange((change) => announced.push(...change.services));
    view.eligible('api', 'tcp');
    for (let t = 0; t < 5; t++) {
      vi.advanceTimersByTime(800);
      registry.heartbeat('api', 'a'); // silent: no change event
    }
    expect(announced).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(announced).toEqual(['api']);
    view.dispose();
  });

  it('leaves actively checked and etcd-leased instances to their own mechanisms (no timer)', () => {
    const registry = new ServiceRegistry({ defaultTtlMs: 1_000 }, { externalTtl: true });
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    const checked = new ServiceRegistry({ defaultTtlMs: 1_000 });
    checked.register('api', new ServiceInstance('b', '10.0.0.1', 80).withCheck({ type: 'tcp' }));
    checked.updateHealth('api', 'b', 'healthy');
    const views = [createRegistryView(registry), createRegistryView(checked)];
    for (const view of views) expect(view.eligible('api', 'tcp')).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    for (const view of views) view.dispose();
  });
});

describe('DNS server over the view', () => {
  it('stops answering an instance the moment its TTL lapses, with no reaper running', async () => {
    const { startDnsServer } = await import('../../src/dns/server.js');
    const { buildQuery, decode, udpQuery } = await import('./helpers.js');
    const registry = new ServiceRegistry({ defaultTtlMs: 30_000 });
    registry.register('api', new ServiceInstance('short', '10.0.0.1', 8080).withTtl(2_000));
    registry.register('api', new ServiceInstance('long', '10.0.0.2', 8081).withTtl(60_000));
    const view = createRegistryView(registry);
    const server = await startDnsServer({ view, listen: [{ host: '127.0.0.1', port: 0 }], zones: [], udpTransport: testUdpTransport() });
    try {
      const port = server.addresses.udp[0]!.port;
      const targets = async () => decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'SRV'))).answer.map((l) => l.split(' ').pop()).sort();
      expect(await targets()).toEqual(['10-0-0-1.addr.local.', '10-0-0-2.addr.local.']);
      expect(await targets()).toHaveLength(2); // served from the cache
      vi.advanceTimersByTime(2_000);
      expect(await targets()).toEqual(['10-0-0-2.addr.local.']);
      expect(registry.get('api', 'short')?.health).toBe('healthy'); // nothing was written: the view alone did it
    } finally {
      await server.close();
      view.dispose();
    }
  });
});

describe('registry view: memoised reads and the service index', () => {
  it('returns the same eligible array until the service changes, then a fresh one', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    registry.register('db', new ServiceInstance('d', '10.0.0.9', 5432));
    const view = createRegistryView(registry);
    const first = view.eligible('api', 'tcp');
    expect(view.eligible('api', 'tcp')).toBe(first);
    registry.register('db', new ServiceInstance('d2', '10.0.0.8', 5432)); // another service: api's read stays
    expect(view.eligible('api', 'tcp')).toBe(first);
    registry.register('api', new ServiceInstance('b', '10.0.0.2', 80)); // a write to api: a new array, the old one as it was
    const second = view.eligible('api', 'tcp');
    expect(second).not.toBe(first);
    expect(second.map((i) => i.id)).toEqual(['a', 'b']);
    expect(first.map((i) => i.id)).toEqual(['a']);
    expect(view.eligible('api', 'tcp')).toBe(second);
    registry.updateHealth('api', 'b', 'unhealthy'); // a health change: a new array too
    const third = view.eligible('api', 'tcp');
    expect(third).not.toBe(second);
    expect(third.map((i) => i.id)).toEqual(['a']);
    registry.updateHealth('api', 'a', 'unhealthy');
    expect(view.eligible('api', 'tcp')).toEqual([]);
    expect(view.eligible('ghost', 'tcp')).toEqual([]);
    view.dispose();
  });

  it('announces nothing for a heartbeat or a health note, and a new DNS form for a re-registration, even with the same data', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withTags(['v1']).withMetadata('k', 'v'));
    const view = createRegistryView(registry);
    const changes: { before?: unknown; after?: unknown }[] = [];
    view.onChange((change) => changes.push(...(change.instances ?? [])));
    const [first] = view.eligible('api', 'tcp');
    registry.heartbeat('api', 'a');
    registry.updateHealth('api', 'a', 'healthy', 'probe ok');
    expect(changes).toEqual([]);
    expect(view.eligible('api', 'tcp')[0]).toBe(first);
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withTags(['v1']).withMetadata('k', 'v'));
    expect(changes).toHaveLength(1);
    expect(changes[0]?.before).toBe(first);
    expect(changes[0]?.after).toEqual(first);
    expect(changes[0]?.after).not.toBe(first);
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 81).withTags(['v1']).withMetadata('k', 'v'));
    expect(changes).toHaveLength(2);
    expect(view.eligible('api', 'tcp')[0]?.port).toBe(81);
    expect(view.instance?.('api', 'tcp', 'a')).toBe(view.eligible('api', 'tcp')[0]);
    view.dispose();
  });

  it('keeps services(), hasService() and hasInstance() in step with registrations of both protocols', () => {
    const registry = new ServiceRegistry();
    const view = createRegistryView(registry);
    expect(view.services()).toEqual([]);
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    registry.register('dns', new ServiceInstance('Resolver One', '10.0.0.2', 53).withProtocol('udp'));
    expect(view.services()).toEqual([{ service: 'api', protocol: 'tcp' }, { service: 'dns', protocol: 'udp' }]);
    expect([view.hasService('dns', 'udp'), view.hasService('dns', 'tcp'), view.hasService('api', 'tcp')]).toEqual([true, false, true]);
    expect([view.hasInstance('dns', 'udp', 'resolver one'), view.hasInstance('dns', 'tcp', 'Resolver One')]).toEqual([true, false]);
    registry.updateHealth('api', 'a', 'unhealthy'); // still registered: the service exists (NODATA, not NXDOMAIN)
    expect(view.hasService('api', 'tcp')).toBe(true);
    registry.deregister('dns', 'Resolver One');
    expect(view.services()).toEqual([{ service: 'api', protocol: 'tcp' }]);
    view.dispose();
  });
});

describe('service enumeration under churn', () => {
  it('keeps the cached enumeration through health flips and refreshes it when a service appears', async () => {
    const { startDnsServer } = await import('../../src/dns/server.js');
    const { buildQuery, decode, udpQuery } = await import('./helpers.js');
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    const view = createRegistryView(registry);
    const changes: boolean[] = [];
    view.onChange((c) => changes.push(c.enumeration ?? true));
    const server = await startDnsServer({ view, listen: [{ host: '127.0.0.1', port: 0 }], zones: [], udpTransport: testUdpTransport() });
    try {
      const port = server.addresses.udp[0]!.port;
      const enumerate = async () => decode(await udpQuery(port, buildQuery('_services._dns-sd._udp.local.', 'PTR'))).answer.map((l) => l.split(' ').pop());
      expect(await enumerate()).toEqual(['_api._tcp.local.']);
      const hits = server.stats().cacheHits;
      registry.updateHealth('api', 'a', 'unhealthy');
      expect(await enumerate()).toEqual(['_api._tcp.local.']); // still registered, still listed
      expect(server.stats().cacheHits).toBe(hits + 1);
      registry.register('db', new ServiceInstance('d', '10.0.0.2', 5432));
      expect(await enumerate()).toEqual(['_api._tcp.local.', '_db._tcp.local.']);
      registry.deregister('api', 'a');
      expect(await enumerate()).toEqual(['_db._tcp.local.']);
      expect(changes).toEqual([false, true, true]);
    } finally {
      await server.close();
      view.dispose();
    }
  });
});

describe('a heartbeat that revives a lapsed instance', () => {
  it('is a visible change: the instance comes back into DNS before any reaper runs', () => {
    const registry = new ServiceRegistry({ defaultTtlMs: 1_000 });
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    const view = createRegistryView(registry);
    expect(view.eligible('api', 'tcp').map((i) => i.id)).toEqual(['a']);
    vi.advanceTimersByTime(1_500);
    expect(view.eligible('api', 'tcp')).toEqual([]);
    const event = registry.heartbeat('api', 'a');
    expect(event?.mutation.type).toBe('heartbeat');
    expect(view.eligible('api', 'tcp').map((i) => i.id)).toEqual(['a']);
    vi.advanceTimersByTime(500);
    expect(registry.heartbeat('api', 'a')).toBeUndefined(); // renewing a live TTL stays silent
    view.dispose();
  });
});

describe('enumeration counts follow change events', () => {
  it('moves a re-registered instance between protocols and keeps a service listed until its last instance of a protocol leaves', () => {
    const registry = new ServiceRegistry();
    registry.register('dns', new ServiceInstance('one', '10.0.0.1', 53));
    const view = createRegistryView(registry);
    const enumeration: boolean[] = [];
    view.onChange((change) => enumeration.push(change.enumeration ?? true));
    registry.register('dns', new ServiceInstance('two', '10.0.0.2', 53));
    registry.register('dns', new ServiceInstance('one', '10.0.0.1', 53).withProtocol('udp')); // tcp still has 'two'
    expect(view.services()).toEqual([{ service: 'dns', protocol: 'tcp' }, { service: 'dns', protocol: 'udp' }]);
    registry.register('dns', new ServiceInstance('two', '10.0.0.2', 53).withProtocol('udp')); // tcp's last one moves
    expect(view.services()).toEqual([{ service: 'dns', protocol: 'udp' }]);
    expect([view.hasInstance('dns', 'udp', 'ONE'), view.hasInstance('dns', 'tcp', 'two')]).toEqual([true, false]);
    registry.setMaintenance('dns', 'one', true);
    registry.deregister('dns', 'one');
    expect(view.hasService('dns', 'udp')).toBe(true);
    registry.deregister('dns', 'two');
    expect(view.services()).toEqual([]);
    expect(enumeration).toEqual([false, true, true, false, false, true]);
    view.dispose();
  });
});
