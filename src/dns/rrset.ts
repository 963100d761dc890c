/**
 * RRsets (RFC 2181 §5): the records of one (owner, type) form one set, with no duplicate record and one TTL.
 * Static zone data, registry-derived data and the additional records of both can name the same RRset; the
 * response sections go through `mergeRRsets` so a client sees each record once, under one TTL.
 *
 * The TTL of a merged set is its lowest: RFC 2181 §5.2 tells clients to treat a set with differing TTLs as
 * if all were the lowest, and the lowest is the one that keeps the registry-derived part of the set (which
 * changes with health and registrations) from being cached longer than `answerTtl`.
 */
import { foldAscii } from '../ascii.js';
import { nameKey } from './name.js';
import { type ResourceRecord } from './records.js';
import { rdataToText } from './rr/index.js';

/** The key of the RRset a record belongs to: folded owner name and type. */
export function rrsetKey(rr: ResourceRecord): string {
  return `${nameKey(rr.name)}\0${rr.type}`;
}

/**
 * The key of one record within its set: its RDATA in presentation form, case-folded where it only holds names
 * and numbers (names compare without case, RFC 4343 §3), as is for TXT and generic data, whose octets matter.
 */
function recordKey(rr: ResourceRecord): string {
  const text = rdataToText(rr.data);
  return rr.data.kind === 'TXT' || rr.data.kind === 'RAW' ? text : foldAscii(text);
}

interface RRsetBuilder {
  readonly records: ResourceRecord[];
  readonly seen: Set<string>;
  ttl: number;
}

/**
 * Group records into RRsets in first-seen order, each set contiguous (the encoder trims whole sets), with
 * duplicate records dropped and every record of a set carrying the set's lowest TTL. Sets whose key is in
 * `omit` are left out (the additional section omits what the answer section already holds).
 */
export function mergeRRsets(records: readonly ResourceRecord[], omit?: ReadonlySet<string>): ResourceRecord[] {
  if (records.length === 0) return [];
  const sets = new Map<string, RRsetBuilder>();
  for (const rr of records) {
    const key = rrsetKey(rr);
    if (omit?.has(key)) continue;
    let set = sets.get(key);
    if (!set) {
      set = { records: [], seen: new Set(), ttl: rr.ttl };
      sets.set(key, set);
    }
    const rdata = recordKey(rr);
    if (set.seen.has(rdata)) {
      set.ttl = Math.min(set.ttl, rr.ttl);
      continue;
    }
    set.seen.add(rdata);
    set.records.push(rr);
    set.ttl = Math.min(set.ttl, rr.ttl);
  }
  const out: ResourceRecord[] = [];
  for (const set of sets.values()) {
    for (const rr of set.records) out.push(rr.ttl === set.ttl ? rr : { ...rr, ttl: set.ttl });
  }
  return out;
}

/** The RRset keys present in `records`. */
export function rrsetKeys(records: readonly ResourceRecord[]): Set<string> {
  return new Set(records.map(rrsetKey));
}
