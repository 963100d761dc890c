/**
 * What the etcd store's two halves (instances in store/etcd.ts, dynamic zone data in store/etcd-zone.ts)
 * share about revisions: one consistent read of a key prefix, and read-your-writes waiters released as
 * the watch delivers revisions.
 */
import { Range, type Etcd3, type IKeyValue } from 'etcd3';

/** Keys per range request: a large prefix is read in pages, all at the first page's revision. */
const RANGE_PAGE_SIZE = 1000;

/** Every key under `prefix` at one revision (the first page's), read in pages through the bounded `call`. */
export async function readPrefixAt(
  client: Etcd3,
  prefix: string,
  call: <T>(what: string, request: Promise<T>) => Promise<T>,
  what: string,
): Promise<{ revision: number; kvs: IKeyValue[] }> {
  const range = Range.prefix(prefix);
  const kvs: IKeyValue[] = [];
  let start = range.start;
  let revision: string | undefined;
  for (;;) {
    const response = await call(what, client.kv.range({ key: start, range_end: range.end, limit: RANGE_PAGE_SIZE, revision }));
    revision ??= response.header.revision;
    kvs.push(...response.kvs);
    const last = response.kvs[response.kvs.length - 1];
    if (!response.more || last === undefined) break;
    start = Buffer.concat([last.key, Buffer.from([0])]);
  }
  return { revision: Number(revision), kvs };
}

/** Writers waiting until the watch has delivered their write's revision. */
export class RevisionWaiters {
  private waiters: { revision: number; resolve: () => void }[] = [];

  /** The watch delivered everything up to `revision`: release the writers waiting for it. */
  release(revision: number): void {
    const ready = this.waiters.filter((w) => w.revision <= revision);
    this.waiters = this.waiters.filter((w) => w.revision > revision);
    for (const waiter of ready) waiter.resolve();
  }

  /** Release everyone (closing). */
  releaseAll(): void {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  /** Resolve once `revision` is released, or after `withinMs` (then `onTimeout` runs): the write is committed either way. */
  wait(revision: number, withinMs: number, onTimeout?: () => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        onTimeout?.();
        resolve();
      }, withinMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ revision, resolve: done });
    });
  }
}
