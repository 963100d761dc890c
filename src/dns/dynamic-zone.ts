/**
 * Dynamic zone data in memory: the RRsets DNS UPDATE added that describe no instance (README, "Registration
 * through DNS UPDATE"), as the authority answers them beside static zones and the registry. It holds what the
 * store holds (store/zone-data.ts: owner in canonical presentation form, type, TTL, uncompressed RDATA in
 * base64) and is changed only by `apply`, with what was made durable (or came from the shared store's feed);
 * listeners learn which owner names changed, so the response cache drops exactly their answers.
 */
import { foldOctet } from '../ascii.js';
import { type Name, isSubdomain, nameKey, nameToPresentation, parseName } from './name.js';
import { RRType, type Rdata, type ResourceRecord } from './records.js';
import { MalformedMessage, readName } from './update/message.js';

/** One RRset as it is stored (the store's ZoneRecordSet shape); `rdata` empty = deleted. */
export interface DynamicRRset {
  readonly owner: string;
  readonly type: number;
  readonly ttl: number;
  readonly rdata: readonly string[];
}

/** One RRset held: as stored, and as the records DNS answers with. */
interface Held {
  readonly stored: DynamicRRset;
  readonly records: readonly ResourceRecord[];
}

const NONE: readonly ResourceRecord[] = Object.freeze([]);

/** The stored form of an owner name: ASCII lower case, presentation form with \DDD escapes, trailing dot. */
export function ownerText(name: Name): string {
  return nameToPresentation(name.map((label) => Buffer.from(label.map(foldOctet))), true);
}

/** The dynamic RRsets of one zone. */
export class DynamicZone {
  /** name key -> type -> RRset. */
  private readonly byName = new Map<string, Map<number, Held>>();
  /** name key -> how many owners at or below it hold data (names that exist, empty non-terminals included). */
  private readonly below = new Map<string, number>();
  private readonly listeners = new Set<(names: readonly string[], sets: readonly DynamicRRset[]) => void>();

  constructor(private readonly domain: Name) {}

  /** Every RRset held, in the stored form. */
  all(): DynamicRRset[] {
    const out: DynamicRRset[] = [];
    for (const types of this.byName.values()) for (const held of types.values()) out.push(held.stored);
    return out;
  }

  /** Every RRset held, in the stored form beside the records DNS answers with (for listings). */
  entries(): { readonly set: DynamicRRset; readonly records: readonly ResourceRecord[] }[] {
    const out: { set: DynamicRRset; records: readonly ResourceRecord[] }[] = [];
    for (const types of this.byName.values()) for (const held of types.values()) out.push({ set: held.stored, records: held.records });
    return out;
  }

  /** How many RRsets are held. */
  get size(): number {
    let n = 0;
    for (const types of this.byName.values()) n += types.size;
    return n;
  }

  /** The records at `name` of `type` (every type for ANY); matching is ASCII case-insensitive. */
  records(name: Name, type: number): readonly ResourceRecord[] {
    if (this.byName.size === 0) return NONE; // the common case: no zone data, and no name key to build
    const types = this.byName.get(nameKey(name));
    if (types === undefined) return [];
    if (type === RRType.ANY) return [...types.values()].flatMap((h) => h.records);
    return types.get(type)?.records ?? [];
  }

  /** The stored RRset at (name, type), if any. */
  rrset(name: Name, type: number): DynamicRRset | undefined {
    return this.byName.get(nameKey(name))?.get(type)?.stored;
  }

  /** The types held at `name`. */
  types(name: Name): number[] {
    return [...(this.byName.get(nameKey(name))?.keys() ?? [])];
  }

  /** Whether `name` exists because of dynamic data: it holds an RRset, or one is held below it. */
  exists(name: Name): boolean {
    if (this.below.size === 0) return false;
    return (this.below.get(nameKey(name)) ?? 0) > 0;
  }

  /**
   * Replace each RRset by (owner, type) with the one given (no RDATA: remove it) and tell the listeners the
   * name keys of the owners that changed. RRsets outside the zone, or whose owner does not parse, are skipped.
   */
  apply(sets: readonly DynamicRRset[]): void {
    const changed = new Set<string>();
    const applied: DynamicRRset[] = [];
    for (const set of sets) {
      let owner: Name;
      try {
        owner = parseName(set.owner);
      } catch {
        continue;
      }
      if (!isSubdomain(owner, this.domain)) continue;
      const key = nameKey(owner);
      let types = this.byName.get(key);
      const had = types?.has(set.type) ?? false;
      if (set.rdata.length === 0) {
        if (!had) continue;
        types!.delete(set.type);
        if (types!.size === 0) {
          this.byName.delete(key);
          this.count(owner, -1);
        }
      } else {
        if (types === undefined) {
          types = new Map();
          this.byName.set(key, types);
          this.count(owner, 1);
        }
        types.set(set.type, { stored: { owner: set.owner, type: set.type, ttl: set.ttl, rdata: [...set.rdata] }, records: set.rdata.map((r) => toRecord(owner, set.type, set.ttl, Buffer.from(r, 'base64'))) });
      }
      changed.add(key);
      applied.push(set);
    }
    if (changed.size === 0) return;
    const names = [...changed];
    for (const listener of this.listeners) listener(names, applied);
  }

  /** Be told the name keys of owners whose RRsets changed, and the RRsets applied; returns the unsubscribe function. */
  onChange(listener: (names: readonly string[], sets: readonly DynamicRRset[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Count an owner in or out at itself and every name between it and the zone apex. */
  private count(owner: Name, delta: 1 | -1): void {
    for (let i = 0; i <= owner.length - this.domain.length; i++) {
      const key = nameKey(owner.slice(i));
      const next = (this.below.get(key) ?? 0) + delta;
      if (next > 0) this.below.set(key, next);
      else this.below.delete(key);
    }
  }
}

/** A stored record as DNS answers it: the types with names or known layouts decoded, others as RFC 3597 data. */
function toRecord(name: Name, type: number, ttl: number, rdata: Buffer): ResourceRecord {
  return { name, type, ttl, data: decodeRdata(type, rdata) };
}

function decodeRdata(type: number, rdata: Buffer): Rdata {
  const raw: Rdata = { kind: 'RAW', bytes: rdata };
  try {
    switch (type) {
      case RRType.A:
        return rdata.length === 4 ? { kind: 'A', address: Buffer.from(rdata) } : raw;
      case RRType.AAAA:
        return rdata.length === 16 ? { kind: 'AAAA', address: Buffer.from(rdata) } : raw;
      case RRType.TXT:
        return { kind: 'TXT', strings: txtStrings(rdata) };
      case RRType.PTR: {
        const target = readName(rdata, 0);
        return target.end === rdata.length ? { kind: 'PTR', target: target.name } : raw;
      }
      case RRType.MX: {
        const exchange = readName(rdata, 2);
        return rdata.length >= 3 && exchange.end === rdata.length ? { kind: 'MX', preference: rdata.readUInt16BE(0), exchange: exchange.name } : raw;
      }
      case RRType.SRV: {
        const target = readName(rdata, 6);
        return rdata.length >= 7 && target.end === rdata.length
          ? { kind: 'SRV', priority: rdata.readUInt16BE(0), weight: rdata.readUInt16BE(2), port: rdata.readUInt16BE(4), target: target.name }
          : raw;
      }
      default:
        return raw;
    }
  } catch (error) {
    if (error instanceof MalformedMessage || error instanceof RangeError) return raw;
    throw error;
  }
}

/** TXT RDATA's character-strings (RFC 1035 §3.3.14); RangeError when one runs past the end. */
export function txtStrings(rdata: Buffer): Buffer[] {
  const strings: Buffer[] = [];
  let o = 0;
  while (o < rdata.length) {
    const len = rdata[o] ?? 0;
    if (o + 1 + len > rdata.length) throw new RangeError('TXT string runs past its RDATA');
    strings.push(Buffer.from(rdata.subarray(o + 1, o + 1 + len)));
    o += 1 + len;
  }
  return strings;
}
