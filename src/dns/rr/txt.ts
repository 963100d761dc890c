/**
 * TXT: one or more character-strings (RFC 1035 §3.3.14), each with a one-octet length, so at most 255
 * octets; DNS-SD keeps one `key=value` per string (RFC 6763 §6).
 */
import { Packet } from 'dns2';
import type { RdataCodec } from './codec.js';

/** Longest TXT character-string (RFC 1035 §3.3: one length octet). */
export const MAX_TXT_STRING = 255;

/** TXT RDATA: the strings, each at most 255 octets. */
export interface TxtData {
  readonly kind: 'TXT';
  readonly strings: readonly Buffer[];
}

/** A character-string in presentation form: quoted, `"` and `\` escaped, non-printables as \DDD. */
function quoted(s: Buffer): string {
  let out = '"';
  for (const o of s) {
    if (o === 0x22 || o === 0x5c) out += '\\' + String.fromCharCode(o);
    else if (o < 0x20 || o >= 0x7f) out += '\\' + String(o).padStart(3, '0');
    else out += String.fromCharCode(o);
  }
  return out + '"';
}

/** The TXT record module. */
export const TXT: RdataCodec<TxtData> = {
  kind: 'TXT',
  type: Packet.TYPE.TXT,
  encode(d, w) {
    for (const s of d.strings) {
      w.u8(s.length);
      w.bytes(s);
    }
  },
  toText: (d) => d.strings.map(quoted).join(' '),
  parse(f) {
    if (f.texts.length === 0) return f.fail('TXT needs at least one string');
    const strings = f.texts.map((_, i) => f.characterString(i));
    for (const s of strings) {
      if (s.length > MAX_TXT_STRING) return f.fail(`TXT string of ${s.length} octets (max 255 per string)`);
    }
    return { kind: 'TXT', strings };
  },
};
