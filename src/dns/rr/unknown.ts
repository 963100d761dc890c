/**
 * RDATA of any type as opaque octets (RFC 3597): how a zone file gives a type Beacon has no module for
 * (`TYPE65280 \# 4 0a000001`), written and shown in the generic form.
 */
import type { RdataCodec } from './codec.js';

/** Generic RDATA: its octets. */
export interface UnknownData {
  readonly kind: 'RAW';
  readonly bytes: Buffer;
}

/** The generic-RDATA module (not tied to one type number). */
export const UNKNOWN: RdataCodec<UnknownData> = {
  kind: 'RAW',
  type: undefined,
  encode: (d, w) => w.bytes(d.bytes),
  toText: (d) => `\\# ${d.bytes.length}${d.bytes.length ? ' ' + d.bytes.toString('hex') : ''}`,
  parse(f) {
    // RFC 3597 §5: `\# <length> <hex...>`, the hex possibly split over several fields.
    const length = f.uint(1, 0xffff, 'generic RDATA length');
    const hex = f.texts.slice(2).join('');
    if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== length * 2) {
      return f.fail(`generic RDATA: ${length} octet(s) announced, hex gives ${hex.length / 2}`);
    }
    return { kind: 'RAW', bytes: Buffer.from(hex, 'hex') };
  },
};
