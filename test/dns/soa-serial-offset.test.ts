import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { soaSerialOffset } from '../../src/dns/soa-serial-offset.js';

const soa = (serial: number): dnsPacket.Answer => ({ name: 'local', type: 'SOA', ttl: 5, data: { mname: 'ns.local', rname: 'hostmaster.local', serial, refresh: 3600, retry: 600, expire: 86400, minimum: 5 } });
const reply = (authorities: dnsPacket.Answer[], answers: dnsPacket.Answer[] = [], withOpt = false): Buffer =>
  dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: 0x8400 | 3,
    questions: [{ name: 'nothing.local', type: 'A', class: 'IN' }],
    answers,
    authorities,
    additionals: withOpt ? [{ name: '.', type: 'OPT', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer] : [],
  });

describe('soaSerialOffset', () => {
  it.each([
    ['in the authority section (NXDOMAIN), names compressed', reply([soa(1_700_000_123)])],
    ['with an OPT record after it', reply([soa(1_700_000_123)], [], true)],
    ['in the answer section (an SOA question)', reply([], [soa(1_700_000_123)])],
  ])('finds the serial %s', (_where, bytes) => {
    const at = soaSerialOffset(bytes);
    expect(at).toBeGreaterThan(12);
    expect(bytes.readUInt32BE(at)).toBe(1_700_000_123);
  });

  it.each([
    ['no SOA', reply([], [{ name: 'nothing.local', type: 'A', ttl: 5, data: '10.0.0.1' }])],
    ['two SOAs', reply([soa(1), soa(2)])],
    ['a truncated reply', reply([soa(1_700_000_123)]).subarray(0, 40)],
    ['a header alone', Buffer.alloc(12)],
  ])('gives -1 for %s', (_what, bytes) => {
    expect(soaSerialOffset(bytes)).toBe(-1);
  });
});
