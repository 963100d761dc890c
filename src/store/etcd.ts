/**
 * The etcd store: several Beacon nodes share one registry kept in an etcd cluster (the way CoreDNS and
 * SkyDNS use etcd), with etcd leases doing the work of heartbeats.
 *
 * Layout (under a root, default `/beacon/v1/`). One key per instance, `<root>instances/<service>/<id>`
 * (both segments percent-encoded, see etcd-codec.ts), whose value is the InstanceRecord as JSON and which
 * is attached to its own lease; and `<root>index`, the registry change index of the last write (written in
 * the same transaction), which `load()` returns so a node's index continues where the cluster's left off.
 * Events carry the etcd revision of their change as `index`.
 *
 * Ownership model.
 * - The owner of an instance is the node that created its key, i.e. that granted the lease the key is
 *   attached to. Later writes by any node (re-registration, maintenance) keep the key's lease
 *   (`ignore_lease`), so ownership does not move; it ends when the key is deleted or its lease expires.
 * - Liveness is the lease. A heartbeat instance's lease has the instance's TTL (whole seconds, at least 2)
 *   and is renewed by `keepAlive(service, id)` (a heartbeat), which any node may send since a renewal
 *   names the lease, not its owner, and by a write carrying a newer heartbeat time (a re-registration).
 *   A missed TTL therefore removes the instance (etcd deletes the key); unlike the embedded stores there
 *   is no unhealthy-then-critical period for heartbeat instances. An actively checked (HTTP/TCP) instance's lease has `checkLeaseTtlMs` and is renewed by its
 *   owner for as long as the owner runs. When heartbeats stop, or the owner dies, etcd deletes the key, and
 *   every node, the owner included, sees the delete through its watch: expiry is done once, by etcd,
 *   consistently for all nodes.
 * - Health results (active checks, heartbeat pass/fail, TTL misses) are written by the owner only
 *   (`isOwner(service, id)`); other nodes take them from the watch. Nodes that do not own an instance must
 *   not expire it from their local clocks: its lease is the single source of truth for its liveness.
 * - Every node applies every change, its own writes included, from its watch, in etcd revision order
 *   (`subscribe`). `write` resolves once etcd has committed the change and, when this node is subscribed,
 *   once the node has seen it come back (read-your-writes), bounded by the request timeout.
 *
 * Unavailability. Reads (DNS) keep answering from the last known state; `stale` turns true while the watch
 * is disconnected or a periodic linearizable probe fails (a hung member, no leader), and `onStaleChange`
 * tells the daemon, which logs and exports a metric. Writes and keep-alives fail fast with
 * StoreUnavailableError (at most `requestTimeoutMs`), never hang. On reconnection the watch resumes from
 * the last revision this node delivered (no full reload); only if that revision was compacted meanwhile
 * does the node read the whole prefix once and deliver the difference.
 */
import { Etcd3, type IKeyValue, type IOptions, type IRequestOp as RequestOp, type IWatchResponse, type Watcher } from 'etcd3';
import { readPrefixAt, RevisionWaiters } from './etcd-revisions.js';
import { InstanceNotFoundError, StoreCorruptError, StoreUnavailableError, isBeaconError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { isActiveCheck } from '../registry/liveness.js';
import type { InstanceRecord } from '../registry/types.js';
import {
  DEFAULT_ETCD_ROOT,
  decodeInstanceValue,
  etcdLayout,
  instanceKey,
  leaseTtlSeconds,
  parseInstanceKey,
} from './etcd-codec.js';
import { encodeRecord } from './record-codec.js';
import type { SharedStore, StoreEvent, StoreSnapshot, StoreWrite } from './store.js';
import type { SharedZoneStore, ZoneRecordSet } from './zone-data.js';
import { EtcdZoneData } from './etcd-zone.js';

/** Options of the etcd store. */
export interface EtcdStoreOptions {
  /** etcd client URLs, e.g. `['http://127.0.0.1:2379']`. */
  readonly endpoints: readonly string[];
  /** Root of Beacon's keys; default `/beacon/v1/`. Must start and end with `/`. */
  readonly root?: string;
  /** Lease TTL of heartbeat instances that set no TTL (the registry's `defaultTtlMs`). Default 30 s. */
  readonly defaultTtlMs?: number;
  /** Lease TTL of actively checked instances, renewed by their owner every third of it. Default 10 s. */
  readonly checkLeaseTtlMs?: number;
  /** Bound on every etcd request; a write that takes longer fails with StoreUnavailableError. Default 2 s. */
  readonly requestTimeoutMs?: number;
  /**
   * While subscribed, probe etcd this often with a linearizable read; a failing probe marks the node stale
   * even when the watch stream looks connected (a hung member, a member without a leader). Default 2 s.
   */
  readonly probeIntervalMs?: number;
  /** Upper bound of the reconnection backoff (gRPC channel and watch). Default 1 s. */
  readonly maxReconnectDelayMs?: number;
  /** Logger (a child `module: store-etcd` is made); silent by default. */
  readonly logger?: Logger;
}

/** What this node knows of a key: its lease, the revision that last wrote it, the heartbeat time it holds. */
interface KnownKey {
  readonly lease: string;
  readonly modRevision: number;
  readonly lastHeartbeat: number | undefined;
}

/** A lease this node granted (so owns). */
interface OwnedLease {
  readonly key: string;
  readonly ttlSeconds: number;
  /** Renewed by this node's timer (actively checked instance) rather than by heartbeats. */
  renewedByOwner: boolean;
}

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** Exponential backoff from `initialMs` doubling up to `maxMs` (etcd3's default climbs to 30 s). */
function cappedBackoff(initialMs: number, maxMs: number): WatchBackoff {
  const step = (duration: number): ReturnType<WatchBackoff['next']> => ({ duration, next: () => step(Math.min(maxMs, duration * 2)) });
  const first = Math.min(initialMs, maxMs);
  return { duration: first, next: () => step(first) }; // etcd3 calls next() before the first wait
}

/** A Store on etcd (v3 API, npm `etcd3`): shared by every Beacon node pointed at the same cluster and prefix. */
export class EtcdStore implements SharedStore, SharedZoneStore {
  /** Backend name. */
  readonly kind = 'etcd';
  /** Every node pointed at the same cluster and root writes it. */
  readonly shared = true;
  /** Key prefix of the instances (`<root>instances/`). */
  readonly prefix: string;
  /** Key of the change index (`<root>index`). */
  readonly indexKey: string;
  /** Dynamic zone data, under `<root>zone/` (etcd-zone.ts). */
  private readonly zoneData: EtcdZoneData;
  private readonly client: Etcd3;
  private readonly log: Logger;
  private readonly defaultTtlMs: number;
  private readonly checkLeaseTtlMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxReconnectDelayMs: number;
  private readonly probeIntervalMs: number;
  private readonly known = new Map<string, KnownKey>();
  /** key -> mod revision of the last put delivered to listeners (or returned by load). */
  private readonly delivered = new Map<string, number>();
  private readonly owned = new Map<string, OwnedLease>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly staleListeners = new Set<(stale: boolean) => void>();
  private readonly waiters = new RevisionWaiters();
  private renewalBatch: Map<string, { resolve: (ttl: number) => void; reject: (error: unknown) => void }[]> | undefined;
  private watcher: Watcher | undefined;
  private resyncTask: Promise<void> | undefined;
  private ownerTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private watchDown = false;
  private probeFailing = false;
  private revision = 0;
  private reloads = 0;
  private loaded = false;
  private isStale = false;
  private closed = false;

  constructor(options: EtcdStoreOptions) {
    const layout = etcdLayout(options.root ?? DEFAULT_ETCD_ROOT);
    this.prefix = layout.prefix;
    this.indexKey = layout.indexKey;
    if (options.endpoints.length === 0) throw new RangeError('etcd store needs at least one endpoint');
    this.defaultTtlMs = options.defaultTtlMs ?? 30_000;
    this.checkLeaseTtlMs = options.checkLeaseTtlMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 1_000;
    this.probeIntervalMs = options.probeIntervalMs ?? 2_000;
    this.log = (options.logger ?? silentLogger).child({ module: 'store-etcd' });
    // Each attempt of a unary call gets a quarter of the request's budget. etcd3 sends a call to one member
    // picked at random and, on a recoverable error (a deadline exceeded is one), retries it on another (three
    // attempts); its per-member circuit breaker skips a member after three consecutive failures. With the
    // whole budget per attempt, a call that first picked a hung (SIGSTOPped) member spent all of it waiting
    // there and failed although a quorum answered; with a quarter, it moves on in time. `call` still bounds
    // the whole request by `requestTimeoutMs`.
    const attemptTimeout = Math.max(100, Math.floor(this.requestTimeoutMs / 4));
    this.client = new Etcd3({
      hosts: [...options.endpoints],
      dialTimeout: attemptTimeout,
      // Unary calls get a deadline so a dead cluster fails them instead of queueing them forever.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + attemptTimeout }),
      grpcOptions: {
        // gRPC's default reconnect backoff grows to 120 s; nodes must notice a returning cluster quickly.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': this.maxReconnectDelayMs,
        // etcd's default keepalive enforcement allows pings every 5 s; 10 s detects silent peers.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
      faultHandling: { watchBackoff: cappedBackoff(100, this.maxReconnectDelayMs) },
    });
    this.zoneData = new EtcdZoneData({ client: this.client, prefix: layout.zonePrefix, requestTimeoutMs: this.requestTimeoutMs, call: (what, request) => this.call(what, request), log: this.log });
  }

  /** Every RRset of dynamic zone data (etcd-zone.ts). */
  async loadZone(): Promise<readonly ZoneRecordSet[]> {
    this.assertOpen();
    return this.zoneData.load();
  }

  /** Replace RRsets in one transaction; resolves once this node's zone watch saw it. */
  async writeZone(sets: readonly ZoneRecordSet[]): Promise<void> {
    this.assertOpen();
    return this.zoneData.write(sets);
  }

  /** Every zone RRset change by any node, in revision order, after the last `loadZone`. */
  subscribeZone(listener: (set: ZoneRecordSet) => void): () => void {
    this.assertOpen();
    return this.zoneData.subscribe(listener);
  }

  /**
   * True while the watch is disconnected or the periodic probe fails: reads answer from the last known
   * state, which may be old.
   */
  get stale(): boolean {
    return this.isStale;
  }

  /** The last etcd revision this node has loaded or delivered. */
  get lastRevision(): number {
    return this.revision;
  }

  /** How many times the watch had to be rebuilt from a full read (first subscription without load, compaction). */
  get reloadCount(): number {
    return this.reloads;
  }

  /** Call `listener` each time `stale` flips. Returns an unsubscribe function. */
  onStaleChange(listener: (stale: boolean) => void): () => void {
    this.staleListeners.add(listener);
    return () => this.staleListeners.delete(listener);
  }

  /** Does this node own the instance (hold its lease)? Only owners write health results. */
  isOwner(service: string, id: string): boolean {
    const known = this.known.get(instanceKey(this.prefix, service, id));
    return known !== undefined && this.owned.has(known.lease);
  }

  /** Read every instance under the prefix (paged, at one revision) and the change index at that revision. */
  async load(): Promise<StoreSnapshot> {
    this.assertOpen();
    const { revision, kvs } = await this.readAll();
    const indexKv = (await this.call('read', this.client.kv.range({ key: Buffer.from(this.indexKey), revision }))).kvs[0];
    const index = indexKv === undefined ? 0 : Number(indexKv.value.toString());
    if (!Number.isSafeInteger(index) || index < 0) throw new StoreCorruptError(`etcd key ${this.indexKey}: not a change index`);
    const records: InstanceRecord[] = [];
    const entries: { key: string; kv: IKeyValue; lastHeartbeat: number }[] = [];
    for (const kv of kvs) {
      const key = kv.key.toString();
      const where = parseInstanceKey(this.prefix, key);
      if (where === undefined) {
        this.log.warn({ key }, 'ignoring a key under the prefix that is not an instance key');
        continue;
      }
      const record = decodeInstanceValue(key, kv.value.toString(), where); // corrupt data rejects the whole load
      records.push(record);
      entries.push({ key, kv, lastHeartbeat: record.lastHeartbeat });
    }
    // Once watching, the watch owns this node's view; a later load is a plain read.
    if (this.watcher === undefined && this.resyncTask === undefined) {
      this.known.clear();
      this.delivered.clear();
      for (const { key, kv, lastHeartbeat } of entries) {
        this.noteKey(key, kv.lease, Number(kv.mod_revision), lastHeartbeat);
        this.delivered.set(key, Number(kv.mod_revision));
      }
      this.revision = revision;
      this.loaded = true;
    }
    return { index, records };
  }

  /** Make one write durable in etcd (the StoreWrite's index is this node's and is not stored). */
  async write(change: StoreWrite): Promise<void> {
    this.assertOpen();
    const deadline = Date.now() + this.requestTimeoutMs;
    const index = { request_put: { key: Buffer.from(this.indexKey), value: Buffer.from(String(change.index)) } };
    // One deadline for the whole write (a put may take a lease grant and a transaction), its echo included.
    const revision = await this.call(
      'write',
      change.kind === 'put' ? this.put(change.record, index) : this.remove(change.service, change.id, index),
    );
    if (revision !== undefined) await this.waitDelivered(revision, deadline - Date.now());
  }

  /**
   * Every change under the prefix, by any node, in revision order. The watch starts after the loaded
   * revision; without a prior `load()`, existing instances are delivered first as puts.
   */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.assertOpen();
    this.listeners.add(listener);
    this.ensureProbe();
    if (this.watcher === undefined && this.resyncTask === undefined) {
      if (this.loaded) this.openWatcher(this.revision + 1);
      else this.resync();
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Renew the instance's lease (a heartbeat). Any node may renew any instance. Rejects with
   * InstanceNotFoundError when etcd no longer has it (expired), StoreUnavailableError when etcd is away.
   */
  async keepAlive(service: string, id: string): Promise<void> {
    this.assertOpen();
    const key = instanceKey(this.prefix, service, id);
    let lease = this.known.get(key)?.lease;
    if (lease === undefined) {
      const response = await this.call('read', this.client.kv.range({ key: Buffer.from(key) }));
      const kv = response.kvs[0];
      if (kv === undefined) throw new InstanceNotFoundError(service, id);
      lease = kv.lease;
      this.noteKey(key, lease, Number(kv.mod_revision));
    }
    if (lease === '0') return; // written without a lease (by hand): nothing to renew
    if ((await this.renewSoon(lease)) <= 0) throw new InstanceNotFoundError(service, id);
  }

  /** Stop watching and renewing, close the client. Owned leases are left to expire. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownerTimer !== undefined) clearInterval(this.ownerTimer);
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.ownerTimer = undefined;
    this.probeTimer = undefined;
    this.waiters.releaseAll();
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher !== undefined) await this.call('watch cancel', watcher.cancel()).catch(() => undefined);
    await this.zoneData.close();
    this.client.close();
  }

  // ---- writes -------------------------------------------------------------------------------------

  private async put(record: InstanceRecord, index: RequestOp): Promise<number> {
    const key = instanceKey(this.prefix, record.service, record.spec.id);
    const keyBytes = Buffer.from(key);
    const value = Buffer.from(encodeRecord(record));
    const ttlSeconds = leaseTtlSeconds(record, this.defaultTtlMs, this.checkLeaseTtlMs);
    const renewedByOwner = isActiveCheck(record.spec.check);
    const known = this.known.get(key);
    const ownedLease = known === undefined ? undefined : this.owned.get(known.lease);
    // Keep the key's lease (and owner) unless we own it and the instance now wants another TTL.
    if (known !== undefined && known.lease !== '0' && (ownedLease === undefined || ownedLease.ttlSeconds === ttlSeconds)) {
      const response = await this.call(
        'put',
        this.client.kv.txn({
          compare: [{ key: keyBytes, target: 'Version', result: 'Greater', version: 0 }],
          success: [{ request_put: { key: keyBytes, value, ignore_lease: true } }, index],
          failure: [],
        }),
      );
      if (response.succeeded) {
        if (ownedLease !== undefined) ownedLease.renewedByOwner = renewedByOwner;
        const revision = Number(response.header.revision);
        this.noteKey(key, known.lease, revision, record.lastHeartbeat);
        // A newer heartbeat time (a re-registration) is a sign of life: renew the kept lease too.
        if (!renewedByOwner && record.lastHeartbeat > (known.lastHeartbeat ?? -Infinity)) {
          await this.renewSoon(known.lease).catch((error: unknown) => this.log.debug({ err: error, key }, 'lease renewal after a write failed'));
        }
        return revision;
      }
      // The key vanished meanwhile (its lease expired): create it anew, owned by this node.
    }
    const lease = (await this.call('lease grant', this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }))).ID;
    let revision: number;
    try {
      const response = await this.call('put', this.client.kv.txn({ success: [{ request_put: { key: keyBytes, value, lease } }, index] }));
      revision = Number(response.header.revision);
    } catch (error) {
      this.revokeQuietly(lease);
      throw error;
    }
    this.owned.set(lease, { key, ttlSeconds, renewedByOwner });
    if (ownedLease !== undefined && known !== undefined && known.lease !== lease) {
      // The key moved to the new lease, so revoking the old one deletes nothing.
      this.owned.delete(known.lease);
      this.revokeQuietly(known.lease);
    }
    this.noteKey(key, lease, revision, record.lastHeartbeat);
    this.ensureOwnerTimer();
    return revision;
  }

  private async remove(service: string, id: string, index: RequestOp): Promise<number | undefined> {
    const key = instanceKey(this.prefix, service, id);
    const response = await this.call('delete', this.client.kv.txn({ success: [{ request_delete_range: { key: Buffer.from(key) } }, index] }));
    const deleted = Number(response.responses[0]?.response_delete_range.deleted ?? 0);
    const known = this.known.get(key);
    if (known !== undefined && this.owned.has(known.lease)) {
      this.owned.delete(known.lease);
      this.revokeQuietly(known.lease);
    }
    this.known.delete(key);
    // Nothing deleted: no event will come back, so there is nothing to wait for.
    return deleted > 0 ? Number(response.header.revision) : undefined;
  }

  private revokeQuietly(lease: string): void {
    this.client.leaseClient.leaseRevoke({ ID: lease }).catch((error: unknown) => this.log.debug({ lease, err: error }, 'lease revoke failed (it will expire)'));
  }

  /**
   * Heartbeats arriving together share one keep-alive stream: renewals asked for in the same tick are sent
   * in one batch. Resolves with the lease's remaining TTL in seconds (0 or less: the lease is gone).
   */
  private renewSoon(lease: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const batch = this.renewalBatch ?? new Map<string, { resolve: (ttl: number) => void; reject: (error: unknown) => void }[]>();
      if (this.renewalBatch === undefined) {
        this.renewalBatch = batch;
        setImmediate(() => {
          this.renewalBatch = undefined;
          this.keepAliveLeases([...batch.keys()]).then(
            (ttls) => {
              for (const [id, waiters] of batch) for (const waiter of waiters) waiter.resolve(ttls.get(id) ?? 0);
            },
            (error: unknown) => {
              for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
            },
          );
        });
      }
      const waiters = batch.get(lease) ?? [];
      waiters.push({ resolve, reject });
      batch.set(lease, waiters);
    });
  }

  /** Renew leases over one keep-alive stream; resolves with each lease's remaining TTL (0 = gone). */
  private async keepAliveLeases(leases: readonly string[]): Promise<Map<string, number>> {
    const pending = new Set(leases);
    const ttls = new Map<string, number>();
    if (pending.size === 0) return ttls;
    const stream = await this.call('lease keep-alive', this.client.leaseClient.leaseKeepAlive());
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return; // late data or errors of an ended stream are not ours
        settled = true;
        clearTimeout(timer);
        stream.end();
        if (error === undefined) resolve(ttls);
        else reject(error);
      };
      const timer = setTimeout(
        () => finish(new StoreUnavailableError(`etcd lease keep-alive timed out after ${this.requestTimeoutMs} ms`)),
        this.requestTimeoutMs,
      );
      stream.on('data', (response) => {
        ttls.set(response.ID, Number(response.TTL));
        pending.delete(response.ID);
        if (pending.size === 0) finish();
      });
      stream.on('error', (error: unknown) => finish(new StoreUnavailableError('etcd lease keep-alive failed', { cause: error })));
      for (const lease of pending) stream.write({ ID: lease });
    });
  }

  /** Renew the leases of this node's actively checked instances every third of their TTL. */
  private ensureOwnerTimer(): void {
    if (this.ownerTimer !== undefined || this.closed) return;
    this.ownerTimer = setInterval(() => void this.renewOwnedLeases(), Math.max(500, Math.floor(this.checkLeaseTtlMs / 3)));
    this.ownerTimer.unref();
  }

  private async renewOwnedLeases(): Promise<void> {
    const leases: string[] = [];
    for (const [lease, owned] of this.owned) {
      if (this.known.get(owned.key)?.lease !== lease) {
        // Another write moved the key to another lease: this one guards nothing any more.
        this.owned.delete(lease);
        this.revokeQuietly(lease);
      } else if (owned.renewedByOwner) {
        leases.push(lease);
      }
    }
    try {
      const ttls = await this.keepAliveLeases(leases);
      for (const [lease, ttl] of ttls) {
        if (ttl <= 0) {
          this.log.warn({ key: this.owned.get(lease)?.key, lease }, 'owned lease expired in etcd; its instance is gone');
          this.owned.delete(lease);
        }
      }
    } catch (error) {
      // etcd away: keep trying every period. etcd extends leases when it comes back (new leader).
      this.log.debug({ err: error }, 'owner lease renewal failed');
    }
  }

  // ---- reads and the watch ------------------------------------------------------------------------

  /** Read the whole prefix at one revision, in pages (one huge range would exceed gRPC's message limit). */
  private readAll(): Promise<{ revision: number; kvs: IKeyValue[] }> {
    return readPrefixAt(this.client, this.prefix, (what, request) => this.call(what, request), 'read');
  }

  private openWatcher(fromRevision: number): void {
    if (this.closed) return;
    const watcher = this.client.watch().prefix(this.prefix).startRevision(String(fromRevision)).watcher();
    this.watcher = watcher;
    watcher.on('connected', () => this.setWatchDown(false));
    watcher.on('disconnected', (error: unknown) => {
      this.log.warn({ err: error }, 'etcd watch disconnected; answering from the last known state');
      this.setWatchDown(true);
      // Resume right after the last revision we delivered. etcd3 would resume after the last response
      // *header* revision, which a catching-up watch can receive before the events it covers.
      watcher.request.start_revision = String(this.revision + 1);
    });
    watcher.on('data', (response: IWatchResponse) => this.onWatchResponse(response));
    watcher.on('error', (error: unknown) => {
      // etcd cancelled the watch, typically because its start revision was compacted: reload once.
      this.log.warn({ err: error }, 'etcd watch cancelled; reloading the prefix once');
      // etcd3 has already dropped this watcher (cancelling it again would wait for an 'end' that never comes).
      if (this.watcher === watcher) this.watcher = undefined;
      this.setWatchDown(true);
      this.resync();
    });
  }

  private onWatchResponse(response: IWatchResponse): void {
    const floor = this.revision; // events of one revision always arrive in one response
    let highest = floor;
    for (const event of response.events) {
      const revision = Number(event.kv.mod_revision);
      if (revision <= floor) continue; // already delivered (a resumed watch may replay)
      highest = Math.max(highest, revision);
      const key = event.kv.key.toString();
      const where = parseInstanceKey(this.prefix, key);
      if (where === undefined) continue;
      if (event.type === 'Put') {
        let record: InstanceRecord;
        try {
          record = decodeInstanceValue(key, event.kv.value.toString(), where);
        } catch (error) {
          this.log.error({ err: error, key }, 'corrupt instance in etcd; treating it as absent');
          this.forget(key, revision, where, revision);
          continue;
        }
        this.noteKey(key, event.kv.lease, revision, record.lastHeartbeat);
        this.delivered.set(key, revision);
        this.emit({ kind: 'put', index: revision, record });
      } else {
        this.forget(key, revision, where, revision);
      }
    }
    this.advance(highest);
  }

  /** A key is gone at `revision`: drop what we know and tell listeners if they had it. */
  private forget(key: string, revision: number, where: { service: string; id: string }, index: number): void {
    const known = this.known.get(key);
    if (known !== undefined && known.modRevision <= revision) {
      this.known.delete(key);
      this.owned.delete(known.lease);
    }
    if (this.delivered.delete(key)) this.emit({ kind: 'delete', index, service: where.service, id: where.id });
  }

  /**
   * Read the whole prefix and deliver the difference with what listeners have seen, then watch from
   * there. Used for the first subscription without a load, and after a compacted watch. Retries with
   * backoff while etcd is away.
   */
  private resync(): void {
    if (this.resyncTask !== undefined || this.closed) return;
    this.resyncTask = (async () => {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          const { revision, kvs } = await this.readAll();
          if (this.closed) return;
          this.reloads += 1;
          this.applyDifference(revision, kvs);
          this.openWatcher(revision + 1);
          return;
        } catch (error) {
          this.log.warn({ err: error, attempt }, 'etcd reload failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, Math.min(this.maxReconnectDelayMs, 100 * 2 ** attempt)));
        }
      }
    })().finally(() => {
      this.resyncTask = undefined;
    });
  }

  private applyDifference(revision: number, kvs: readonly IKeyValue[]): void {
    const present = new Set<string>();
    for (const kv of kvs) {
      const key = kv.key.toString();
      const where = parseInstanceKey(this.prefix, key);
      if (where === undefined) continue;
      const modRevision = Number(kv.mod_revision);
      let record: InstanceRecord;
      try {
        record = decodeInstanceValue(key, kv.value.toString(), where);
      } catch (error) {
        this.log.error({ err: error, key }, 'corrupt instance in etcd; treating it as absent');
        continue;
      }
      present.add(key);
      this.noteKey(key, kv.lease, modRevision, record.lastHeartbeat);
      if (this.delivered.get(key) === modRevision) continue;
      this.delivered.set(key, modRevision);
      this.emit({ kind: 'put', index: modRevision, record });
    }
    for (const key of [...this.delivered.keys()]) {
      const where = parseInstanceKey(this.prefix, key);
      if (!present.has(key) && where !== undefined) this.forget(key, revision, where, revision);
    }
    this.loaded = true;
    this.advance(revision);
  }

  private noteKey(key: string, lease: string, modRevision: number, lastHeartbeat?: number): void {
    const known = this.known.get(key);
    if (known === undefined || known.modRevision <= modRevision) this.known.set(key, { lease, modRevision, lastHeartbeat });
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error }, 'store event listener threw');
      }
    }
  }

  private advance(revision: number): void {
    if (revision <= this.revision) return;
    this.revision = revision;
    this.waiters.release(revision);
  }

  /** Read-your-writes: when subscribed, wait (at most `withinMs`) until the watch delivered `revision`; the write is committed either way. */
  private async waitDelivered(revision: number, withinMs = this.requestTimeoutMs): Promise<void> {
    if (this.listeners.size === 0 || this.revision >= revision || this.closed || withinMs <= 0) return;
    await this.waiters.wait(revision, withinMs, () => this.log.debug({ revision }, 'write committed but not yet seen on the watch'));
  }

  private setWatchDown(down: boolean): void {
    this.watchDown = down;
    this.setStale(this.watchDown || this.probeFailing);
  }

  /** Probe etcd periodically while subscribed (see `probeIntervalMs`). */
  private ensureProbe(): void {
    if (this.probeTimer !== undefined || this.closed || this.probeIntervalMs <= 0) return;
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      // Linearizable (the default): it needs a leader and a quorum, which a connected stream does not prove.
      await this.call('probe', this.client.kv.range({ key: Buffer.from(this.indexKey), keys_only: true, limit: 1 }));
      this.probeFailing = false;
    } catch (error) {
      if (!this.probeFailing) this.log.warn({ err: error }, 'etcd probe failed');
      this.probeFailing = true;
    } finally {
      this.probing = false;
    }
    this.setStale(this.watchDown || this.probeFailing);
  }

  private setStale(stale: boolean): void {
    if (stale === this.isStale || this.closed) return;
    this.isStale = stale;
    if (stale) this.log.warn('etcd unreachable: serving the last known state (stale)');
    else this.log.info('etcd reachable again: state is live');
    for (const listener of this.staleListeners) {
      try {
        listener(stale);
      } catch (error) {
        this.log.error({ err: error }, 'stale listener threw');
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('etcd store is closed');
  }

  /** Bound an etcd call by the request timeout and turn its failures into StoreUnavailableError. */
  private async call<T>(what: string, request: Promise<T>): Promise<T> {
    request.catch(() => undefined); // a request that loses the race must not become an unhandled rejection
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`etcd ${what} timed out after ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
    });
    try {
      return await Promise.race([request, timeout]);
    } catch (error) {
      if (isBeaconError(error)) throw error;
      throw new StoreUnavailableError(`etcd ${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
