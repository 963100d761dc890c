import { isDeepStrictEqual } from 'node:util';
import type { StoreEvent, StoreWrite } from '../store/store.js';
import type { ChangeEvent } from './mutations.js';
import type { InstanceRecord } from './types.js';

/** A write waiting for its echo. */
interface Waiter {
  readonly expected: StoreWrite;
  readonly resolve: (event: ChangeEvent | undefined) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * On a shared store a node applies its own writes only when they come back through the store's feed, so
 * that every node applies every change the same way, in the store's commit order. This module pairs each
 * write with its echo: `expect` returns a promise of the ChangeEvent applying the echo produced, or, when the
 * feed is late, of what `fallback` (applying the durable record locally) produced after `timeoutMs`.
 */
export class EchoWaiters {
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(
    private readonly timeoutMs: number,
    /** Apply an already durable write locally when its echo is late; called once per late write. */
    private readonly fallback: (write: StoreWrite) => ChangeEvent | undefined,
  ) {}

  /** Wait for the echo of `write` (register before writing, so a fast echo is not missed). */
  expect(write: StoreWrite): Promise<ChangeEvent | undefined> {
    const key = keyOfWrite(write);
    return new Promise((resolve) => {
      const waiter: Waiter = { expected: write, resolve };
      // The write is durable once the store resolved; if the feed is late, apply it ourselves rather than
      // hold the queue (a late echo of an identical record is then a no-op).
      waiter.timer = setTimeout(() => {
        this.remove(key, waiter);
        resolve(this.fallback(write));
      }, this.timeoutMs);
      const waiters = this.waiting.get(key) ?? [];
      waiters.push(waiter);
      this.waiting.set(key, waiters);
    });
  }

  /** Stop waiting for `write` (its store write failed, so no echo will come). */
  cancel(write: StoreWrite): void {
    const key = keyOfWrite(write);
    const waiter = this.waiting.get(key)?.find((w) => w.expected === write);
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    this.remove(key, waiter);
  }

  /** An event arrived from the feed and applying it gave `applied`: wake the write it echoes, if any. */
  deliver(event: StoreEvent, applied: ChangeEvent | undefined): void {
    const key = keyOfWrite(event);
    const waiter = this.waiting.get(key)?.find((w) => sameWrite(w.expected, event));
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    this.remove(key, waiter);
    waiter.resolve(applied);
  }

  /** Forget every waiter (closing): their callers are not woken. */
  clear(): void {
    for (const waiters of this.waiting.values()) for (const waiter of waiters) clearTimeout(waiter.timer);
    this.waiting.clear();
  }

  private remove(key: string, waiter: Waiter): void {
    const waiters = this.waiting.get(key);
    const at = waiters?.indexOf(waiter) ?? -1;
    if (at < 0) return;
    waiters!.splice(at, 1);
    if (waiters!.length === 0) this.waiting.delete(key);
  }
}

/** The instance a write is about. */
export function writeTarget(write: StoreWrite): { service: string; id: string } {
  return write.kind === 'put' ? { service: write.record.service, id: write.record.spec.id } : { service: write.service, id: write.id };
}

/**
 * Records compared as a store holds them (JSON: undefined fields do not matter, nor does key order, except
 * metadata's: it is the TXT order DNS publishes, so a re-registration that only reorders it is a change).
 */
export function sameRecord(a: InstanceRecord, b: InstanceRecord): boolean {
  const metadataOrder = (r: InstanceRecord): string => JSON.stringify(Object.keys(r.spec.metadata));
  return metadataOrder(a) === metadataOrder(b) && isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

function keyOfWrite(write: StoreWrite): string {
  const { service, id } = writeTarget(write);
  return JSON.stringify([service, id]);
}

function sameWrite(expected: StoreWrite, event: StoreEvent): boolean {
  if (expected.kind !== event.kind) return false;
  if (expected.kind === 'delete' || event.kind === 'delete') return true; // same key, checked by the caller
  return sameRecord(expected.record, event.record);
}
