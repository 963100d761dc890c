import { foldAscii } from '../ascii.js';
import type { InstanceRecord } from './types.js';

/**
 * One service's records, and its ids indexed by their ASCII fold. The id that holds a fold (the first
 * registered under it) is listed in `folded` only when it is not the fold itself: an id already in lower
 * case is found in `records` under its own fold. Most ids are, so most services need no index at all
 * (a map per service is about 50 octets per instance).
 */
interface ServiceEntry {
  /** The service's name as its first record carried it: the one string later records are given (`name`). */
  readonly name: string;
  readonly records: Map<string, InstanceRecord>;
  /** folded id -> the id holding that fold, when that id is not the fold itself; created when first needed. */
  folded: Map<string, string> | undefined;
  /** Ids beyond the first under one fold: only state synced from a shared store can hold such pairs. */
  collisions: number;
}

/**
 * The registry's records by service and id. Each service's ids are also indexed by their ASCII fold
 * (RFC 4343 §3: DNS cannot tell `Printer` from `printer`), so asking "which id has this DNS name" is a map
 * lookup, not a scan of the service: a write costs what it changes, not the size of its service.
 */
export class InstanceTable {
  private readonly services = new Map<string, ServiceEntry>();

  /** The record of one instance (exact id). */
  get(service: string, id: string): InstanceRecord | undefined {
    return this.services.get(service)?.records.get(id);
  }

  /** Live view of one service's records, in registration order (no copy). */
  service(service: string): ReadonlyMap<string, InstanceRecord> | undefined {
    return this.services.get(service)?.records;
  }

  /**
   * `service` as the table already holds it, or `service` itself for a service it does not hold. A write
   * that builds its record with this name shares one string with every record of the service, where the
   * name parsed from each request is a string of its own (about 24 octets per instance).
   */
  name(service: string): string {
    return this.services.get(service)?.name ?? service;
  }

  /** The id registered in `service` whose ASCII fold equals `id`'s, if any (the id itself when registered). */
  idFolding(service: string, id: string): string | undefined {
    const entry = this.services.get(service);
    if (entry === undefined) return undefined;
    return entry.records.has(id) ? id : holderOf(entry, foldAscii(id));
  }

  /** Names of the services that have at least one instance, in creation order. */
  serviceNames(): IterableIterator<string> {
    return this.services.keys();
  }

  /** Number of services. */
  get serviceCount(): number {
    return this.services.size;
  }

  /** Every record, service by service. */
  *records(): IterableIterator<InstanceRecord> {
    for (const entry of this.services.values()) yield* entry.records.values();
  }

  /** Put a record (created or replaced) under its service and id. */
  set(record: InstanceRecord): void {
    const { service } = record;
    const id = record.spec.id;
    let entry = this.services.get(service);
    if (entry === undefined) {
      entry = { name: service, records: new Map(), folded: undefined, collisions: 0 };
      this.services.set(service, entry);
    }
    if (!entry.records.has(id)) {
      const key = foldAscii(id);
      if (holderOf(entry, key) !== undefined) entry.collisions += 1;
      else if (key !== id) (entry.folded ??= new Map()).set(key, id);
    }
    entry.records.set(id, record);
  }

  /** Remove one instance; returns true when its service became empty (and so disappeared). */
  delete(service: string, id: string): boolean {
    const entry = this.services.get(service);
    if (entry === undefined || !entry.records.has(id)) return false;
    const key = foldAscii(id);
    const holder = holderOf(entry, key);
    entry.records.delete(id);
    if (entry.records.size === 0) {
      this.services.delete(service);
      return true;
    }
    if (holder !== id) {
      if (entry.collisions > 0) entry.collisions -= 1; // it was a second id under a fold held by another
      return false;
    }
    entry.folded?.delete(key);
    // Rare (synced state only): another id under the same fold takes its place in the index.
    if (entry.collisions > 0) {
      for (const other of entry.records.keys()) {
        if (foldAscii(other) !== key) continue;
        if (other !== key) (entry.folded ??= new Map()).set(key, other);
        entry.collisions -= 1;
        break;
      }
    }
    return false;
  }

  /** Remove everything. */
  clear(): void {
    this.services.clear();
  }
}

/** The id holding fold `key` in `entry`: listed in its index, else the fold itself when registered. */
function holderOf(entry: ServiceEntry, key: string): string | undefined {
  return entry.folded?.get(key) ?? (entry.records.has(key) ? key : undefined);
}
