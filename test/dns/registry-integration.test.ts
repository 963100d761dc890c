/**
 * The DNS server on the real registry through src/dns/registry-view.ts: every visible registry change shows
 * in the very next answer (no stale cache), with time moved by a ManualClock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { ServiceInstance } from '../../src/registry/types.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import type { DnsServer } from '../../src/dns/server.js';
import { buildQuery, decode, udpQuery, serveOnLoopback } from './helpers.js';

let clock: ManualClock;
let registry: ServiceRegistry;
let view: ReturnType<typeof createRegistryView>;
let server: DnsServer;
let port: number;

beforeEach(async () => {
  clock = new ManualClock(1_000_000);
  registry = new ServiceRegistry({ defaultTtlMs: 30_000 }, { clock });
  view = createRegistryView(registry);
  server = await serveOnLoopback(view);
  port = server.addresses.udp[0]!.port;
});
afterEach(async () => {
  await server.close();
  view.dispose();
});

const targets = async (): Promise<string[]> => {
  const r = decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'SRV')));
  return r.answer.map((l) => l.split(' ').slice(4).join(' ')).sort();
};

describe('DNS over the real registry', () => {
  it('follows registration, health, maintenance and deregistration in the very next answer', async () => {
    expect(decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'SRV'))).rcode).toBe('NXDOMAIN');
    registry.register('api', new ServiceInstance('api-1', '10.0.0.1', 8080).withWeight(3));
    registry.register('api', new ServiceInstance('api-2', '10.0.0.2', 8081).withPriority(1));
    expect(await targets()).toEqual(['0 3 8080 10-0-0-1.addr.local.', '1 1 8081 10-0-0-2.addr.local.']);

    registry.updateHealth('api', 'api-1', 'unhealthy');
    expect(await targets()).toEqual(['1 1 8081 10-0-0-2.addr.local.']);

    registry.setMaintenance('api', 'api-2', true, 'deploy');
    const none = decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'SRV')));
    expect([none.rcode, none.answer.length, none.authority.length]).toEqual(['NOERROR', 0, 1]);

    registry.updateHealth('api', 'api-1', 'healthy');
    registry.setMaintenance('api', 'api-2', false);
    expect(await targets()).toHaveLength(2);

    registry.deregister('api', 'api-1');
    registry.deregister('api', 'api-2');
    expect(decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'SRV'))).rcode).toBe('NXDOMAIN');
  });

  it('drops an instance whose heartbeat TTL lapsed once the reaper records it', async () => {
    registry.register('api', new ServiceInstance('api-1', '10.0.0.1', 8080).withTtl(10_000));
    registry.register('api', new ServiceInstance('api-2', '10.0.0.2', 8081).withTtl(60_000));
    expect(await targets()).toHaveLength(2);
    clock.advance(11_000);
    registry.cleanupExpired(); // the daemon runs this at registry.nextDeadline()
    expect(await targets()).toEqual(['0 1 8081 10-0-0-2.addr.local.']);
  });

  it('publishes metadata as TXT and tags as subtypes', async () => {
    registry.register('api', new ServiceInstance('api-1', '10.0.0.1', 8080).withTags(['canary']).withMetadata('version', '2'));
    const txt = decode(await udpQuery(port, buildQuery('api-1._api._tcp.local.', 'TXT')));
    expect(txt.answer).toEqual(['api-1._api._tcp.local. 5 IN TXT "version=2"']);
    const sub = decode(await udpQuery(port, buildQuery('_canary._sub._api._tcp.local.', 'PTR')));
    expect(sub.answer).toEqual(['_canary._sub._api._tcp.local. 5 IN PTR api-1._api._tcp.local.']);
  });
});
