/**
 * Resource records as plain data (RFC 1035 §3.2) plus the few constructors the authority needs. Each
 * record type's wire form, presentation and zone-file syntax live in its own module under rr/.
 * Type and class numbers come from dns2's Packet tables, which are right.
 */
import { Packet } from 'dns2';
import { type Name } from './name.js';
import { parseAddress } from './ip.js';
import type { AData } from './rr/a.js';
import type { AaaaData } from './rr/aaaa.js';
import type { CnameData } from './rr/cname.js';
import type { MxData } from './rr/mx.js';
import type { NsData } from './rr/ns.js';
import type { PtrData } from './rr/ptr.js';
import type { SoaData } from './rr/soa.js';
import type { SrvData } from './rr/srv.js';
import { MAX_TXT_STRING, type TxtData } from './rr/txt.js';
import type { UnknownData } from './rr/unknown.js';

/** Record type numbers used by Beacon (values from dns2's Packet.TYPE). */
export const RRType = {
  A: Packet.TYPE.A,
  NS: Packet.TYPE.NS,
  CNAME: Packet.TYPE.CNAME,
  SOA: Packet.TYPE.SOA,
  PTR: Packet.TYPE.PTR,
  MX: Packet.TYPE.MX,
  TXT: Packet.TYPE.TXT,
  AAAA: Packet.TYPE.AAAA,
  SRV: Packet.TYPE.SRV,
  HINFO: Packet.TYPE.HINFO,
  OPT: Packet.TYPE.EDNS,
  IXFR: 251,
  AXFR: Packet.TYPE.AXFR,
  ANY: Packet.TYPE.ANY,
} as const;

/** The IN class (RFC 1035 §3.2.4). */
export const CLASS_IN = Packet.CLASS.IN;

/**
 * Record data, by kind: one kind per record type module under rr/ (RAW: RFC 3597 generic data of any type).
 * Names inside PTR/NS/CNAME/SOA/MX may be compressed (RFC 1035 types); SRV's never (RFC 2782).
 */
export type Rdata = AData | AaaaData | PtrData | NsData | CnameData | SoaData | SrvData | MxData | TxtData | UnknownData;

/** One resource record of class IN. */
export interface ResourceRecord {
  readonly name: Name;
  readonly type: number;
  readonly ttl: number;
  readonly data: Rdata;
}

/** An A or AAAA record for an address literal; undefined if `address` is not an IP literal. */
export function addressRecord(name: Name, ttl: number, address: string): ResourceRecord | undefined {
  const parsed = parseAddress(address);
  if (!parsed) return undefined;
  if (parsed.family === 4) return { name, type: RRType.A, ttl, data: { kind: 'A', address: parsed.octets } };
  return { name, type: RRType.AAAA, ttl, data: { kind: 'AAAA', address: parsed.octets } };
}

/** A record whose RDATA is one (compressible) name: PTR, NS or CNAME. */
export function nameRecord(name: Name, kind: 'PTR' | 'NS' | 'CNAME', ttl: number, target: Name): ResourceRecord {
  return { name, type: RRType[kind], ttl, data: { kind, target } };
}

/** Split one text into ≤255-octet character-strings (never splitting a UTF-8 sequence when avoidable). */
export function splitTxt(text: Buffer): Buffer[] {
  if (text.length <= MAX_TXT_STRING) return [text];
  const out: Buffer[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + MAX_TXT_STRING, text.length);
    // Back off to a UTF-8 boundary (continuation octets are 10xxxxxx) unless that would leave nothing.
    let cut = end;
    while (cut < text.length && cut > start + 1 && ((text[cut] ?? 0) & 0xc0) === 0x80) cut--;
    if (cut > start) end = cut;
    out.push(text.subarray(start, end));
    start = end;
  }
  return out;
}

/** The TXT key that RFC 6763 §6.7 wants first when present. */
const TXT_VERSION_KEY = 'txtvers';

/**
 * TXT strings for DNS-SD metadata (RFC 6763 §6): one `key=value` per string in the order the metadata was
 * registered, `txtvers` first when present (RFC 6763 §6.7), an over-long pair split into 255-octet strings,
 * and no metadata = one empty string (RFC 6763 §6.1). Order is the object's key order: JavaScript puts
 * integer-like keys ("1", "42") before the others, so such keys come first (see README, "Metadata order").
 */
export function metadataToTxt(metadata: Readonly<Record<string, string>>): readonly Buffer[] {
  // Not memoised: a memo would hold strings for every instance of a large registry; building them is cheap.
  const keys = Object.keys(metadata);
  const version = keys.indexOf(TXT_VERSION_KEY);
  if (version > 0) keys.unshift(...keys.splice(version, 1));
  const out: Buffer[] = [];
  for (const key of keys) out.push(...splitTxt(Buffer.from(`${key}=${metadata[key] ?? ''}`, 'utf8')));
  if (out.length === 0) out.push(Buffer.alloc(0));
  return out;
}
