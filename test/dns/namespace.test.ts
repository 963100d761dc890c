/**
 * Every row of the namespace table in docs/ARCHITECTURE.md, as zone-file lines, over real UDP on 127.0.0.1, decoded by
 * dns-packet (an independent decoder). Sets (answer, additional) are compared sorted: order is the rotation
 * test's business.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { namespaceCases, serveWorld, type NamespaceCase } from './world.js';
import { buildQuery, decode, udpQuery, type Decoded } from './helpers.js';

let server: DnsServer;
let port: number;
let serial: number;

async function ask(qname: string | string[], qtype: string): Promise<Decoded> {
  return decode(await udpQuery(port, buildQuery(qname, qtype, { edns: 1232 })));
}

beforeAll(async () => {
  server = await serveWorld();
  port = server.addresses.udp[0]!.port;
  const soa = await ask('local.', 'SOA');
  serial = (soa.packet.answers![0] as { data: { serial: number } }).data.serial;
});
afterAll(async () => {
  await server.close();
});

describe('DNS namespace (docs/ARCHITECTURE.md table), over UDP, decoded by dns-packet', () => {
  it.each(namespaceCases(0).map(([title]) => title))('%s', async (title) => {
    const c: NamespaceCase = namespaceCases(serial).find(([t]) => t === title)![1];
    const r = await ask(c.qname, c.qtype);
    expect(r.qr).toBe(true);
    expect(r.rcode).toBe(c.rcode);
    expect(r.aa).toBe(c.aa ?? true);
    expect(r.tc).toBe(false);
    expect(r.opt?.udpPayloadSize).toBe(1232);
    if (c.answer) expect([...r.answer].sort()).toEqual([...c.answer].sort());
    if (c.authority) expect(r.authority).toEqual(c.authority);
    if (c.additional) expect([...r.additional].sort()).toEqual([...c.additional].sort());
  });

  it('keeps a dot inside a label: the PTR target is one 17-octet label, not two', async () => {
    const reply = await udpQuery(port, buildQuery('_printer._tcp.local.', 'PTR'));
    const label = Buffer.concat([Buffer.from([17]), Buffer.from('Kitchen Printer.2')]);
    expect(reply.includes(label)).toBe(true);
    expect(decode(reply).answer).toContain('_printer._tcp.local. 5 IN PTR Kitchen Printer.2._printer._tcp.local.');
  });

  it('matches case-insensitively and echoes the question as asked', async () => {
    const r = await ask(['_API', '_Tcp', 'LOCAL'], 'SRV');
    expect(r.rcode).toBe('NOERROR');
    expect(r.question).toEqual(['_API._Tcp.LOCAL. IN SRV']);
    expect(r.answer.map((l) => l.toLowerCase()).sort()).toEqual(
      ['_api._tcp.local. 5 in srv 0 10 8080 10-0-0-1.addr.local.', '_api._tcp.local. 5 in srv 1 5 8081 fd00--1.addr.local.'],
    );
    // The same question in another case is served from the cache with this asker's case.
    const again = await ask(['_aPi', '_TCP', 'local'], 'SRV');
    expect(again.question).toEqual(['_aPi._TCP.local. IN SRV']);
    const inst = await ask(['API-1', '_api', '_tcp', 'local'], 'TXT');
    expect(inst.answer.map((l) => l.toLowerCase())).toEqual(['api-1._api._tcp.local. 5 in txt "version=1.2" "zone=eu"']);
  });
});
