/**
 * Dynamic zone data in etcd (store/zone-data.ts): one key per RRset, `<root>zone/<owner>/<type>` (owner
 * percent-encoded), whose value is the RRset's TTL and RDATA as JSON. A write of several RRsets is one etcd
 * transaction (all or nothing). Every node follows the prefix with its own watch, in revision order, its own
 * writes included; a write resolves once its change came back (read-your-writes, bounded by the request
 * timeout), as instance writes do (store/etcd.ts). A watch cancelled by etcd (its start revision compacted)
 * is rebuilt from one full read of the prefix, delivering the difference.
 */
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { readPrefixAt, RevisionWaiters } from './etcd-revisions.js';
import type { Logger } from '../log.js';
import { decodeZoneValue, encodeZoneValue, zoneSetKey, type ZoneRecordSet } from './zone-data.js';

/** The key of an RRset under `prefix`. */
export function zoneKey(prefix: string, owner: string, type: number): string {
  return `${prefix}${encodeURIComponent(owner)}/${type}`;
}

/** Inverse of `zoneKey`; undefined for a key of another shape. */
export function parseZoneKey(prefix: string, key: string): { owner: string; type: number } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const type = Number(rest.slice(slash + 1));
  if (!Number.isInteger(type) || type <= 0 || type > 0xffff) return undefined;
  try {
    return { owner: decodeURIComponent(rest.slice(0, slash)), type };
  } catch {
    return undefined;
  }
}

/** How the zone data reaches etcd: the store's client and its bounded `call`. */
export interface EtcdZoneOptions {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly requestTimeoutMs: number;
  readonly call: <T>(what: string, request: Promise<T>) => Promise<T>;
  readonly log: Logger;
}

/** The zone-data half of the etcd store. */
export class EtcdZoneData {
  private readonly listeners = new Set<(set: ZoneRecordSet) => void>();
  /** Keys of the RRsets listeners hold (so a resync knows what to delete). */
  private readonly delivered = new Set<string>();
  private readonly waiters = new RevisionWaiters();
  private watcher: Watcher | undefined;
  private revision = 0;
  private closed = false;

  constructor(private readonly options: EtcdZoneOptions) {}

  /** Every RRset under the prefix at one revision; the watch continues after it. */
  async load(): Promise<readonly ZoneRecordSet[]> {
    const { revision, kvs } = await this.readAll();
    const sets = this.decodeAll(kvs, true);
    if (this.watcher === undefined) {
      this.revision = revision;
      this.delivered.clear();
      for (const set of sets) this.delivered.add(zoneSetKey(set));
    }
    return sets;
  }

  /** One transaction for every RRset; resolves once committed and seen on this node's watch. */
  async write(sets: readonly ZoneRecordSet[]): Promise<void> {
    if (sets.length === 0) return;
    const { client, prefix, call } = this.options;
    const deadline = Date.now() + this.options.requestTimeoutMs;
    const success = sets.map((set) => {
      const key = Buffer.from(zoneKey(prefix, set.owner, set.type));
      return set.rdata.length === 0 ? { request_delete_range: { key } } : { request_put: { key, value: Buffer.from(encodeZoneValue(set)) } };
    });
    const response = await call('zone write', client.kv.txn({ success }));
    // Deletes of absent RRsets change nothing and produce no event: nothing to wait for then.
    const changed = sets.some((set, i) => set.rdata.length > 0 || Number(response.responses[i]?.response_delete_range?.deleted ?? 0) > 0);
    if (changed) await this.waitSeen(Number(response.header.revision), deadline - Date.now());
  }

  /** Follow every change after the last load (or, without one, everything, delivered first). */
  subscribe(listener: (set: ZoneRecordSet) => void): () => void {
    this.listeners.add(listener);
    if (this.watcher === undefined) this.openWatcher(this.revision + 1);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Stop watching. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiters.releaseAll();
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher !== undefined) await this.options.call('zone watch cancel', watcher.cancel()).catch(() => undefined);
  }

  private readAll(): Promise<{ revision: number; kvs: IKeyValue[] }> {
    return readPrefixAt(this.options.client, this.options.prefix, this.options.call, 'zone read');
  }

  /** Decode RRsets; a bad one rejects a load (`strict`) or is logged and skipped (a watch). */
  private decodeAll(kvs: readonly IKeyValue[], strict: boolean): ZoneRecordSet[] {
    const sets: ZoneRecordSet[] = [];
    for (const kv of kvs) {
      const set = this.decode(kv, strict);
      if (set) sets.push(set);
    }
    return sets;
  }

  private decode(kv: IKeyValue, strict: boolean): ZoneRecordSet | undefined {
    const key = kv.key.toString();
    const where = parseZoneKey(this.options.prefix, key);
    if (where === undefined) {
      this.options.log.warn({ key }, 'ignoring a key under the zone prefix that is not an RRset key');
      return undefined;
    }
    try {
      return decodeZoneValue(where.owner, where.type, kv.value.toString(), `etcd key ${key}`);
    } catch (error) {
      if (strict) throw error;
      this.options.log.error({ err: error, key }, 'corrupt zone RRset in etcd; ignoring it');
      return undefined;
    }
  }

  private openWatcher(fromRevision: number): void {
    if (this.closed) return;
    const watcher = this.options.client.watch().prefix(this.options.prefix).startRevision(String(fromRevision)).watcher();
    this.watcher = watcher;
    watcher.on('disconnected', () => {
      // Resume right after what was delivered (see the same rule in store/etcd.ts).
      watcher.request.start_revision = String(this.revision + 1);
    });
    watcher.on('data', (response: IWatchResponse) => this.onResponse(response));
    watcher.on('error', (error: unknown) => {
      this.options.log.warn({ err: error }, 'etcd zone watch cancelled; reading the zone prefix again');
      if (this.watcher === watcher) this.watcher = undefined;
      void this.resync();
    });
  }

  private onResponse(response: IWatchResponse): void {
    const floor = this.revision;
    let highest = floor;
    for (const event of response.events) {
      const revision = Number(event.kv.mod_revision);
      if (revision <= floor) continue;
      highest = Math.max(highest, revision);
      const where = parseZoneKey(this.options.prefix, event.kv.key.toString());
      if (where === undefined) continue;
      const set = event.type === 'Put' ? this.decode(event.kv, false) : undefined;
      this.emit(set ?? { owner: where.owner, type: where.type, ttl: 0, rdata: [] });
    }
    // Not the header's revision: a catching-up watch may see it before the events it covers.
    this.advance(highest);
  }

  /** Rebuild after a cancelled watch: read everything, deliver the difference, watch on. */
  private async resync(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const { revision, kvs } = await this.readAll();
        const present = new Set<string>();
        for (const set of this.decodeAll(kvs, false)) {
          present.add(zoneSetKey(set));
          this.emit(set);
        }
        for (const key of [...this.delivered]) {
          if (present.has(key)) continue;
          const [owner = '', type = '0'] = key.split('\u0000');
          this.emit({ owner, type: Number(type), ttl: 0, rdata: [] });
        }
        this.advance(revision);
        this.openWatcher(revision + 1);
        return;
      } catch (error) {
        this.options.log.warn({ err: error, attempt }, 'etcd zone reload failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * 2 ** attempt)));
      }
    }
  }

  private emit(set: ZoneRecordSet): void {
    if (set.rdata.length === 0) this.delivered.delete(zoneSetKey(set));
    else this.delivered.add(zoneSetKey(set));
    for (const listener of this.listeners) listener(set);
  }

  private advance(revision: number): void {
    if (revision <= this.revision) return;
    this.revision = revision;
    this.waiters.release(revision);
  }

  private async waitSeen(revision: number, withinMs: number): Promise<void> {
    if (this.listeners.size === 0 || this.revision >= revision || this.closed || withinMs <= 0) return;
    await this.waiters.wait(revision, withinMs);
  }
}
