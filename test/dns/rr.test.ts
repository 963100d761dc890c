/**
 * Every record type's module end to end: a master-file line is parsed (parse), printed back (toText),
 * encoded into a response (encode) and decoded by dns-packet, an independent decoder.
 */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { encodeResponse } from '../../src/dns/wire.js';
import { RDATA_CODECS, codecForType, recordToText } from '../../src/dns/rr/index.js';
import { RRType } from '../../src/dns/records.js';
import { parseZoneFile } from '../../src/dns/zonefile.js';

/** kind -> [zone-file line, what dns-packet decodes from the encoded RDATA]. */
const rows: Record<keyof typeof RDATA_CODECS, [string, unknown]> = {
  A: ['x.t. 60 IN A 192.0.2.1', '192.0.2.1'],
  AAAA: ['x.t. 60 IN AAAA fd00::1', 'fd00::1'],
  PTR: ['x.t. 60 IN PTR Café\\.2._ipp._tcp.t.', 'Café.2._ipp._tcp.t'],
  NS: ['t. 60 IN NS ns1.t.', 'ns1.t'],
  CNAME: ['x.t. 60 IN CNAME www.t.', 'www.t'],
  SOA: ['t. 60 IN SOA ns1.t. admin.t. 2024010101 7200 3600 1209600 300', { mname: 'ns1.t', rname: 'admin.t', serial: 2024010101, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }],
  SRV: ['x.t. 60 IN SRV 1 5 8080 host.t.', { priority: 1, weight: 5, port: 8080, target: 'host.t' }],
  MX: ['t. 60 IN MX 10 mail.t.', { preference: 10, exchange: 'mail.t' }],
  TXT: ['x.t. 60 IN TXT "a=1" "say \\"hi\\"" "\\255"', [Buffer.from('a=1'), Buffer.from('say "hi"'), Buffer.from([255])]],
  RAW: ['x.t. 60 IN TYPE65280 \\# 4 0a000001', Buffer.from([10, 0, 0, 1])],
};

describe('record type modules: parse, toText, encode (decoded by dns-packet)', () => {
  it.each(Object.entries(rows))('%s', (kind, [line, decoded]) => {
    const [rr] = parseZoneFile(line, { origin: 't.' }).records;
    expect(rr!.data.kind).toBe(kind);
    expect(recordToText(rr!)).toBe(line);
    const bytes = encodeResponse({ id: 1, opcode: 0, aa: true, requestFlags: 0, rcode: 0, question: Buffer.alloc(0), answer: [rr!], authority: [], additional: [], limit: 65535 }).bytes;
    const answer = dnsPacket.decode(bytes).answers![0] as { data: unknown; ttl: number };
    expect(answer.ttl).toBe(60);
    expect(answer.data).toEqual(decoded);
  });

  it('registers each module under its type number, and the generic module under none', () => {
    for (const [name, codec] of Object.entries(RDATA_CODECS)) {
      if (codec.type === undefined) expect(name).toBe('RAW');
      else expect([name, codecForType(codec.type)]).toEqual([name, codec]);
    }
    expect(codecForType(RRType.OPT)).toBeUndefined();
  });
});
