/** AAAA: one IPv6 address (RFC 3596 §2.2), shown in RFC 5952 canonical form. */
import { Packet } from 'dns2';
import { formatIPv6, parseIPv6 } from '../ip.js';
import type { RdataCodec } from './codec.js';

/** AAAA RDATA: 16 octets. */
export interface AaaaData {
  readonly kind: 'AAAA';
  readonly address: Buffer;
}

/** The AAAA record module. */
export const AAAA: RdataCodec<AaaaData> = {
  kind: 'AAAA',
  type: Packet.TYPE.AAAA,
  encode: (d, w) => w.bytes(d.address),
  toText: (d) => formatIPv6(d.address),
  parse(f) {
    f.expect(1);
    const address = parseIPv6(f.texts[0] ?? '');
    if (!address) return f.fail(`AAAA: "${f.texts[0]}" is not an IPv6 address`);
    return { kind: 'AAAA', address };
  },
};
