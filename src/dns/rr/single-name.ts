/**
 * The RDATA shape PTR, NS and CNAME share: one domain name, compressible (an RFC 1035 type, RFC 3597 §4).
 * Each of those types has its own module built from this one.
 */
import { type Name, nameToPresentation } from '../name.js';
import type { RdataCodec } from './codec.js';

/** A codec for a type whose RDATA is one compressible name. */
export function singleNameCodec<K extends string>(kind: K, type: number): RdataCodec<{ readonly kind: K; readonly target: Name }> {
  return {
    kind,
    type,
    encode: (d, w) => w.name(d.target, true),
    toText: (d) => nameToPresentation(d.target),
    parse(f) {
      f.expect(1);
      return { kind, target: f.name(0, f.typeText) };
    },
  };
}
