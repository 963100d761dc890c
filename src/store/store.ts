import type { InstanceRecord } from '../registry/types.js';

/**
 * The two contracts storage backends implement (see docs/ARCHITECTURE.md, "Write path"). The registry's
 * write path (registry/write-path.ts) computes the record a mutation produces, a store makes that record
 * durable, and only then is the mutation applied in memory and acknowledged. Stores hold instance records
 * (and the opaque dynamic zone RRsets of zone-data.ts); they know nothing about DNS. A backend is one of:
 * - a LocalStore (memory, SQLite): this process alone writes it; the registry in memory is the truth and
 *   the store keeps it across restarts;
 * - a SharedStore (etcd): several nodes write it; the store is the truth and every node follows its feed.
 * The write path tells them apart by `shared`, never by probing for optional methods.
 */

/** Everything a store holds: the instance records and the change index they were written at. */
export interface StoreSnapshot {
  readonly index: number;
  readonly records: readonly InstanceRecord[];
}

/** One durable write: an instance record created/replaced, or removed. `index` is the change index it produces. */
export type StoreWrite =
  | { readonly kind: 'put'; readonly index: number; readonly record: InstanceRecord }
  | { readonly kind: 'delete'; readonly index: number; readonly service: string; readonly id: string };

/** A change observed by a shared store, made by this node or another one. */
export type StoreEvent = StoreWrite;

/** What every backend does. */
interface StoreBase {
  /** Backend name for logs and metrics (`memory`, `sqlite`, `etcd`). */
  readonly kind: string;
  /** Read the whole durable state. Rejects with StoreCorruptError when the data cannot be trusted. */
  load(): Promise<StoreSnapshot>;
  /** Make one write durable; resolves only once it is. Rejects with StoreUnavailableError when it cannot. */
  write(change: StoreWrite): Promise<void>;
  /** Flush and release resources. Idempotent; writes after it reject with StoreUnavailableError. */
  close(): Promise<void>;
}

/** A store only this process writes (memory, SQLite). */
export interface LocalStore extends StoreBase {
  readonly shared: false;
  /** Several writes made durable at once, all or nothing (one transaction: group commit, restores). */
  writeBatch(changes: readonly StoreWrite[]): Promise<void>;
}

/** A store several nodes share (etcd), and the source of truth for all of them. */
export interface SharedStore extends StoreBase {
  readonly shared: true;
  /**
   * Every write made by any node, this one included, in commit order, starting right after the state the
   * last `load()` returned. The node applies them as `sync` mutations. Returns the unsubscribe function.
   */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  /** Renew an instance's liveness (an etcd lease keep-alive). Rejects with InstanceNotFoundError when it is gone. */
  keepAlive(service: string, id: string): Promise<void>;
  /** Whether this node owns an instance (holds its lease) and so runs its checks and writes its expiry. */
  isOwner(service: string, id: string): boolean;
}

/** A storage backend: memory (reference), SQLite (embedded default), or etcd (cluster). */
export type Store = LocalStore | SharedStore;
