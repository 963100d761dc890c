import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { foldAscii } from '../ascii.js';
import { StoreUnavailableError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { LocalStore, SharedStore, Store, StoreEvent, StoreWrite } from '../store/store.js';
import { EchoWaiters, sameRecord, writeTarget } from './echoes.js';
import { mutationId, type ChangeEvent, type Mutation } from './mutations.js';
import type { ServiceRegistry } from './registry.js';
import type { HealthStatus, InstanceRecord, ServiceInstance } from './types.js';
import type { InstanceInput } from './validate.js';

/** Options of the durable façade. */
export interface DurableRegistryOptions {
  /**
   * Shared stores only: how long a write waits for its own event to come back through `subscribe` before
   * the node applies the (already durable) record itself. Default 5000 ms.
   */
  readonly echoTimeoutMs?: number;
  /** Where shared-store events that cannot be applied are logged. */
  readonly logger?: Logger;
  /**
   * Local stores: most mutations made durable in one transaction (group commit). Default 256; 1 commits
   * every mutation in its own transaction (for comparison benchmarks).
   */
  readonly maxGroup?: number;
  /**
   * Local stores, under concurrent writes: a group commit gathers until this long after the previous one
   * started, or until as many mutations wait as the largest recent group wrote (see
   * DEFAULT_GROUP_INTERVAL_MS). Default 10 ms; 0 starts each group as soon as the write before it is done.
   */
  readonly groupIntervalMs?: number;
  /**
   * Called before each mutation a group commit applies: applying runs every change listener, and the daemon
   * answers the DNS queries waiting on its loop here (daemon/dns-first.ts). Default: nothing.
   */
  readonly beforeApply?: () => void;
  /**
   * Whether the event loop's turn has had its share: applying then waits for the next turn after the
   * mutation in hand (at least one is applied per turn). The daemon asks its turn budget
   * (loop-turn.ts). Default: never; slices alone bound a turn.
   */
  readonly turnSpent?: () => boolean;
}

const DEFAULT_MAX_GROUP = 256;
/**
 * Writers that each open a connection (the CLI, a deploy's instances registering themselves) arrive one by
 * one, not together, and the groups that formed behind a fast fsync held two or three of them: under a
 * registration burst, an fsync per two writes, each one a thread-pool round trip and the kernel's journal
 * work on the cores DNS shares (a fifth of a registration's CPU). So once a group wrote more than one
 * record (writers are concurrent), the next one starts this long after it started, filling meanwhile: at
 * most 100 fsyncs a second, for at most this much more latency per write. It starts sooner once as many
 * mutations wait as the largest group of the last second wrote: writers that each keep a connection and
 * send again as soon as they are answered are all back by then, and waiting longer would only cap their
 * rate (at 100 groups a second). A lone writer (groups of one) never waits.
 */
const DEFAULT_GROUP_INTERVAL_MS = 10;
/** How long the largest group counts as what concurrent writers can fill (see DEFAULT_GROUP_INTERVAL_MS). */
const LARGEST_GROUP_MEMORY_MS = 1000;
const noop = (): void => {};
const never = (): boolean => false;
/**
 * Applying a group yields to the event loop after this many mutations, or sooner once the slice has taken
 * APPLY_SLICE_MS (see commitPending). A slice's acknowledgements run right after it, in the same turn, and
 * each costs several times its apply (the response: serialisation, the socket write, DNS served before it,
 * daemon/dns-first.ts), so a slice of 4 keeps the turn to a few milliseconds; 32 made turns of 10-20 ms
 * under a registration burst.
 */
const APPLY_SLICE = 4;
const APPLY_SLICE_MS = 1;


/** A mutation waiting for the next group commit. `prepare` runs when its group forms, against the state then. */
interface PendingMutation {
  /** Which instance it is about (service, ASCII-folded id): decides group membership before preparing. */
  readonly key: string;
  readonly prepare: () => Mutation;
  readonly resolve: (event: ChangeEvent | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The write path: the durable façade over a ServiceRegistry, and the only way the daemon and the control API
 * change state (see docs/ARCHITECTURE.md, "Write path").
 *
 * Every call runs, one at a time, through a single queue: validate (`registry.prepare*`: typed errors,
 * nothing changes) -> preview (the record the mutation leaves) -> durable write of that record -> apply in
 * memory -> acknowledge with the ChangeEvent. The queue makes preview and apply see the same state, so 100
 * concurrent registrations all land (seed mutant B), and nothing is applied or acknowledged before it is
 * durable: a failed write leaves the registry unchanged and rejects the call.
 *
 * On a LocalStore (memory, SQLite), mutations that arrive while a write is in flight are made durable
 * together in one transaction (group commit: one fsync for many callers), still validated, previewed and
 * applied strictly in arrival order.
 *
 * Heartbeats that only move `lastHeartbeat` are not written (after a restart `registry.load()` gives every
 * instance a fresh TTL grace period instead); on a shared store they renew the instance's lease.
 *
 * A SharedStore (etcd) is the source of truth for several nodes. There the node does not apply its own
 * mutation after writing: every change, this node's included, comes back through the store's feed and is
 * applied as a `sync` mutation, so all nodes converge through the same path and in the store's commit
 * order. A call waits for the echo of its own write (echoes.ts) and returns the event applying it produced.
 */
export class DurableRegistry {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private pending: PendingMutation[] = [];
  private readonly unsubscribe: (() => void) | undefined;
  private readonly echoes: EchoWaiters;
  private readonly logger: Logger;
  private readonly maxGroup: number;
  private readonly beforeApply: () => void;
  private readonly turnSpent: () => boolean;
  private readonly groupIntervalMs: number;
  /** When the last group commit that wrote started its write (performance.now()) and how many records it wrote. */
  private lastGroupStart = 0;
  private lastGroupSize = 0;
  /** The largest such group of the last LARGEST_GROUP_MEMORY_MS, and when it started. */
  private largestGroup = 0;
  private largestGroupAt = 0;
  /** The group commit waiting for its interval: it starts once `list` holds `enough`. */
  private gathering: { readonly list: PendingMutation[]; readonly enough: number; readonly start: () => void } | undefined;

  private constructor(
    /** The in-memory registry (read it freely; change it only through this façade). */
    readonly registry: ServiceRegistry,
    /** The durable store. */
    readonly store: Store,
    options: DurableRegistryOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.maxGroup = Math.max(1, options.maxGroup ?? DEFAULT_MAX_GROUP);
    this.beforeApply = options.beforeApply ?? noop;
    this.turnSpent = options.turnSpent ?? never;
    this.groupIntervalMs = Math.max(0, options.groupIntervalMs ?? DEFAULT_GROUP_INTERVAL_MS);
    this.echoes = new EchoWaiters(options.echoTimeoutMs ?? 5_000, (write) => {
      const { service, id } = writeTarget(write);
      this.logger.warn({ service, id }, 'shared store did not echo a write in time; applying it locally');
      return this.applySync(service, id, write.kind === 'put' ? write.record : undefined);
    });
    this.unsubscribe = store.shared ? store.subscribe((event) => this.onStoreEvent(event)) : undefined;
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
    return this.store.shared;
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
        // its heartbeats; its lease is the truth).
        if (!this.owns(mutation.service, mutationId(mutation))) continue;
        await this.commit(mutation);
        if (mutation.type === 'deregister') removed += 1;
      }
      return removed;
    });
  }

  /**
   * Make the registry hold exactly `records` (snapshot restore): instances absent from `records` are removed,
   * the others put as given with a fresh heartbeat time. Records must already be validated. On a local store
   * it is all or nothing (one transaction); on a shared store each instance is one durable write.
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
      if (store.shared) {
        for (const m of mutations) await this.commitShared(store, m);
      } else if (mutations.length > 0) {
        const writes = mutations.map((m, i) => this.writeFor(m, this.registry.preview(m).after, this.registry.index + 1 + i));
        await store.writeBatch(writes);
        for (const m of mutations) this.registry.apply(m);
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
    this.echoes.clear();
    await this.store.close();
  }

  /** Whether this node owns an instance: always on local stores; on shared ones, the store says (etcd leases). */
  owns(service: string, id: string): boolean {
    return this.store.shared ? this.store.isOwner(service, id) : true;
  }

  // ---- internals ----

  /**
   * Queue one mutation: on a shared store, one commit per mutation; on a local store, into the group
   * commit that forms behind the write in flight.
   */
  private submit(service: string, id: unknown, prepare: () => Mutation): Promise<ChangeEvent | undefined> {
    const store = this.store;
    if (store.shared) return this.enqueue(() => this.commitShared(store, prepare()));
    if (this.closed) return Promise.reject(new StoreUnavailableError('the durable registry is closed'));
    const key = keyOf(foldAscii(String(service)), foldAscii(String(id)));
    return new Promise((resolve, reject) => {
      // Join the list of the commit task queued last; if something else was queued since, start a new one,
      // so a mutation never overtakes a sweep or a restore that arrived before it.
      if (this.pending.length === 0) {
        const batch = this.pending;
        void this.queue(() => this.commitPending(store, batch));
      }
      this.pending.push({ key, prepare, resolve, reject });
      const gathering = this.gathering;
      if (gathering !== undefined && gathering.list === this.pending && this.pending.length >= gathering.enough) gathering.start();
    });
  }

  /** Group commit: drain `pending` in groups of mutations on distinct instances. Runs inside the queue. */
  private async commitPending(store: LocalStore, pending: PendingMutation[]): Promise<void> {
    // Until it starts, later submits join `pending` (see DEFAULT_GROUP_INTERVAL_MS).
    await this.groupInterval(pending);
    // Later submits go to a new list behind this task: this one is being drained.
    if (this.pending === pending) this.pending = [];
    while (pending.length > 0) {
      const group: { item: PendingMutation; mutation: Mutation; write: StoreWrite | undefined }[] = [];
      const touched = new Set<string>();
      let nextIndex = this.registry.index + 1;
      while (pending.length > 0 && group.length < this.maxGroup) {
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
        if (writes.length > 0) {
          this.noteGroup(writes.length);
          await store.writeBatch(writes);
        }
      } catch (error) {
        for (const entry of group) entry.item.reject(error); // nothing was applied: the registry is unchanged
        continue;
      }
      // Applied in slices with a turn of the event loop between them: applying a mutation also runs every
      // change listener (DNS view and cache, watchers, workers' stream), and a whole group at once would keep
      // DNS from answering for that long. Each mutation is atomic on its own; the queue keeps other writes out.
      let sliceStart = performance.now();
      let inSlice = 0;
      for (const entry of group) {
        if (inSlice === APPLY_SLICE || (inSlice > 0 && (performance.now() - sliceStart >= APPLY_SLICE_MS || this.spentSafely()))) {
          await yieldToEventLoop(); // lets I/O callbacks (DNS queries) run
          sliceStart = performance.now();
          inSlice = 0;
        }
        inSlice += 1;
        try {
          this.beforeApply();
        } catch (error) {
          // The group is durable: it is applied whatever the hook did.
          this.logger.warn({ err: error }, 'beforeApply hook failed; applying anyway');
        }
        try {
          entry.item.resolve(this.registry.apply(entry.mutation));
        } catch (error) {
          entry.item.reject(error);
        }
      }
    }
  }

  /**
   * Resolves when the group commit of `pending` may start: at once unless writers are concurrent, else at the
   * end of the interval or once `pending` holds as many as the largest recent group; see DEFAULT_GROUP_INTERVAL_MS.
   */
  private async groupInterval(pending: PendingMutation[]): Promise<void> {
    if (this.groupIntervalMs === 0 || this.lastGroupSize < 2) return;
    const waitMs = this.lastGroupStart + this.groupIntervalMs - performance.now();
    const enough = Math.min(this.largestGroup, this.maxGroup);
    if (waitMs <= 0 || pending.length >= enough) return;
    await new Promise<void>((resolve) => {
      const start = (): void => {
        clearTimeout(timer);
        this.gathering = undefined;
        resolve();
      };
      const timer = setTimeout(start, waitMs);
      this.gathering = { list: pending, enough, start };
    });
  }

  /**
   * A group is about to write `records` (one fsync): the spacing counts only groups that write, since a
   * group of heartbeats that only renew TTLs costs no fsync and says nothing of how many writers there are.
   */
  private noteGroup(records: number): void {
    // The monotonic clock: a wall clock set back must neither hold writes nor keep a mark for as long as it moved.
    const now = performance.now();
    this.lastGroupStart = now;
    this.lastGroupSize = records;
    if (records >= this.largestGroup || now - this.largestGroupAt > LARGEST_GROUP_MEMORY_MS) {
      this.largestGroup = records;
      this.largestGroupAt = now;
    }
  }

  /** `turnSpent`, where a throw counts as spent: the durable group must be applied whatever the hook does. */
  private spentSafely(): boolean {
    try {
      return this.turnSpent();
    } catch {
      return true;
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

  /** preview -> write -> apply (local) or await the echo (shared), for one prepared mutation. Runs inside the queue. */
  private async commit(m: Mutation): Promise<ChangeEvent | undefined> {
    const store = this.store;
    if (store.shared) return this.commitShared(store, m);
    const preview = this.registry.preview(m);
    // Heartbeat-only changes are not durable-worthy: apply them (renewing the TTL) without a write.
    if (!preview.visible) return this.registry.apply(m);
    await store.write(this.writeFor(m, preview.after, this.registry.index + 1));
    return this.registry.apply(m);
  }

  /** One mutation on a shared store: renew the lease of a heartbeat, write, and return what its echo applied. */
  private async commitShared(store: SharedStore, m: Mutation): Promise<ChangeEvent | undefined> {
    const preview = this.registry.preview(m);
    if (m.type === 'heartbeat') await store.keepAlive(m.service, m.id);
    if (!preview.visible) return this.registry.apply(m);
    const write = this.writeFor(m, preview.after, this.registry.index + 1);
    const echo = this.echoes.expect(write);
    try {
      await store.write(write);
    } catch (error) {
      this.echoes.cancel(write);
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
    const { service, id } = writeTarget(event);
    let applied: ChangeEvent | undefined;
    try {
      applied = this.applySync(service, id, event.kind === 'put' ? event.record : undefined);
    } catch (error) {
      this.logger.error({ err: error, service, id }, 'could not apply a change from the shared store');
    }
    this.echoes.deliver(event, applied);
  }

  /** Apply a record learned from the store, unless the registry already holds exactly that. */
  private applySync(service: string, id: string, record: InstanceRecord | undefined): ChangeEvent | undefined {
    const current = this.registry.get(service, id);
    if (current === undefined ? record === undefined : record !== undefined && sameRecord(current, record)) return undefined;
    return this.registry.apply(syncMutation(service, id, record, this.registry.clock.now()));
  }
}

function instanceIdOf(instance: ServiceInstance | InstanceInput): unknown {
  return instance !== null && typeof instance === 'object' ? instance.id : undefined;
}

function syncMutation(service: string, id: string, record: InstanceRecord | undefined, at: number): Mutation {
  return { type: 'sync', service, id, record, at };
}

/** One key per (service, id) pair: the service's length first, so no two pairs share a key whatever they contain. */
function keyOf(service: string, id: string): string {
  return `${service.length}:${service}/${id}`;
}
