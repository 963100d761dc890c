import { StoreUnavailableError } from '../errors.js';
import type { InstanceRecord } from '../registry/types.js';
import type { Store, StoreSnapshot, StoreWrite } from './store.js';

/**
 * The reference backend (docs/ARCHITECTURE.md, 'Habits' 4): a Map of records plus the change index, nothing durable.
 * Used by tests, by `beacon serve --ephemeral`, and as the model other backends are held to by the
 * store contract suite. Records are copied through JSON on the way in and out, so callers can neither
 * alias the store's state nor write anything a real store could not hold.
 */
export class MemoryStore implements Store {
  /** Backend name. */
  readonly kind = 'memory';
  private readonly services = new Map<string, Map<string, InstanceRecord>>();
  private index = 0;
  private closed = false;

  /** Start empty, or from `initial` (e.g. `other.snapshot()` to emulate reopening the same data). */
  constructor(initial?: StoreSnapshot) {
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

function copy(record: InstanceRecord): InstanceRecord {
  return JSON.parse(JSON.stringify(record)) as InstanceRecord;
}
