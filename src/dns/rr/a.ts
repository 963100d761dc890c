/** A: one IPv4 address (RFC 1035 §3.4.1). */
import { Packet } from 'dns2';
import { parseIPv4 } from '../ip.js';
import type { RdataCodec } from './codec.js';

/** A RDATA: 4 octets. */
export interface AData {
  readonly kind: 'A';
  readonly address: Buffer;
}

/** The A record module. */
export const A: RdataCodec<AData> = {
  kind: 'A',
  type: Packet.TYPE.A,
  encode: (d, w) => w.bytes(d.address),
  toText: (d) => [...d.address].join('.'),
  parse(f) {
    f.expect(1);
    const address = parseIPv4(f.texts[0] ?? '');
    if (!address) return f.fail(`A: "${f.texts[0]}" is not an IPv4 address`);
    return { kind: 'A', address };
  },
};
