/**
 * Dynamic zone data wired to the store (docs/ARCHITECTURE.md, "Dynamic zone data"): loaded at start into a
 * DynamicZone, written by DNS UPDATE through `write`. On a local store (memory, SQLite) a write is made durable,
 * then applied; on a shared store (etcd) every change, this node's included, arrives through the store's zone
 * feed and is applied in commit order, and a write resolves once its change came back.
 */
import { DynamicZone, type DynamicRRset } from '../dns/dynamic-zone.js';
import type { Name } from '../dns/name.js';
import type { DaemonStore } from './store.js';

/** The zone data of a running daemon. */
export interface ZoneData {
  readonly zone: DynamicZone;
  /** Make RRsets durable (all or nothing) and applied; rejects (changing nothing) when the store fails. */
  write(sets: readonly DynamicRRset[]): Promise<void>;
  /**
   * Run `task` alone among the writers that read the zone data, then write what they read it to be (DNS
   * UPDATE, the control API's deletions and restores), so none plans from data another is still writing.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  /** Stop following the store's feed. */
  close(): void;
}

/** Load the store's zone data for `domain` and keep it following the store. */
export async function openZoneData(store: DaemonStore, domain: Name): Promise<ZoneData> {
  const zone = new DynamicZone(domain);
  zone.apply(await store.loadZone());
  const exclusive = mutex();
  if (store.shared) {
    const stop = store.subscribeZone((set) => zone.apply([set]));
    return { zone, write: (sets) => store.writeZone(sets), exclusive, close: stop };
  }
  return {
    zone,
    exclusive,
    async write(sets) {
      await store.writeZone(sets);
      zone.apply(sets);
    },
    close: () => undefined,
  };
}

/** One task at a time, in call order; a task's failure is its caller's and does not stop the next. */
function mutex(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}
