/**
 * IP address literals as octets and back: the A/AAAA RDATA forms (RFC 1035 §3.4.1, RFC 3596 §2.2) and the
 * canonical IPv6 text of RFC 5952 that address-derived names and presentation output use.
 */
import { isIP } from 'node:net';
import { durableCopy } from './durable.js';

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

/** A parsed IP literal: its family and octets. */
export interface ParsedAddress {
  readonly family: 4 | 6;
  readonly octets: Buffer;
}

// Registry addresses repeat on every cache miss; parsing them once keeps misses cheap. Bounded: cleared when full.
// The memo keeps durable copies of the octets (durable.ts), so it pins no allocation pools.
const addressMemo = new Map<string, ParsedAddress | null>();
const ADDRESS_MEMO_LIMIT = 1024;

/** Parse an IPv4 or IPv6 literal (memoised); undefined for anything else (a host name). */
export function parseAddress(text: string): ParsedAddress | undefined {
  const known = addressMemo.get(text);
  if (known !== undefined) return known ?? undefined;
  const v4 = parseIPv4(text);
  const v6 = v4 ? undefined : parseIPv6(text);
  const parsed: ParsedAddress | null = v4 ? { family: 4, octets: durableCopy(v4) } : v6 ? { family: 6, octets: durableCopy(v6) } : null;
  if (addressMemo.size >= ADDRESS_MEMO_LIMIT) addressMemo.clear();
  addressMemo.set(text, parsed);
  return parsed ?? undefined;
}
