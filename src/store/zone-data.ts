/**
 * Dynamic zone data: the records DNS UPDATE adds that describe no instance (an A record for a host name, a
 * TXT at some other name), kept by every backend beside the instance records (README, "Registration through
 * DNS UPDATE"). Stores treat an RRset as opaque: an owner string, a type, a TTL and RDATA in base64; what the
 * records mean is the DNS layer's business (dns/dynamic-zone.ts).
 */
import { StoreCorruptError } from '../errors.js';

/** One RRset of dynamic zone data; `rdata` empty = the RRset is deleted. */
export interface ZoneRecordSet {
  /** The owner name in canonical presentation form (ASCII lower case, escaped, trailing dot). */
  readonly owner: string;
  /** RR type (1..65535). */
  readonly type: number;
  /** TTL in seconds. */
  readonly ttl: number;
  /** Each record's RDATA (uncompressed wire form), base64, in the order given. */
  readonly rdata: readonly string[];
}

/** A backend only this process writes (memory, SQLite). */
export interface LocalZoneStore {
  readonly shared: false;
  /** Every RRset held. */
  loadZone(): Promise<readonly ZoneRecordSet[]>;
  /** Replace each RRset named by (owner, type) with the one given (no RDATA: delete it), all or nothing. */
  writeZone(sets: readonly ZoneRecordSet[]): Promise<void>;
}

/** A backend several nodes share (etcd): writes come back to every node through `subscribeZone`. */
export interface SharedZoneStore {
  readonly shared: true;
  /** Every RRset held, and where `subscribeZone` continues from. */
  loadZone(): Promise<readonly ZoneRecordSet[]>;
  /**
   * Replace each RRset named by (owner, type), all or nothing; resolves once committed and, while this node
   * is subscribed, once the change came back through the subscription (bounded by the request timeout).
   */
  writeZone(sets: readonly ZoneRecordSet[]): Promise<void>;
  /** Every RRset change by any node, this one included, in commit order, after the last `loadZone`. */
  subscribeZone(listener: (set: ZoneRecordSet) => void): () => void;
}

/** A backend that keeps zone data. */
export type ZoneStore = LocalZoneStore | SharedZoneStore;

/** The key an RRset is stored under: owner and type. */
export function zoneSetKey(set: Pick<ZoneRecordSet, 'owner' | 'type'>): string {
  return `${set.owner}\u0000${set.type}`;
}

/** Encode an RRset's value (TTL and RDATA) for storage. */
export function encodeZoneValue(set: ZoneRecordSet): string {
  return JSON.stringify({ ttl: set.ttl, rdata: set.rdata });
}

/** Decode a stored value for (owner, type); StoreCorruptError naming `where` when it is not one. */
export function decodeZoneValue(owner: string, type: number, text: string, where: string): ZoneRecordSet {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StoreCorruptError(`${where}: zone RRset ${owner} ${type} is not JSON`, { cause: error });
  }
  const v = value as { ttl?: unknown; rdata?: unknown };
  const ok =
    typeof value === 'object' && value !== null &&
    Number.isInteger(v.ttl) && (v.ttl as number) >= 0 && (v.ttl as number) <= 0x7fffffff &&
    Array.isArray(v.rdata) && v.rdata.length > 0 && v.rdata.every((r) => typeof r === 'string' && /^[A-Za-z0-9+/]*=*$/.test(r)) &&
    Number.isInteger(type) && type > 0 && type <= 0xffff && owner.endsWith('.');
  if (!ok) throw new StoreCorruptError(`${where}: zone RRset ${owner} ${type} does not hold a TTL and RDATA`);
  return { owner, type, ttl: v.ttl as number, rdata: [...(v.rdata as string[])] };
}
