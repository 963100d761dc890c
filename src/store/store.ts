import type { InstanceRecord } from '../registry/types.js';

/**
 * Durable storage behind one interface (docs/ARCHITECTURE.md, 'Habits' 4). The registry computes the record a mutation
 * produces (`ServiceRegistry.preview`), the store makes that record durable, and only then is the mutation
 * applied in memory and acknowledged. Stores hold instance records; they know nothing about DNS.
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

/** A change observed by a shared (remote) store, made by this node or another one. */
export type StoreEvent = StoreWrite;

/** A storage backend: memory (reference), SQLite (embedded default), etcd (cluster). */
export interface Store {
  /** Backend name for logs and metrics (`memory`, `sqlite`, `etcd`). */
  readonly kind: string;
  /** Read the whole durable state. Rejects with StoreCorruptError when the data cannot be trusted. */
  load(): Promise<StoreSnapshot>;
  /** Make one write durable; resolves only once it is. Rejects with StoreUnavailableError when it cannot. */
  write(change: StoreWrite): Promise<void>;
  /**
   * Shared stores only (etcd): every write made by any node, this one included, in commit order. The node
   * applies them as `sync` mutations. Local stores leave this out.
   */
  subscribe?(listener: (event: StoreEvent) => void): () => void;
  /** Shared stores only: renew an instance's liveness (an etcd lease keep-alive). */
  keepAlive?(service: string, id: string): Promise<void>;
  /** Several writes made durable at once, all or nothing (local stores that can: SQLite, memory). */
  writeBatch?(changes: readonly StoreWrite[]): Promise<void>;
  /**
   * Shared stores only: whether this node owns an instance (holds its lease) and so runs its checks and
   * writes its expiry. Stores without it: this node owns everything.
   */
  isOwner?(service: string, id: string): boolean;
  /** Flush and release resources. Idempotent. */
  close(): Promise<void>;
}
