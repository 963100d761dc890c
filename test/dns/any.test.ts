/**
 * ANY (RFC 8482): a name with data answers one synthesized HINFO "RFC8482" "" and nothing else, so ANY
 * returns a small constant reply (no amplification); NXDOMAIN and NODATA stay as they are. Decoded by dns-packet.
 */
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { parseZoneFile } from '../../src/dns/zonefile.js';
import { FakeView } from './fake-view.js';
import { buildQuery, decode, serveOnLoopback, tcpQuery, udpQuery } from './helpers.js';

let server: DnsServer;
let port: number;
beforeAll(async () => {
  const view = new FakeView();
  view.setMany(Array.from({ length: 80 }, (_, i) => ({ service: 'big', id: `big-instance-${i}`, address: `10.9.0.${i + 1}`, port: 9000 + i, metadata: { path: '/'.repeat(40) } })));
  const zone = parseZoneFile('$ORIGIN local.\n$TTL 60\nwww IN A 192.0.2.10\nwww IN TXT "hello"\n', { origin: 'local.' });
  server = await serveOnLoopback(view, { zones: [zone] });
  port = server.addresses.udp[0]!.port;
});
afterAll(() => server.close());

describe('ANY (RFC 8482)', () => {
  it.each([
    ['a service with 80 instances', '_big._tcp.local.'],
    ['an instance', 'big-instance-3._big._tcp.local.'],
    ['a static name with two RRsets', 'www.local.'],
    ['an address-derived name', '10-9-0-1.addr.local.'],
    ['the apex', 'local.'],
    ['service enumeration', '_services._dns-sd._udp.local.'],
  ])('%s: one HINFO "RFC8482" "", nothing else, over UDP and TCP', async (_what, qname) => {
    for (const reply of [await udpQuery(port, buildQuery(qname, 'ANY', { edns: 1232 })), await tcpQuery(port, buildQuery(qname, 'ANY'))]) {
      const p = dnsPacket.decode(reply);
      expect((p.flags ?? 0) & 0xf).toBe(0); // NOERROR
      expect(p.answers).toHaveLength(1);
      const hinfo = p.answers![0] as { type: string; name: string; data: { cpu: string; os: string } };
      expect([hinfo.type, hinfo.name, hinfo.data]).toEqual(['HINFO', qname.replace(/\.$/, ''), { cpu: 'RFC8482', os: '' }]);
      expect(p.authorities ?? []).toHaveLength(0);
      expect((p.additionals ?? []).filter((r) => r.type !== 'OPT')).toHaveLength(0);
      expect(reply.length).toBeLessThan(150);
    }
  });

  it('keeps NXDOMAIN and NODATA', async () => {
    expect(decode(await udpQuery(port, buildQuery('nothing-here.local.', 'ANY'))).rcode).toBe('NXDOMAIN');
    const nodata = decode(await udpQuery(port, buildQuery('_tcp.local.', 'ANY')));
    expect([nodata.rcode, nodata.answer, nodata.authority.length]).toEqual(['NOERROR', [], 1]);
  });

  it('a specific type still gets its whole RRset', async () => {
    expect(decode(await udpQuery(port, buildQuery('www.local.', 'TXT'))).answer).toEqual(['www.local. 60 IN TXT "hello"']);
  });
});
