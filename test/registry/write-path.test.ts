import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { InvalidArgumentError, StoreUnavailableError, hasErrorCode } from '../../src/errors.js';
import type { ChangeEvent } from '../../src/registry/mutations.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { ServiceInstance, type InstanceRecord } from '../../src/registry/types.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { LocalStore, SharedStore, StoreEvent, StoreSnapshot, StoreWrite } from '../../src/store/store.js';
import { sorted } from '../store/fixtures.js';

/** A local store that records every write, optionally delays it a little (to interleave), or fails on demand. */
class RecordingStore implements LocalStore {
  readonly kind = 'recording';
  readonly shared = false;
  readonly writes: StoreWrite[] = [];
  failNext: Error | undefined;
  delay = false;
  constructor(readonly inner: MemoryStore = new MemoryStore()) {}
  load(): Promise<StoreSnapshot> {
    return this.inner.load();
  }
  write(change: StoreWrite): Promise<void> {
    return this.writeBatch([change]);
  }
  async writeBatch(changes: readonly StoreWrite[]): Promise<void> {
    // Yield to other macrotasks, as a real disk write would, so concurrent callers interleave.
    if (this.delay) await new Promise((resolve) => setImmediate(resolve));
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    await this.inner.writeBatch(changes);
    this.writes.push(...changes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const instance = (id: string, port = 8080): ServiceInstance => new ServiceInstance(id, '10.0.0.1', port);

/** Records as a store holds them: the heartbeat time is not persisted on every beat. */
const withoutHeartbeat = (records: readonly InstanceRecord[]): unknown[] => sorted(records).map(({ lastHeartbeat: _ignored, ...rest }) => rest);

describe('DurableRegistry over SQLite', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'beacon-durable-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps all of 100 concurrent registrations across a reopen (seed mutant B)', async () => {
    const durable = await DurableRegistry.open(new ServiceRegistry(), await SqliteStore.openInDirectory(dir));
    const events = await Promise.all(
      Array.from({ length: 100 }, (_, i) => new Promise<ChangeEvent | undefined>((resolve, reject) => {
        setImmediate(() => durable.register('fresh', instance(`i-${i}`, 1000 + i)).then(resolve, reject));
      })),
    );
    expect(events.map((e) => e!.index).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(durable.registry.records('fresh')).toHaveLength(100);
    await durable.close();

    const reopened = await DurableRegistry.open(new ServiceRegistry(), await SqliteStore.openInDirectory(dir));
    try {
      expect(reopened.index).toBe(100);
      const ports = reopened.registry.records('fresh').map((r) => r.spec.port).sort((a, b) => a - b);
      expect(ports).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i));
    } finally {
      await reopened.close();
    }
  });

  it('leaves the store equal to the registry after every kind of change', async () => {
    const clock = new ManualClock(1_000);
    const durable = await DurableRegistry.open(new ServiceRegistry({}, { clock }), await SqliteStore.openInDirectory(dir));
    await durable.register('api', instance('a'));
    await durable.register('api', instance('b'));
    await durable.register('Web', instance('w').withTags(['blue']));
    clock.advance(100);
    await durable.updateHealth('api', 'a', 'unhealthy', 'probe timed out');
    await durable.setMaintenance('web', 'w', true, 'reboot');
    await durable.deregister('api', 'b');
    await durable.register('api', instance('a', 9090));
    const expected = durable.registry.records();
    const index = durable.index;
    await durable.close();

    const store = await SqliteStore.openInDirectory(dir);
    try {
      const loaded = await store.load();
      expect(loaded.index).toBe(index);
      expect(withoutHeartbeat(loaded.records)).toEqual(withoutHeartbeat(expected));
    } finally {
      await store.close();
    }
  });
});

describe('DurableRegistry', () => {
  it('writes before applying, with the index the event gets', async () => {
    const store = new RecordingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    const seen: number[] = [];
    durable.registry.onChange(() => seen.push(store.writes.length));
    const event = await durable.register('api', instance('a'));
    expect(event!.index).toBe(1);
    expect(store.writes).toEqual([{ kind: 'put', index: 1, record: durable.registry.get('api', 'a') }]);
    // The listener ran after the write was made.
    expect(seen).toEqual([1]);
    await durable.deregister('api', 'a');
    expect(store.writes[1]).toEqual({ kind: 'delete', index: 2, service: 'api', id: 'a' });
  });

  it('keeps 100 interleaved registrations with slow writes, in index order', async () => {
    const store = new RecordingStore();
    store.delay = true;
    // One mutation per transaction: the queue alone must keep them in order.
    const durable = await DurableRegistry.open(new ServiceRegistry(), store, { maxGroup: 1 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => durable.register('fresh', instance(`i-${i}`))));
    expect(durable.registry.records('fresh')).toHaveLength(100);
    expect(store.writes.map((w) => w.index)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect((await store.inner.load()).records).toHaveLength(100);
  });

  it('leaves the registry unchanged and propagates the error when the store write fails', async () => {
    const store = new RecordingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    await durable.register('api', instance('a'));
    const before = durable.registry.records();
    const events: ChangeEvent[] = [];
    durable.registry.onChange((e) => events.push(e));

    store.failNext = new StoreUnavailableError('disk full');
    await expect(durable.register('api', instance('b'))).rejects.toThrow('disk full');
    store.failNext = new StoreUnavailableError('disk full');
    await expect(durable.setMaintenance('api', 'a', true)).rejects.toBeInstanceOf(StoreUnavailableError);
    store.failNext = new StoreUnavailableError('disk full');
    await expect(durable.deregister('api', 'a')).rejects.toBeInstanceOf(StoreUnavailableError);

    expect(durable.registry.records()).toEqual(before);
    expect(durable.index).toBe(1);
    expect(events).toEqual([]);
    // The queue is not poisoned: the next call works.
    await durable.register('api', instance('b'));
    expect(durable.registry.records().map((r) => r.spec.id).sort()).toEqual(['a', 'b']);
  });

  it('rejects invalid calls with typed errors before writing anything', async () => {
    const store = new RecordingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    await expect(durable.register('api', instance('a', 0))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(durable.deregister('api', 'nobody')).rejects.toSatisfy((e) => hasErrorCode(e, 'SERVICE_NOT_FOUND'));
    await durable.register('api', instance('a'));
    await expect(durable.heartbeat('api', 'nobody')).rejects.toSatisfy((e) => hasErrorCode(e, 'INSTANCE_NOT_FOUND'));
    expect(store.writes).toHaveLength(1);
  });

  it('does not write heartbeats that only renew the TTL, but writes those that change health', async () => {
    const clock = new ManualClock(0);
    const store = new RecordingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry({ defaultTtlMs: 10_000 }, { clock }), store);
    await durable.register('api', instance('a'));
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000);
      expect(await durable.heartbeat('api', 'a')).toBeUndefined();
    }
    expect(store.writes).toHaveLength(1);
    expect(durable.registry.get('api', 'a')!.lastHeartbeat).toBe(10_000);

    const failed = await durable.heartbeat('api', 'a', 'fail', 'out of memory');
    expect(failed!.after!.health).toBe('unhealthy');
    expect(store.writes).toHaveLength(2);
    expect(store.writes[1]).toMatchObject({ kind: 'put', index: 2, record: { health: 'unhealthy', note: 'out of memory' } });
  });

  it('expires durably: unhealthy after the TTL, removed after the critical period', async () => {
    const clock = new ManualClock(0);
    const store = new RecordingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry({ defaultTtlMs: 10_000, deregisterCriticalAfterMs: 30_000 }, { clock }), store);
    await durable.register('api', instance('a'));
    await durable.register('api', instance('b'));
    clock.advance(5_000);
    await durable.heartbeat('api', 'b');
    clock.advance(6_000); // a missed its TTL (at 10 s); b is due at 15 s
    expect(await durable.cleanupExpired()).toBe(0);
    expect(store.writes.at(-1)).toMatchObject({ kind: 'put', record: { spec: { id: 'a' }, health: 'unhealthy' } });
    expect(durable.registry.get('api', 'b')!.health).toBe('healthy');
    clock.advance(40_000);
    expect(await durable.cleanupExpired()).toBe(2);
    expect(await store.inner.load()).toEqual({ index: durable.index, records: [] });
  });

  it('gives every restored instance a fresh heartbeat grace period', async () => {
    const clock = new ManualClock(0);
    const config = { defaultTtlMs: 10_000, deregisterCriticalAfterMs: 30_000 };
    const memory = new MemoryStore();
    const first = await DurableRegistry.open(new ServiceRegistry(config, { clock }), memory);
    await first.register('api', instance('a'));
    await first.close();

    // The process was down for a minute, far beyond the TTL; heartbeats could not arrive meanwhile.
    clock.advance(60_000);
    const second = await DurableRegistry.open(new ServiceRegistry(config, { clock }), new MemoryStore(memory.snapshot()));
    const restored = second.registry.get('api', 'a')!;
    expect(restored.lastHeartbeat).toBe(60_000);
    expect(second.registry.isServable(restored)).toBe(true);
    expect(await second.cleanupExpired()).toBe(0);
    expect(second.registry.get('api', 'a')!.health).toBe('healthy');
    // And the grace period is one TTL, not forever.
    clock.advance(10_000);
    await second.cleanupExpired();
    expect(second.registry.get('api', 'a')!.health).toBe('unhealthy');
  });

  it('waits for queued calls on close, then refuses new ones', async () => {
    const store = new RecordingStore();
    store.delay = true;
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    const pending = [durable.register('api', instance('a')), durable.register('api', instance('b'))];
    await durable.close();
    await Promise.all(pending);
    expect(store.writes).toHaveLength(2);
    await expect(durable.register('api', instance('c'))).rejects.toSatisfy((e) => hasErrorCode(e, 'STORE_UNAVAILABLE'));
    await durable.close();
  });
});

/** A shared store on top of memory: every write is echoed to all subscribers on a later turn, in order. */
class FakeSharedStore implements SharedStore {
  readonly kind = 'fake-shared';
  readonly shared = true;
  readonly inner = new MemoryStore();
  readonly listeners = new Set<(event: StoreEvent) => void>();
  readonly keptAlive: string[] = [];
  echo = true;
  load(): Promise<StoreSnapshot> {
    return this.inner.load();
  }
  async write(change: StoreWrite): Promise<void> {
    await this.inner.write(change);
    if (this.echo) this.emitLater(change);
  }
  /** What another node's write looks like from here. */
  emitLater(event: StoreEvent): void {
    setImmediate(() => {
      for (const listener of this.listeners) listener(JSON.parse(JSON.stringify(event)) as StoreEvent);
    });
  }
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async keepAlive(service: string, id: string): Promise<void> {
    this.keptAlive.push(`${service}/${id}`);
  }
  /** This node owns everything unless a test says otherwise. */
  isOwner(_service: string, _id: string): boolean {
    return true;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('DurableRegistry on a shared store', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('applies its own writes only through the store feed, as sync mutations', async () => {
    const store = new FakeSharedStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    expect(durable.shared).toBe(true);
    const event = await durable.register('api', instance('a'));
    expect(event!.mutation.type).toBe('sync');
    expect(durable.registry.get('api', 'a')!.spec.port).toBe(8080);
    const gone = await durable.deregister('api', 'a');
    expect(gone!.after).toBeUndefined();
    expect(durable.registry.records()).toEqual([]);
    await durable.close();
    expect(store.listeners.size).toBe(0);
  });

  it("applies other nodes' changes from the feed", async () => {
    const store = new FakeSharedStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    const other = (await new ServiceRegistry().register('web', instance('elsewhere'))).after!;
    const applied = new Promise<ChangeEvent>((resolve) => durable.registry.onChange(resolve));
    store.emitLater({ kind: 'put', index: 1, record: other });
    expect((await applied).mutation.type).toBe('sync');
    expect(durable.registry.get('web', 'elsewhere')).toEqual(other);
  });

  it('renews leases on heartbeats without writing', async () => {
    const store = new FakeSharedStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    await durable.register('api', instance('a'));
    const writes = (await store.inner.load()).index;
    await durable.heartbeat('api', 'a');
    expect(store.keptAlive).toEqual(['api/a']);
    expect((await store.inner.load()).index).toBe(writes);
  });

  it('expires only the instances this node owns, when the store says who owns what', async () => {
    const clock = new ManualClock(0);
    const store = Object.assign(new FakeSharedStore(), { isOwner: (_service: string, id: string) => id === 'mine' });
    const durable = await DurableRegistry.open(new ServiceRegistry({ defaultTtlMs: 10_000 }, { clock }), store);
    await durable.register('api', instance('mine'));
    await durable.register('api', instance('theirs'));
    clock.advance(11_000);
    await durable.cleanupExpired();
    expect(durable.registry.get('api', 'mine')!.health).toBe('unhealthy');
    expect(durable.registry.get('api', 'theirs')!.health).toBe('healthy');
  });

  it('applies a durable write itself when the feed does not echo it in time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const store = new FakeSharedStore();
    store.echo = false;
    const durable = await DurableRegistry.open(new ServiceRegistry(), store, { echoTimeoutMs: 1_000 });
    const pending = durable.register('api', instance('a'));
    await vi.waitFor(async () => expect((await store.inner.load()).records).toHaveLength(1));
    expect(durable.registry.get('api', 'a')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    const event = await pending;
    expect(event!.after!.spec.id).toBe('a');
    expect(durable.registry.get('api', 'a')).toBeDefined();
  });
});

/** A local store with writeBatch that records each batch; `gate` holds the first batch until released. */
class BatchingStore implements LocalStore {
  readonly kind = 'batching';
  readonly shared = false;
  readonly batches: StoreWrite[][] = [];
  failNext: Error | undefined;
  private release: (() => void) | undefined;
  private gate: Promise<void> | undefined;
  readonly inner = new MemoryStore();
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release?.();
    this.gate = undefined;
  }
  load(): Promise<StoreSnapshot> {
    return this.inner.load();
  }
  write(change: StoreWrite): Promise<void> {
    return this.writeBatch([change]);
  }
  async writeBatch(changes: readonly StoreWrite[]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    await this.inner.writeBatch(changes);
    this.batches.push([...changes]);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('DurableRegistry group commit (local stores with writeBatch)', () => {
  const instance = (id: string) => new ServiceInstance(id, '10.0.0.1', 80);

  it('makes mutations that queue behind a write durable together, in arrival order, with consecutive indexes', async () => {
    const store = new BatchingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    store.hold();
    const first = durable.register('api', instance('first'));
    const rest = Array.from({ length: 50 }, (_, i) => durable.register('api', instance(`i-${i}`)));
    store.open();
    const events = await Promise.all([first, ...rest]);
    expect(events.map((e) => e?.index)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(store.batches.map((b) => b.length)).toEqual([51]); // one transaction for all that queued together
    expect(store.batches.flat().map((w) => w.index)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(sorted((await store.inner.load()).records)).toEqual(sorted(durable.records()));
  });

  it('puts two mutations of one instance in different groups, so the second sees the first', async () => {
    const store = new BatchingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    store.hold();
    const blocker = durable.register('api', instance('blocker'));
    const registered = durable.register('api', instance('a'));
    const unhealthy = durable.updateHealth('api', 'a', 'unhealthy', 'probe failed');
    const conflicting = durable.register('api', instance('A')); // same DNS name as 'a'
    store.open();
    await blocker;
    expect((await registered)?.after?.health).toBe('healthy');
    expect((await unhealthy)?.after?.health).toBe('unhealthy');
    await expect(conflicting).rejects.toMatchObject({ code: 'NAME_CONFLICT' });
    expect(store.batches.map((b) => b.length)).toEqual([2, 1]);
  });

  it('rejects an invalid mutation alone; a failed batch rejects its group and changes nothing', async () => {
    const store = new BatchingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    store.hold();
    const blocker = durable.register('api', instance('blocker'));
    const good = durable.register('api', instance('good'));
    const bad = durable.register('api', { id: 'bad', address: '10.0.0.1', port: 0 });
    store.open();
    await blocker;
    await expect(bad).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await good)?.index).toBe(2);
    store.failNext = new StoreUnavailableError('disk gone');
    const group = [durable.deregister('api', 'blocker'), durable.register('api', instance('x')), durable.register('api', instance('y'))];
    const results = await Promise.allSettled(group);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(durable.records().map((r) => r.spec.id).sort()).toEqual(['blocker', 'good']);
    expect(durable.index).toBe(2);
    expect((await durable.register('api', instance('x')))?.index).toBe(3); // the next group commits
    expect(sorted((await store.inner.load()).records)).toEqual(sorted(durable.records()));
  });
});

describe('DurableRegistry spaces group commits under concurrent writers', () => {
  const instance = (id: string, port = 80) => new ServiceInstance(id, '10.0.0.1', port);
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never holds a lone writer; after a group of several, the next starts an interval after it and gathers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const store = new BatchingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store, { groupIntervalMs: 10 });
    // One write at a time: each commits alone, at once, with no timer set.
    for (let i = 0; i < 3; i++) await durable.register('api', instance(`solo-${i}`));
    expect(store.batches.map((b) => b.length)).toEqual([1, 1, 1]);
    expect(vi.getTimerCount()).toBe(0);
    // Three writers at once share a group: writers are concurrent now.
    await Promise.all(['c-0', 'c-1', 'c-2'].map((id) => durable.register('api', instance(id))));
    expect(store.batches.map((b) => b.length)).toEqual([1, 1, 1, 3]);
    // Writers arriving 3 and 7 ms later (fewer than that group held) wait for the 10 ms since it started,
    // then commit together.
    await vi.advanceTimersByTimeAsync(3);
    const late = [durable.register('api', instance('c-3'))];
    await vi.advanceTimersByTimeAsync(4);
    late.push(durable.register('api', instance('c-4')));
    await vi.advanceTimersByTimeAsync(2);
    expect(store.batches).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(late);
    expect(store.batches.map((b) => b.length)).toEqual([1, 1, 1, 3, 2]);
    expect(durable.records()).toHaveLength(8);
    expect(sorted((await store.inner.load()).records)).toEqual(sorted(durable.records()));
  });

  it('starts before the interval ends once as many wait as the largest recent group held', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const store = new BatchingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store, { groupIntervalMs: 10 });
    const ids = ['k-0', 'k-1', 'k-2'];
    await Promise.all(ids.map((id) => durable.register('api', instance(id))));
    // The same three writers, each sending again as soon as it was answered (one connection each, kept):
    // all of them are back after 1 ms, and the group starts then, with no wait for the interval.
    await vi.advanceTimersByTimeAsync(1);
    const first = durable.register('api', instance('k-0', 81));
    const second = durable.register('api', instance('k-1', 81));
    await vi.advanceTimersByTimeAsync(0);
    expect(store.batches).toHaveLength(1);
    const third = durable.register('api', instance('k-2', 81));
    await Promise.all([first, second, third]);
    expect(store.batches.map((b) => b.length)).toEqual([3, 3]);
    expect(vi.getTimerCount()).toBe(0);
    // A second later that group of three is forgotten: two concurrent writers make the mark, and the next
    // group starts as soon as both are back.
    await vi.advanceTimersByTimeAsync(1_500);
    await Promise.all([durable.register('api', instance('m-0')), durable.register('api', instance('m-1'))]);
    await Promise.all([durable.register('api', instance('m-0', 82)), durable.register('api', instance('m-1', 82))]);
    expect(store.batches.map((b) => b.length)).toEqual([3, 3, 2, 2]);
    expect(vi.getTimerCount()).toBe(0);
    expect(durable.records()).toHaveLength(5);
  });

  it('counts only groups that write: heartbeats that renew TTLs neither hold nor release writers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const store = new BatchingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store, { groupIntervalMs: 10 });
    for (const id of ['h-0', 'h-1', 'h-2']) await durable.register('api', instance(id));
    // Three heartbeats at once make a group that writes nothing (no fsync): writers are not known concurrent.
    const beats = await Promise.all(['h-0', 'h-1', 'h-2'].map((id) => durable.heartbeat('api', id)));
    expect(beats).toEqual([undefined, undefined, undefined]);
    await durable.register('api', instance('lone'));
    expect(store.batches.map((b) => b.length)).toEqual([1, 1, 1, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps to the monotonic clock when the wall clock is set back, and never waits with an interval of 0', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const store = new BatchingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store, { groupIntervalMs: 10 });
    await Promise.all([durable.register('api', instance('a')), durable.register('api', instance('b'))]);
    vi.setSystemTime(Date.now() - 3_600_000);
    const next = durable.register('api', instance('c'));
    await vi.advanceTimersByTimeAsync(9);
    expect(store.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await next;
    expect(store.batches.map((b) => b.length)).toEqual([2, 1]);

    const eager = new BatchingStore();
    const unspaced = await DurableRegistry.open(new ServiceRegistry(), eager, { groupIntervalMs: 0 });
    await Promise.all([unspaced.register('api', instance('a')), unspaced.register('api', instance('b'))]);
    await unspaced.register('api', instance('c'));
    expect(eager.batches.map((b) => b.length)).toEqual([2, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('DurableRegistry keeps arrival order across group commits and other queued work', () => {
  it('a registration submitted after a restore is not overtaken by it (and so not wiped)', async () => {
    const store = new BatchingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store);
    await durable.register('api', new ServiceInstance('x', '10.0.0.1', 80));
    const saved = durable.records();
    const done: string[] = [];
    await Promise.all([
      durable.register('api', new ServiceInstance('a', '10.0.0.2', 80)).then(() => done.push('a')),
      durable.replaceAll(saved).then(() => done.push('restore')),
      durable.register('api', new ServiceInstance('b', '10.0.0.3', 80)).then(() => done.push('b')),
    ]);
    expect(done).toEqual(['a', 'restore', 'b']);
    expect(durable.records().map((r) => r.spec.id).sort()).toEqual(['b', 'x']);
    expect(sorted((await store.inner.load()).records)).toEqual(sorted(durable.records()));
  });
});

describe('DurableRegistry calls beforeApply between the mutations of a group', () => {
  it('once before each applied mutation, in order, with the earlier ones of the group already applied', async () => {
    const store = new RecordingStore();
    const registry = new ServiceRegistry();
    const seen: number[] = [];
    const durable = await DurableRegistry.open(registry, store, { beforeApply: () => seen.push(registry.records().length) });
    store.delay = true;
    // One write in flight, then nine that queue behind it and commit as one group (applied in slices).
    const first = durable.register('web', instance('w-0'));
    const rest = Array.from({ length: 9 }, (_, i) => durable.register('web', instance(`w-${i + 1}`, 9000 + i)));
    await Promise.all([first, ...rest]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await durable.close();
  });

  it('applies one mutation per turn of the loop while the turn is spent', async () => {
    /** The turn (counted by an immediate chain) in which each mutation of a group of six was applied. */
    async function turnsOfGroup(turnSpent: () => boolean): Promise<number[]> {
      let turns = 0;
      let ticking = true;
      const tick = (): void => {
        turns++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const seen: number[] = [];
      const store = new RecordingStore();
      const durable = await DurableRegistry.open(new ServiceRegistry(), store, { beforeApply: () => seen.push(turns), turnSpent });
      store.delay = true;
      const first = durable.register('web', instance('w-0'));
      const group = Array.from({ length: 6 }, (_, i) => durable.register('web', instance(`w-${i + 1}`, 9000 + i)));
      await Promise.all([first, ...group]);
      ticking = false;
      await durable.close();
      return seen.slice(1); // all but the first apply of the seven
    }
    const spent = await turnsOfGroup(() => true);
    expect(spent).toHaveLength(6);
    for (let i = 1; i < spent.length; i++) expect(spent[i]).toBeGreaterThan(spent[i - 1]!);
  });

  it('applies and acknowledges the durable group even when the hook throws', async () => {
    const store = new RecordingStore();
    const durable = await DurableRegistry.open(new ServiceRegistry(), store, {
      beforeApply: () => {
        throw new Error('hook failed');
      },
    });
    const events = await Promise.all([durable.register('web', instance('a')), durable.register('web', instance('b', 81))]);
    expect(events.map((e) => e?.index)).toEqual([1, 2]);
    expect(durable.records().map((r) => r.spec.id).sort()).toEqual(['a', 'b']);
    await durable.close();
  });
});
