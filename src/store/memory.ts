import { StoreUnavailableError } from '../errors.js';
import type { InstanceRecord } from '../registry/types.js';
import type { LocalStore, StoreSnapshot, StoreWrite } from './store.js';
import { zoneSetKey, type LocalZoneStore, type ZoneRecordSet } from './zone-data.js';

/**
 * The reference LocalStore (see docs/ARCHITECTURE.md, "Habits"): a Map of records plus the change index, nothing durable.
 * Used by tests, by `beacon serve --ephemeral`, and as the model other backends are held to by the
 * store contract suite. Records are copied through JSON on the way in and out, so callers can neither
 * alias the store's state nor write anything a real store could not hold.
 */
export class MemoryStore implements LocalStore, LocalZoneStore {
  /** Backend name. */
  readonly kind = 'memory';
  /** Only this process writes it. */
  readonly shared = false;
  private readonly services = new Map<string, Map<string, InstanceRecord>>();
  private readonly zone = new Map<string, ZoneRecordSet>();
  private index = 0;
  private closed = false;

  /**
   * Start empty, or from `initial` and `zone` (e.g. `other.snapshot()` and `other.zoneSnapshot()` to emulate
   * reopening the same data).
   */
  constructor(initial?: StoreSnapshot, zone: readonly ZoneRecordSet[] = []) {
    for (const set of zone) this.zone.set(zoneSetKey(set), copy(set));
    if (initial === undefined) return;
    this.index = initial.index;
    for (const record of initial.records) this.put(record);
  }

  /** The whole state, synchronously, even after close (what a reopened store would see). */
  snapshot(): StoreSnapshot {
    const records: InstanceRecord[] = [];
    for (const instances of this.services.values()) for (const record of instances.values()) records.push(copy(record));
    return { index: this.index, records };
  }

  /** Read the whole state. */
  async load(): Promise<StoreSnapshot> {
    this.assertOpen();
    return this.snapshot();
  }

  /** Apply one write; it is "durable" as soon as this resolves (for as long as the process lives). */
  async write(change: StoreWrite): Promise<void> {
    this.assertOpen();
    this.applyWrite(change);
  }

  /** Apply several writes at once, all or nothing (they cannot fail halfway in memory). */
  async writeBatch(changes: readonly StoreWrite[]): Promise<void> {
    this.assertOpen();
    for (const change of changes) this.applyWrite(change);
  }

  /** The zone data, synchronously, even after close. */
  zoneSnapshot(): ZoneRecordSet[] {
    return [...this.zone.values()].map(copy);
  }

  /** Every RRset of zone data. */
  async loadZone(): Promise<readonly ZoneRecordSet[]> {
    this.assertOpen();
    return this.zoneSnapshot();
  }

  /** Replace RRsets (no RDATA: delete), all at once. */
  async writeZone(sets: readonly ZoneRecordSet[]): Promise<void> {
    this.assertOpen();
    for (const set of sets) {
      if (set.rdata.length === 0) this.zone.delete(zoneSetKey(set));
      else this.zone.set(zoneSetKey(set), copy(set));
    }
  }

  /** Stop taking writes. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private applyWrite(change: StoreWrite): void {
    if (change.kind === 'put') {
      this.put(change.record);
    } else {
      const instances = this.services.get(change.service);
      instances?.delete(change.id);
      if (instances?.size === 0) this.services.delete(change.service);
    }
    this.index = change.index;
  }

  private put(record: InstanceRecord): void {
    const stored = copy(record);
    let instances = this.services.get(stored.service);
    if (instances === undefined) {
      instances = new Map();
      this.services.set(stored.service, instances);
    }
    instances.set(stored.spec.id, stored);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('memory store is closed');
  }
}

function copy<T extends InstanceRecord | ZoneRecordSet>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
