/** MX: a mail exchange and its preference (RFC 1035 §3.3.9). */
import { Packet } from 'dns2';
import { type Name, nameToPresentation } from '../name.js';
import type { RdataCodec } from './codec.js';

/** MX RDATA. */
export interface MxData {
  readonly kind: 'MX';
  readonly preference: number;
  readonly exchange: Name;
}

/** The MX record module. */
export const MX: RdataCodec<MxData> = {
  kind: 'MX',
  type: Packet.TYPE.MX,
  encode(d, w) {
    w.u16(d.preference);
    w.name(d.exchange, true);
  },
  toText: (d) => `${d.preference} ${nameToPresentation(d.exchange)}`,
  parse(f) {
    f.expect(2);
    return { kind: 'MX', preference: f.uint(0, 0xffff, 'MX preference'), exchange: f.name(1, 'MX') };
  },
};
