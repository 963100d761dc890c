/**
 * A change to an instance's metadata or tags alone keeps the cached answers that read neither (the service's
 * SRV and A, the instance's SRV), and every answer that reads them shows the change in the very next reply:
 * the instance's TXT, the service's PTR listing (TXT in its additional section), its subtypes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { ServiceInstance } from '../../src/registry/types.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import type { DnsServer } from '../../src/dns/server.js';
import { buildQuery, decode, udpQuery, serveOnLoopback, type Decoded } from './helpers.js';

let registry: ServiceRegistry;
let view: ReturnType<typeof createRegistryView>;
let server: DnsServer;
let port: number;

const api1 = (): ServiceInstance => new ServiceInstance('api-1', '10.0.0.1', 8080).withTags(['blue']);
beforeEach(async () => {
  registry = new ServiceRegistry({ defaultTtlMs: 3_600_000 }, { clock: new ManualClock(1_000_000) });
  registry.register('api', api1().withMetadata('rev', '1'));
  registry.register('api', new ServiceInstance('api-2', '10.0.0.2', 8080).withTags(['green']));
  view = createRegistryView(registry);
  server = await serveOnLoopback(view);
  port = server.addresses.udp[0]!.port;
});
afterEach(async () => {
  await server.close();
  view.dispose();
});

const ask = async (name: string, type: string): Promise<Decoded> => decode(await udpQuery(port, buildQuery(name, type)));
const all = (r: Decoded): string => [...r.answer, ...r.additional].join('\n');
const metadataReaders: [string, string][] = [
  ['api-1._api._tcp.local.', 'TXT'], ['_api._tcp.local.', 'PTR'], ['_blue._sub._api._tcp.local.', 'PTR'],
];
const shapeReaders: [string, string][] = [['_api._tcp.local.', 'SRV'], ['_api._tcp.local.', 'A'], ['api-1._api._tcp.local.', 'SRV']];

describe('a metadata-only change', () => {
  it('shows in every answer reading metadata, and keeps the SRV and address answers cached', async () => {
    for (const [name, type] of [...metadataReaders, ...shapeReaders]) await ask(name, type);
    registry.register('api', api1().withMetadata('rev', '2'));
    for (const [name, type] of metadataReaders) {
      const text = all(await ask(name, type));
      expect(text, `${name} ${type}`).toContain('rev=2');
      expect(text, `${name} ${type}`).not.toContain('rev=1');
    }
    const misses = server.stats().cacheMisses;
    for (const [name, type] of shapeReaders) expect((await ask(name, type)).answer.length, `${name} ${type}`).toBeGreaterThan(0);
    expect(server.stats().cacheMisses).toBe(misses);
  });

  it('is followed by a port change, a tag change and a health flip in the next answers', async () => {
    for (const [name, type] of [...metadataReaders, ...shapeReaders]) await ask(name, type);
    registry.register('api', api1().withMetadata('rev', '2'));
    for (const [name, type] of shapeReaders) await ask(name, type); // cached again after the metadata change
    registry.register('api', new ServiceInstance('api-1', '10.0.0.1', 9090).withTags(['blue']).withMetadata('rev', '2'));
    expect((await ask('_api._tcp.local.', 'SRV')).answer.join()).toContain(' 9090 ');
    expect((await ask('api-1._api._tcp.local.', 'SRV')).answer.join()).toContain(' 9090 ');
    registry.register('api', new ServiceInstance('api-1', '10.0.0.1', 9090).withTags(['red']).withMetadata('rev', '2'));
    expect((await ask('_blue._sub._api._tcp.local.', 'PTR')).answer).toHaveLength(0);
    expect((await ask('_red._sub._api._tcp.local.', 'PTR')).answer).toHaveLength(1);
    registry.register('api', new ServiceInstance('api-1', '10.0.0.9', 9090).withTags(['red']).withMetadata('rev', '2'));
    expect((await ask('_api._tcp.local.', 'A')).answer.join()).toContain('10.0.0.9');
    registry.updateHealth('api', 'api-1', 'unhealthy');
    expect((await ask('_api._tcp.local.', 'SRV')).answer).toHaveLength(1);
    expect((await ask('_api._tcp.local.', 'A')).answer.join()).not.toContain('10.0.0.9');
    const gone = await ask('api-1._api._tcp.local.', 'SRV');
    expect([gone.rcode, gone.answer.length]).toEqual(['NOERROR', 0]);
  });
});

describe('subtype answers', () => {
  it('stay cached across changes to instances without the tag and follow those with it, in any case', async () => {
    expect((await ask('_blue._sub._api._tcp.local.', 'PTR')).answer).toHaveLength(1);
    const misses = server.stats().cacheMisses;
    registry.updateHealth('api', 'api-2', 'unhealthy');
    registry.updateHealth('api', 'api-2', 'healthy');
    expect((await ask('_blue._sub._api._tcp.local.', 'PTR')).answer).toHaveLength(1);
    expect(server.stats().cacheMisses).toBe(misses); // kept: api-2 is not blue
    registry.updateHealth('api', 'api-1', 'unhealthy');
    expect((await ask('_blue._sub._api._tcp.local.', 'PTR')).answer).toHaveLength(0);
    registry.register('api', new ServiceInstance('api-2', '10.0.0.2', 8080).withTags(['green', 'Blue']));
    expect((await ask('_blue._sub._api._tcp.local.', 'PTR')).answer.join()).toContain('api-2._api._tcp.local');
    registry.register('api', new ServiceInstance('api-2', '10.0.0.2', 8080).withTags(['green']));
    expect((await ask('_blue._sub._api._tcp.local.', 'PTR')).answer).toHaveLength(0);
    registry.deregister('api', 'api-1');
    registry.deregister('api', 'api-2');
    expect((await ask('_blue._sub._api._tcp.local.', 'PTR')).rcode).toBe('NXDOMAIN');
    registry.register('api', new ServiceInstance('api-3', '10.0.0.3', 8080));
    const back = await ask('_blue._sub._api._tcp.local.', 'PTR');
    expect([back.rcode, back.answer.length]).toEqual(['NOERROR', 0]);
  });
});
