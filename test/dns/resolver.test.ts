/**
 * Node's own stub resolver (c-ares) against Beacon: an independent client that also exercises the
 * UDP -> TCP retry on TC (c-ares retries on the same port).
 */
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { FakeView } from './fake-view.js';
import { serveOnLoopback } from './helpers.js';

let server: DnsServer;
let resolver: Resolver;
const view = new FakeView();

beforeAll(async () => {
  view.set({ service: 'api', id: 'api-1', address: '10.0.0.1', port: 8080, weight: 10, metadata: { version: '1.2', zone: 'eu' } });
  view.set({ service: 'api', id: 'api-2', address: '10.0.0.2', port: 8081, priority: 1, weight: 5 });
  view.setMany(Array.from({ length: 60 }, (_, i) => ({ service: 'big', id: `b${i}`, address: `10.1.0.${i + 1}`, port: 7000 + i })));
  server = await serveOnLoopback(view);
  resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${server.addresses.udp[0]!.port}`]);
});
afterAll(async () => {
  await server.close();
});

describe("node's dns.promises.Resolver", () => {
  it('resolveSrv on the service name', async () => {
    const srv = await resolver.resolveSrv('_api._tcp.local');
    expect(srv.sort((a, b) => a.port - b.port)).toEqual([
      { name: '10-0-0-1.addr.local', port: 8080, priority: 0, weight: 10 },
      { name: '10-0-0-2.addr.local', port: 8081, priority: 1, weight: 5 },
    ]);
  });

  it('resolveTxt on an instance', async () => {
    expect(await resolver.resolveTxt('api-1._api._tcp.local')).toEqual([['version=1.2', 'zone=eu']]);
  });

  it('resolve4 on the service name and on an SRV target', async () => {
    expect((await resolver.resolve4('_api._tcp.local')).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(await resolver.resolve4('10-0-0-2.addr.local')).toEqual(['10.0.0.2']);
  });

  it('resolvePtr browses the instances', async () => {
    expect((await resolver.resolvePtr('_api._tcp.local')).sort()).toEqual(['api-1._api._tcp.local', 'api-2._api._tcp.local']);
  });

  it('resolveSoa at the apex', async () => {
    const soa = await resolver.resolveSoa('local');
    expect(soa).toMatchObject({ nsname: 'ns.local', hostmaster: 'hostmaster.local', refresh: 3600, retry: 600, expire: 86400, minttl: 5 });
  });

  it('NXDOMAIN and NODATA reach the client as ENOTFOUND and ENODATA', async () => {
    await expect(resolver.resolveSrv('_nope._tcp.local')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolveTxt('_api._tcp.local')).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('gets all 60 SRV records (TC over UDP, then TCP)', async () => {
    const srv = await resolver.resolveSrv('_big._tcp.local');
    expect(srv).toHaveLength(60);
    expect(server.stats().tcpConnections).toBeGreaterThanOrEqual(1);
  });
});
