import { isDeepStrictEqual } from 'node:util';
import { StoreUnavailableError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { mutationId, type ChangeEvent, type Mutation } from '../registry/mutations.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { HealthStatus, InstanceRecord, ServiceInstance } from '../registry/types.js';
import type { InstanceInput } from '../registry/validate.js';
import { foldCase } from '../registry/record.js';
import type { Store, StoreEvent, StoreWrite } from './store.js';


/** Options of the durable façade. */
export interface DurableRegistryOptions {
  /**
   * Shared stores only: how long a write waits for its own event to come back through `subscribe` before
   * the node applies the (already durable) record itself. Default 5000 ms.
   */
  readonly echoTimeoutMs?: number;
  /** Where shared-store events that cannot be applied are logged. */
  readonly logger?: Logger;
}

/** Most mutations made durable in one store transaction (group commit). */
const MAX_GROUP = 256;

/** A mutation waiting for the next group commit. `prepare` runs when its group forms, against the state then. */
interface PendingMutation {
  /** Which instance it is about (service, ASCII-folded id): decides group membership before preparing. */
  readonly key: string;
  readonly prepare: () => Mutation;
  readonly resolve: (event: ChangeEvent | undefined) => void;
  readonly reject: (error: unknown) => void;
}

interface EchoWaiter {
  readonly expected: StoreWrite;
  readonly resolve: (event: ChangeEvent | undefined) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * The durable façade over a ServiceRegistry: the only way the daemon and the control API change state.
 *
 * Every call runs, one at a time, through a single queue: prepare (validate; typed errors, nothing changes)
 * -> preview (the record the mutation leaves) -> write that record to the store -> apply in memory ->
 * return the ChangeEvent. The queue makes preview and apply see the same state, so 100 concurrent
 * registrations all land (seed mutant B), and nothing is applied or acknowledged before it is durable: a
 * failed write leaves the registry unchanged and rejects the call.
 *
 * Heartbeats that only move `lastHeartbeat` are not written (after a restart `registry.load()` gives every
 * instance a fresh TTL grace period instead); on a shared store they renew the instance's lease.
 *
 * Shared stores (those with `subscribe`, e.g. etcd) are the source of truth for several nodes. There the
 * node does not apply its own mutation after writing: every change, this node's included, comes back
 * through the store's event feed and is applied as a `sync` mutation, so all nodes converge through the
 * same path and in the store's commit order. A call waits for the echo of its own write and returns the
 * event that applying it produced. The store must deliver every event committed after the snapshot that
 * `load()` returned (etcd: watch from the loaded revision + 1).
 */
export class DurableRegistry {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private pending: PendingMutation[] = [];
  private readonly unsubscribe: (() => void) | undefined;
  private readonly echoes = new Map<string, EchoWaiter[]>();
  private readonly echoTimeoutMs: number;
  private readonly logger: Logger;

  private constructor(
    /** The in-memory registry (read it freely; change it only through this façade). */
    readonly registry: ServiceRegistry,
    /** The durable store. */
    readonly store: Store,
    options: DurableRegistryOptions,
  ) {
    this.echoTimeoutMs = options.echoTimeoutMs ?? 5_000;
    this.logger = options.logger ?? silentLogger;
    this.unsubscribe = store.subscribe?.((event) => this.onStoreEvent(event));
  }

  /** Load the store's state into `registry` (fresh heartbeat grace for every instance) and wrap both. */
  static async open(registry: ServiceRegistry, store: Store, options: DurableRegistryOptions = {}): Promise<DurableRegistry> {
    const snapshot = await store.load();
    registry.load(snapshot.records, snapshot.index);
    // No await between load and subscribe: a shared store's feed starts right after the loaded snapshot.
    return new DurableRegistry(registry, store, options);
  }

  /** Whether this façade runs on a shared store (changes arrive through the store's feed). */
  get shared(): boolean {
    return this.unsubscribe !== undefined;
  }

  /** The registry's change index. */
  get index(): number {
    return this.registry.index;
  }

  /** The registry's records (for snapshots and listings). */
  records(service?: string): InstanceRecord[] {
    return this.registry.records(service);
  }

  /** Register (or replace) an instance, durably. */
  register(service: string, instance: ServiceInstance | InstanceInput): Promise<ChangeEvent | undefined> {
    return this.submit(service, instanceIdOf(instance), () => this.registry.prepareRegister(service, instance));
  }

  /** Remove an instance, durably. */
  deregister(service: string, id: string): Promise<ChangeEvent | undefined> {
    return this.submit(service, id, () => this.registry.prepareDeregister(service, id));
  }

  /** Record a heartbeat; written only when it changes more than the heartbeat time. */
  heartbeat(service: string, id: string, status?: 'pass' | 'fail', note?: string): Promise<ChangeEvent | undefined> {
    return this.submit(service, id, () => this.registry.prepareHeartbeat(service, id, status, note));
  }

  /** Set an instance's health (check results, operators), durably. */
  updateHealth(service: string, id: string, health: HealthStatus, note?: string): Promise<ChangeEvent | undefined> {
    return this.submit(service, id, () => this.registry.prepareHealth(service, id, health, note));
  }

  /** Put an instance in or out of maintenance, durably. */
  setMaintenance(service: string, id: string, enabled: boolean, reason?: string): Promise<ChangeEvent | undefined> {
    return this.submit(service, id, () => this.registry.prepareMaintenance(service, id, enabled, reason));
  }

  /**
   * TTL expiry, durably: each expired instance is marked unhealthy (or removed once critical for too long),
   * one write per change. Computed inside the queue so no heartbeat slips between the decision and the write.
   * Returns the number of instances removed (seed mutant C).
   */
  cleanupExpired(): Promise<number> {
    return this.enqueue(async () => {
      let removed = 0;
      for (const mutation of this.registry.expiredMutations()) {
        // On a shared store only an instance's owner may expire it from its own clock (others do not see
        // its heartbeats; its lease is the truth). Stores that do not say who owns what: every node may.
        if (this.shared && !this.owns(mutation.service, mutationId(mutation))) continue;
        await this.commit(mutation);
        if (mutation.type === 'deregister') removed += 1;
      }
      return removed;
    });
  }

  /**
   * Make the registry hold exactly `records` (snapshot restore): instances absent from `records` are removed,
   * the others put as given with a fresh heartbeat time. Records must already be validated. On a store with
   * `writeBatch` (and not shared) it is all or nothing; otherwise each instance is one durable write.
   * Returns the number of instances that changed.
   */
  replaceAll(records: readonly InstanceRecord[]): Promise<number> {
    return this.enqueue(async () => {
      const now = this.registry.clock.now();
      const wanted = new Map(records.map((record) => [keyOf(record.service, record.spec.id), { ...record, lastHeartbeat: now }]));
      const mutations: Mutation[] = [];
      for (const current of this.registry.records()) {
        if (!wanted.has(keyOf(current.service, current.spec.id))) mutations.push(syncMutation(current.service, current.spec.id, undefined, now));
      }
      for (const record of wanted.values()) {
        const current = this.registry.get(record.service, record.spec.id);
        // Equal but for the heartbeat time: nothing to restore (and nothing visible to announce).
        if (current === undefined || !sameRecord({ ...current, lastHeartbeat: now }, record)) mutations.push(syncMutation(record.service, record.spec.id, record, now));
      }
      const store = this.store;
      if (!this.shared && store.writeBatch !== undefined && mutations.length > 0) {
        const writes = mutations.map((m, i) => this.writeFor(m, this.registry.preview(m).after, this.registry.index + 1 + i));
        await store.writeBatch(writes);
        for (const m of mutations) this.registry.apply(m);
      } else {
        for (const m of mutations) await this.commit(m);
      }
      return mutations.length;
    });
  }

  /** Wait for queued calls, stop following the store, close it. Later calls reject. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    this.unsubscribe?.();
    for (const waiters of this.echoes.values()) for (const waiter of waiters) clearTimeout(waiter.timer);
    this.echoes.clear();
    await this.store.close();
  }

  // ---- internals ----

  /** Whether this node owns an instance: always on local stores; on shared ones, the store says (etcd leases). */
  owns(service: string, id: string): boolean {
    return this.store.isOwner?.(service, id) ?? true;
  }

  /**
   * Queue one mutation. On a local store that can write batches, mutations that arrive while a write is in
   * flight are made durable together in one transaction (group commit: one fsync for many callers), still
   * prepared, previewed and applied strictly in arrival order. Otherwise: one commit per mutation.
   */
  private submit(service: string, id: unknown, prepare: () => Mutation): Promise<ChangeEvent | undefined> {
    if (this.shared || this.store.writeBatch === undefined) return this.enqueue(() => this.commit(prepare()));
    if (this.closed) return Promise.reject(new StoreUnavailableError('the durable registry is closed'));
    const key = keyOf(String(service).toLowerCase(), foldCase(String(id)));
    return new Promise((resolve, reject) => {
      // Join the list of the commit task queued last; if something else was queued since, start a new one,
      // so a mutation never overtakes a sweep or a restore that arrived before it.
      if (this.pending.length === 0) {
        const batch = this.pending;
        void this.queue(() => this.commitPending(batch));
      }
      this.pending.push({ key, prepare, resolve, reject });
    });
  }

  /** Group commit: drain `pending` in groups of mutations on distinct instances. Runs inside the queue. */
  private async commitPending(pending: PendingMutation[]): Promise<void> {
    // Later submits go to a new list behind this task: this one is being drained.
    if (this.pending === pending) this.pending = [];
    while (pending.length > 0) {
      const group: { item: PendingMutation; mutation: Mutation; write: StoreWrite | undefined }[] = [];
      const touched = new Set<string>();
      let nextIndex = this.registry.index + 1;
      while (pending.length > 0 && group.length < MAX_GROUP) {
        const item = pending[0]!;
        // Two mutations of one instance (or of names DNS cannot tell apart) never share a group: the second
        // must be prepared against the state the first leaves, so it waits for the next group.
        if (touched.has(item.key)) break;
        touched.add(item.key);
        pending.shift();
        let mutation: Mutation;
        try {
          mutation = item.prepare();
        } catch (error) {
          item.reject(error); // invalid: rejected alone, nothing written for it
          continue;
        }
        const preview = this.registry.preview(mutation);
        group.push({ item, mutation, write: preview.visible ? this.writeFor(mutation, preview.after, nextIndex++) : undefined });
      }
      const writes = group.flatMap((entry) => (entry.write === undefined ? [] : [entry.write]));
      try {
        if (writes.length > 0) await this.store.writeBatch!(writes);
      } catch (error) {
        for (const entry of group) entry.item.reject(error); // nothing was applied: the registry is unchanged
        continue;
      }
      for (const entry of group) {
        try {
          entry.item.resolve(this.registry.apply(entry.mutation));
        } catch (error) {
          entry.item.reject(error);
        }
      }
    }
  }

  /** Queue a task behind everything queued so far; mutations submitted after it wait for it (arrival order). */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.pending = [];
    return this.queue(task);
  }

  private queue<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('the durable registry is closed'));
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** preview -> write -> apply (or await the echo) for one prepared mutation. Runs inside the queue. */
  private async commit(m: Mutation): Promise<ChangeEvent | undefined> {
    const preview = this.registry.preview(m);
    if (m.type === 'heartbeat' && this.store.keepAlive !== undefined) await this.store.keepAlive(m.service, m.id);
    // Heartbeat-only changes are not durable-worthy: apply them (renewing the TTL) without a write.
    if (!preview.visible) return this.registry.apply(m);
    const write = this.writeFor(m, preview.after, this.registry.index + 1);
    if (!this.shared) {
      await this.store.write(write);
      return this.registry.apply(m);
    }
    const echo = this.awaitEcho(write);
    try {
      await this.store.write(write);
    } catch (error) {
      this.cancelEcho(write);
      throw error;
    }
    return echo;
  }

  private writeFor(m: Mutation, after: InstanceRecord | undefined, index: number): StoreWrite {
    if (after !== undefined) return { kind: 'put', index, record: after };
    return { kind: 'delete', index, service: m.service, id: mutationId(m) };
  }

  /** Shared stores: apply every change (ours and other nodes') as a `sync` mutation; wake our writer. */
  private onStoreEvent(event: StoreEvent): void {
    const { service, id } = keyParts(event);
    const record = event.kind === 'put' ? event.record : undefined;
    let applied: ChangeEvent | undefined;
    try {
      applied = this.applySync(service, id, record);
    } catch (error) {
      this.logger.error({ err: error, service, id }, 'could not apply a change from the shared store');
    }
    const waiters = this.echoes.get(keyOf(service, id));
    const index = waiters?.findIndex((waiter) => sameWrite(waiter.expected, event)) ?? -1;
    if (waiters === undefined || index < 0) return;
    const [waiter] = waiters.splice(index, 1);
    if (waiters.length === 0) this.echoes.delete(keyOf(service, id));
    clearTimeout(waiter!.timer);
    waiter!.resolve(applied);
  }

  /** Apply a record learned from the store, unless the registry already holds exactly that. */
  private applySync(service: string, id: string, record: InstanceRecord | undefined): ChangeEvent | undefined {
    const current = this.registry.get(service, id);
    if (current === undefined ? record === undefined : record !== undefined && sameRecord(current, record)) return undefined;
    return this.registry.apply(syncMutation(service, id, record, this.registry.clock.now()));
  }

  private awaitEcho(write: StoreWrite): Promise<ChangeEvent | undefined> {
    const { service, id } = keyParts(write);
    const key = keyOf(service, id);
    return new Promise((resolve) => {
      const waiter: EchoWaiter = { expected: write, resolve };
      // The write is durable once store.write resolved; if the feed is late, apply it ourselves rather than
      // hold the queue (a late echo of an identical record is then a no-op).
      waiter.timer = setTimeout(() => {
        const waiters = this.echoes.get(key);
        const at = waiters?.indexOf(waiter) ?? -1;
        if (at >= 0) waiters!.splice(at, 1);
        if (waiters?.length === 0) this.echoes.delete(key);
        this.logger.warn({ service, id, timeoutMs: this.echoTimeoutMs }, 'shared store did not echo a write in time; applying it locally');
        resolve(this.applySync(service, id, write.kind === 'put' ? write.record : undefined));
      }, this.echoTimeoutMs);
      const waiters = this.echoes.get(key) ?? [];
      waiters.push(waiter);
      this.echoes.set(key, waiters);
    });
  }

  private cancelEcho(write: StoreWrite): void {
    const { service, id } = keyParts(write);
    const waiters = this.echoes.get(keyOf(service, id));
    const at = waiters?.findIndex((waiter) => waiter.expected === write) ?? -1;
    if (at < 0) return;
    clearTimeout(waiters![at]!.timer);
    waiters!.splice(at, 1);
    if (waiters!.length === 0) this.echoes.delete(keyOf(service, id));
  }
}

function instanceIdOf(instance: ServiceInstance | InstanceInput): unknown {
  return instance !== null && typeof instance === 'object' ? instance.id : undefined;
}

function syncMutation(service: string, id: string, record: InstanceRecord | undefined, at: number): Mutation {
  return { type: 'sync', service, id, record, at };
}

function keyParts(write: StoreWrite): { service: string; id: string } {
  return write.kind === 'put' ? { service: write.record.service, id: write.record.spec.id } : { service: write.service, id: write.id };
}

function keyOf(service: string, id: string): string {
  return JSON.stringify([service, id]);
}

/**
 * Records compared as a store holds them (JSON: undefined fields do not matter, nor does key order, except
 * metadata's: it is the TXT order DNS publishes, so a re-registration that only reorders it is a change).
 */
function sameRecord(a: InstanceRecord, b: InstanceRecord): boolean {
  const metadataOrder = (r: InstanceRecord): string => JSON.stringify(Object.keys(r.spec.metadata));
  return metadataOrder(a) === metadataOrder(b) && isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

function sameWrite(expected: StoreWrite, event: StoreEvent): boolean {
  if (expected.kind !== event.kind) return false;
  if (expected.kind === 'delete' || event.kind === 'delete') return true; // same key, checked by the caller
  return sameRecord(expected.record, event.record);
}
