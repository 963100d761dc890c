/**
 * Resource records as plain data (RFC 1035 §3.2) plus the few constructors the authority needs.
 * Type and class numbers come from dns2's Packet tables, which are right.
 */
import { isIP } from 'node:net';
import { Packet } from 'dns2';
import { InvalidArgumentError } from '../errors.js';
import { type Name, nameToPresentation } from './name.js';

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
  OPT: Packet.TYPE.EDNS,
  IXFR: 251,
  AXFR: Packet.TYPE.AXFR,
  ANY: Packet.TYPE.ANY,
} as const;

/** The IN class (RFC 1035 §3.2.4). */
export const CLASS_IN = Packet.CLASS.IN;

/** Record data, by shape. Names inside NAME/SOA/MX may be compressed (RFC 1035 types); SRV's never (RFC 2782). */
export type Rdata =
  | { readonly kind: 'A'; readonly address: Buffer }
  | { readonly kind: 'AAAA'; readonly address: Buffer }
  | { readonly kind: 'NAME'; readonly target: Name }
  | {
      readonly kind: 'SOA';
      readonly mname: Name;
      readonly rname: Name;
      readonly serial: number;
      readonly refresh: number;
      readonly retry: number;
      readonly expire: number;
      readonly minimum: number;
    }
  | { readonly kind: 'SRV'; readonly priority: number; readonly weight: number; readonly port: number; readonly target: Name }
  | { readonly kind: 'MX'; readonly preference: number; readonly exchange: Name }
  | { readonly kind: 'TXT'; readonly strings: readonly Buffer[] }
  | { readonly kind: 'RAW'; readonly bytes: Buffer };

/** One resource record of class IN. */
export interface ResourceRecord {
  readonly name: Name;
  readonly type: number;
  readonly ttl: number;
  readonly data: Rdata;
}

/** IPv4 literal to its 4 octets; undefined if not a literal. */
export function parseIPv4(text: string): Buffer | undefined {
  if (isIP(text) !== 4) return undefined;
  return Buffer.from(text.split('.').map(Number));
}

/** IPv6 literal (RFC 4291 §2.2, embedded IPv4 allowed, zone id not) to its 16 octets; undefined if not a literal. */
export function parseIPv6(text: string): Buffer | undefined {
  if (text.includes('%') || isIP(text) !== 6) return undefined;
  let head = text;
  const tail: number[] = [];
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const b = parseIPv4(v4[1]);
    if (!b) return undefined;
    tail.push(...b);
    // The text before the dotted quad ends with ':'; keep it only when it is part of '::'.
    head = text.slice(0, text.length - v4[1].length);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsNeeded = (16 - tail.length) / 2;
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const fill = right === undefined ? 0 : groupsNeeded - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...new Array<string>(fill).fill('0'), ...rightGroups];
  if (groups.length !== groupsNeeded) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  Buffer.from(tail).copy(out, groupsNeeded * 2);
  return out;
}

/** 16 octets to the RFC 5952 canonical text (lower case, longest zero run compressed). */
export function formatIPv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

/** A parsed IP literal: its record type and octets. */
export interface ParsedAddress {
  readonly type: typeof RRType.A | typeof RRType.AAAA;
  readonly octets: Buffer;
}

// Registry addresses repeat on every cache miss; parsing them once keeps misses cheap. Bounded: cleared when full.
const addressMemo = new Map<string, ParsedAddress | null>();
const ADDRESS_MEMO_LIMIT = 16384;

/** Parse an IPv4 or IPv6 literal (memoised); undefined for anything else (a host name). */
export function parseAddress(text: string): ParsedAddress | undefined {
  const known = addressMemo.get(text);
  if (known !== undefined) return known ?? undefined;
  const v4 = parseIPv4(text);
  const v6 = v4 ? undefined : parseIPv6(text);
  const parsed: ParsedAddress | null = v4 ? { type: RRType.A, octets: v4 } : v6 ? { type: RRType.AAAA, octets: v6 } : null;
  if (addressMemo.size >= ADDRESS_MEMO_LIMIT) addressMemo.clear();
  addressMemo.set(text, parsed);
  return parsed ?? undefined;
}

/** An A or AAAA record for an address literal; undefined if `address` is not an IP literal. */
export function addressRecord(name: Name, ttl: number, address: string): ResourceRecord | undefined {
  const parsed = parseAddress(address);
  if (!parsed) return undefined;
  if (parsed.type === RRType.A) return { name, type: RRType.A, ttl, data: { kind: 'A', address: parsed.octets } };
  return { name, type: RRType.AAAA, ttl, data: { kind: 'AAAA', address: parsed.octets } };
}

/** A record whose RDATA is one (compressible) name: PTR, NS, CNAME. */
export function nameRecord(name: Name, type: number, ttl: number, target: Name): ResourceRecord {
  return { name, type, ttl, data: { kind: 'NAME', target } };
}

/** Longest TXT character-string (RFC 1035 §3.3: one length octet). */
export const MAX_TXT_STRING = 255;

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

/**
 * TXT strings for DNS-SD metadata (RFC 6763 §6): one `key=value` per string, keys sorted for stable bytes,
 * an over-long pair split into 255-octet strings, and no metadata = one empty string (RFC 6763 §6.1).
 */
export function metadataToTxt(metadata: Readonly<Record<string, string>>): readonly Buffer[] {
  // Not memoised: a memo would hold strings for every instance of a large registry; building them is cheap.
  const keys = Object.keys(metadata).sort();
  const out: Buffer[] = [];
  for (const key of keys) out.push(...splitTxt(Buffer.from(`${key}=${metadata[key] ?? ''}`, 'utf8')));
  if (out.length === 0) out.push(Buffer.alloc(0));
  return out;
}

/** Throw unless `n` is an integer in [0, max]. */
export function assertUint(n: number, max: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`${what} ${n} is out of range 0..${max}`, what);
}

/** A record in master-file presentation form (for logs, tests and the zone README). */
export function recordToText(rr: ResourceRecord): string {
  return `${nameToPresentation(rr.name)} ${rr.ttl} IN ${Packet.typeName(rr.type)} ${rdataToText(rr.data)}`;
}

function txtString(s: Buffer): string {
  let out = '"';
  for (const o of s) {
    if (o === 0x22 || o === 0x5c) out += '\\' + String.fromCharCode(o);
    else if (o < 0x20 || o >= 0x7f) out += '\\' + String(o).padStart(3, '0');
    else out += String.fromCharCode(o);
  }
  return out + '"';
}

/** RDATA in presentation form. */
export function rdataToText(d: Rdata): string {
  switch (d.kind) {
    case 'A':
      return [...d.address].join('.');
    case 'AAAA':
      return formatIPv6(d.address);
    case 'NAME':
      return nameToPresentation(d.target);
    case 'SOA':
      return `${nameToPresentation(d.mname)} ${nameToPresentation(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    case 'SRV':
      return `${d.priority} ${d.weight} ${d.port} ${nameToPresentation(d.target)}`;
    case 'MX':
      return `${d.preference} ${nameToPresentation(d.exchange)}`;
    case 'TXT':
      return d.strings.map(txtString).join(' ');
    case 'RAW':
      return `\\# ${d.bytes.length}${d.bytes.length ? ' ' + d.bytes.toString('hex') : ''}`;
  }
}
