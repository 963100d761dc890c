/**
 * Record helpers for multicast DNS over dns-packet's message shapes: identity keys, raw RDATA for the
 * simultaneous-probe tiebreak (RFC 6762 §8.2), the QU bit dns-packet leaves in the class string, and
 * case-insensitive name comparison (RFC 6762 §16: ASCII case folding only).
 */
import type { Answer, Question } from 'dns-packet';
import { foldAscii } from '../ascii.js';
import { parseIPv4, parseIPv6 } from '../dns/ip.js';

/** The mDNS port (RFC 6762 §3). */
export const MDNS_PORT = 5353;
/** The mDNS IPv4 group (RFC 6762 §3). */
export const MDNS_GROUP_V4 = '224.0.0.251';
/** RFC 6762 §3: the link-local IPv6 multicast group (FF02::FB). */
export const MDNS_GROUP_V6 = 'ff02::fb';

/** Record types Beacon publishes over mDNS. */
export type MdnsType = 'PTR' | 'SRV' | 'TXT' | 'A' | 'AAAA';

/** One record Beacon owns: its dns-packet form and whether it is unique (cache-flush, probed) or shared. */
export interface OwnedRecord {
  readonly answer: Answer & { readonly ttl: number };
  readonly unique: boolean;
}

/** A name in lookup form: no trailing dot, ASCII letters lowered (RFC 6762 §16). */
export function nameKey(name: string): string {
  return foldAscii(name.endsWith('.') ? name.slice(0, -1) : name);
}

/** Whether `name` is `domain` or below it. */
export function isUnder(name: string, domain: string): boolean {
  const key = nameKey(name);
  const apex = nameKey(domain);
  return key === apex || key.endsWith('.' + apex);
}

/** Whether a question asks for a unicast response (the QU bit, RFC 6762 §5.4). dns-packet decodes it as `UNKNOWN_<class>`. */
export function isQuestionQu(question: Question): boolean {
  const cls: unknown = question.class;
  if (typeof cls === 'number') return (cls & 0x8000) !== 0;
  const match = typeof cls === 'string' ? /^UNKNOWN_(\d+)$/.exec(cls) : null;
  return match !== null && (Number(match[1]) & 0x8000) !== 0;
}

/** Whether a question is of class IN (or ANY), QU bit aside. */
export function isQuestionIn(question: Question): boolean {
  const cls: unknown = question.class;
  if (cls === undefined || cls === 'IN' || cls === 'ANY') return true;
  const match = typeof cls === 'string' ? /^UNKNOWN_(\d+)$/.exec(cls) : null;
  if (match === null) return false;
  const code = Number(match[1]) & 0x7fff;
  return code === 1 || code === 255;
}

function nameWire(name: string): Buffer {
  const labels = nameKey(name) === '' ? [] : (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'utf8');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function txtStrings(data: unknown): Buffer[] {
  const list = Array.isArray(data) ? (data as unknown[]) : [data];
  return list.map((s) => (Buffer.isBuffer(s) ? s : Buffer.from(String(s ?? ''), 'utf8')));
}

/** The uncompressed RDATA octets of a record (RFC 6762 §8.2: names uncompressed, compared as raw octets). */
export function rdataBytes(answer: Answer): Buffer {
  const data: unknown = 'data' in answer ? answer.data : undefined;
  switch (answer.type) {
    case 'A':
      return parseIPv4(String(data)) ?? Buffer.from(String(data));
    case 'AAAA':
      return parseIPv6(String(data)) ?? Buffer.from(String(data));
    case 'PTR':
    case 'CNAME':
    case 'NS':
      return nameWire(String(data));
    case 'SRV': {
      const srv = data as { priority?: number; weight?: number; port: number; target: string };
      const head = Buffer.alloc(6);
      head.writeUInt16BE(srv.priority ?? 0, 0);
      head.writeUInt16BE(srv.weight ?? 0, 2);
      head.writeUInt16BE(srv.port, 4);
      return Buffer.concat([head, nameWire(srv.target)]);
    }
    case 'TXT':
      return Buffer.concat(txtStrings(data).flatMap((s) => [Buffer.from([s.length]), s]));
    default:
      return Buffer.isBuffer(data) ? data : Buffer.from(JSON.stringify(data) ?? '');
  }
}

/** Identity of a record: owner name (folded), type and RDATA (names in RDATA folded too). */
export function recordKey(answer: Answer): string {
  const data = answer.type === 'PTR' || answer.type === 'SRV' ? foldedCopy(answer) : answer;
  return `${nameKey(answer.name)}|${answer.type}|${rdataBytes(data).toString('hex')}`;
}

/** Identity of an RRset: owner name (folded) and type. */
export function rrsetKey(answer: { readonly name: string; readonly type: string }): string {
  return `${nameKey(answer.name)}|${answer.type}`;
}

function foldedCopy(answer: Answer): Answer {
  if (answer.type === 'PTR') return { ...answer, data: nameKey(answer.data) };
  if (answer.type === 'SRV') return { ...answer, data: { ...answer.data, target: nameKey(answer.data.target) } };
  return answer;
}

const TYPE_CODES: Readonly<Record<string, number>> = { A: 1, NS: 2, CNAME: 5, PTR: 12, TXT: 16, AAAA: 28, SRV: 33 };

/**
 * Compare two records in RFC 6762 §8.2 order: class, then type, then raw RDATA octets. All Beacon's records
 * are class IN, so only type and RDATA matter.
 */
export function compareRecords(a: Answer, b: Answer): number {
  const ta = TYPE_CODES[a.type] ?? 0;
  const tb = TYPE_CODES[b.type] ?? 0;
  if (ta !== tb) return ta - tb;
  return Buffer.compare(rdataBytes(a), rdataBytes(b));
}

/**
 * The simultaneous-probe tiebreak (RFC 6762 §8.2): sort each side's records, compare pairwise; the first
 * difference decides, and a list that runs out first is the earlier. Positive = ours is later (we win),
 * negative = theirs is later (we defer), 0 = identical sets (no conflict: it is our own probe or a twin).
 */
export function tiebreak(ours: readonly Answer[], theirs: readonly Answer[]): number {
  const a = [...ours].sort(compareRecords);
  const b = [...theirs].sort(compareRecords);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareRecords(a[i] as Answer, b[i] as Answer);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
