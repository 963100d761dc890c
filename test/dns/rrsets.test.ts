/**
 * One RRset per (owner, type) (RFC 2181 §5): where static zone data and generated or registered data name
 * the same RRset, a reply holds each record once, under one TTL (the lowest, RFC 2181 §5.2), and an instance
 * has one SRV and one TXT record (RFC 6763 §6). Replies are decoded by dns-packet over a real UDP socket.
 */
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { parseZoneFile } from '../../src/dns/zonefile.js';
import { FakeView } from './fake-view.js';
import { buildQuery, serveOnLoopback, udpQuery } from './helpers.js';

/** A zone that names what the registry also serves: browse domain, enumeration, a service, an instance, its target. */
const OVERLAPPING_ZONE = `
$ORIGIN local.
$TTL 120
b._dns-sd._udp                IN PTR  local.
_services._dns-sd._udp        IN PTR  _api._tcp.local.
_services._dns-sd._udp        IN PTR  _static._tcp.local.
_api._tcp                     IN PTR  api-1._api._tcp.local.
api-1._api._tcp            60 IN SRV  0 10 8080 10-0-0-1.addr.local.
api-1._api._tcp            60 IN TXT  "from=zone"
10-0-0-1.addr                 IN A    10.0.0.1
www                           IN A    192.0.2.10
`;

let server: DnsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<number> {
  const view = new FakeView();
  view.set({ service: 'api', id: 'api-1', address: '10.0.0.1', port: 8080, weight: 10, metadata: { version: '2' } });
  view.set({ service: 'api', id: 'api-2', address: '10.0.0.2', port: 8081 });
  view.set({ service: 'web', id: 'web-1', address: '192.0.2.10', port: 80, host: 'www.local' });
  server = await serveOnLoopback(view, { zones: [parseZoneFile(OVERLAPPING_ZONE, { origin: 'local.' })] });
  return server.addresses.udp[0]!.port;
}

type Record = dnsPacket.Answer & { ttl?: number; data?: unknown };

/** Every section's records, with the checks every reply must pass: no duplicate record, one TTL per RRset. */
async function ask(port: number, qname: string, qtype: string): Promise<{ answer: Record[]; additional: Record[] }> {
  const reply = dnsPacket.decode(await udpQuery(port, buildQuery(qname, qtype, { edns: 1232 })));
  const answer = (reply.answers ?? []) as Record[];
  const additional = ((reply.additionals ?? []) as Record[]).filter((r) => r.type !== 'OPT');
  const all = [...answer, ...additional];
  const identity = (r: Record) => JSON.stringify([r.name.toLowerCase(), r.type, r.data]);
  expect(new Set(all.map(identity)).size, `duplicate record in ${qname} ${qtype}`).toBe(all.length);
  const ttls = new Map<string, Set<number>>();
  for (const r of all) {
    const key = `${r.name.toLowerCase()} ${r.type}`;
    ttls.set(key, (ttls.get(key) ?? new Set()).add(r.ttl ?? -1));
  }
  for (const [key, set] of ttls) expect([...set], `TTLs of ${key}`).toHaveLength(1);
  return { answer, additional };
}

describe('static and registry data naming the same RRset', () => {
  it('browse domain b._dns-sd._udp: one PTR to the domain, the lower TTL', async () => {
    const port = await start();
    const { answer } = await ask(port, 'b._dns-sd._udp.local.', 'PTR');
    expect(answer.map((r) => [r.data, r.ttl])).toEqual([['local', 5]]);
  });

  it('service enumeration: each service once, static and registered together', async () => {
    const port = await start();
    const { answer } = await ask(port, '_services._dns-sd._udp.local.', 'PTR');
    expect(answer.map((r) => r.data).sort()).toEqual(['_api._tcp.local', '_static._tcp.local', '_web._tcp.local']);
    expect(new Set(answer.map((r) => r.ttl))).toEqual(new Set([5]));
  });

  it('instance enumeration: each instance once, with one SRV and one TXT each in the additional section', async () => {
    const port = await start();
    const { answer, additional } = await ask(port, '_api._tcp.local.', 'PTR');
    expect(answer.map((r) => r.data).sort()).toEqual(['api-1._api._tcp.local', 'api-2._api._tcp.local']);
    const of = (type: string, owner: string) => additional.filter((r) => r.type === type && r.name === owner);
    expect(of('SRV', 'api-1._api._tcp.local')).toHaveLength(1);
    expect(of('TXT', 'api-1._api._tcp.local')).toHaveLength(1);
    expect(of('A', '10-0-0-1.addr.local')).toHaveLength(1);
  });

  it('an instance the zone also names: one SRV, one TXT (the registered ones)', async () => {
    const port = await start();
    const srv = (await ask(port, 'api-1._api._tcp.local.', 'SRV')).answer;
    expect(srv.map((r) => [r.data, r.ttl])).toEqual([[{ priority: 0, weight: 10, port: 8080, target: '10-0-0-1.addr.local' }, 5]]);
    const txt = (await ask(port, 'api-1._api._tcp.local.', 'TXT')).answer;
    expect(txt).toHaveLength(1);
    expect((txt[0]!.data as Buffer[]).map(String)).toEqual(['version=2']);
  });

  it('A of a target the zone and the registry both give: one record, one TTL', async () => {
    const port = await start();
    const addr = (await ask(port, '10-0-0-1.addr.local.', 'A')).answer;
    expect(addr.map((r) => [r.data, r.ttl])).toEqual([['10.0.0.1', 5]]);
    const www = (await ask(port, 'www.local.', 'A')).answer;
    expect(www.map((r) => [r.data, r.ttl])).toEqual([['192.0.2.10', 5]]);
    // As the additional records of an SRV answer too.
    const { additional } = await ask(port, '_web._tcp.local.', 'SRV');
    expect(additional.filter((r) => r.type === 'A').map((r) => [r.name, r.data])).toEqual([['www.local', '192.0.2.10']]);
  });
});

describe('static data alone', () => {
  it('a zone file that repeats a record or gives a set two TTLs serves one set, the lower TTL', async () => {
    const zone = parseZoneFile('$ORIGIN local.\nmail 300 IN A 192.0.2.1\nmail 60 IN A 192.0.2.1\nmail 300 IN A 192.0.2.2\n@ IN MX 10 mail\n@ IN MX 20 mail\n', { origin: 'local.' });
    server = await serveOnLoopback(new FakeView(), { zones: [zone] });
    const port = server.addresses.udp[0]!.port;
    expect((await ask(port, 'mail.local.', 'A')).answer.map((r) => [r.data, r.ttl])).toEqual([['192.0.2.1', 60], ['192.0.2.2', 60]]);
    // Two MX to one host: its addresses once in the additional section.
    expect((await ask(port, 'local.', 'MX')).additional.filter((r) => r.type === 'A')).toHaveLength(2);
  });
});
