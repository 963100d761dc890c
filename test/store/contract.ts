import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hasErrorCode } from '../../src/errors.js';
import type { InstanceRecord } from '../../src/registry/types.js';
import type { LocalStore, SharedStore, Store, StoreEvent } from '../../src/store/store.js';
import type { ZoneRecordSet, ZoneStore } from '../../src/store/zone-data.js';
import { makeRecord, sorted } from './fixtures.js';

/** What a backend provides to the contract suite. */
export interface StoreHarness<S extends Store = Store> {
  /** A fresh, empty store. */
  readonly store: S;
  /**
   * Open the same data again, as a restarted process would. The suite closes the previous store
   * before calling this (an embedded store may lock its file). For a shared store it is also called while
   * the first store is still open, as a second node's client.
   */
  readonly reopen: () => Promise<S>;
  /** Remove everything the harness created (files, etcd keys). Called after the suite closed its stores. */
  readonly cleanup: () => Promise<void>;
}

/** What the contract-specific tests get from the common suite. */
interface ContractContext<S extends Store> {
  /** The current test's harness. */
  harness(): StoreHarness<S>;
  /** Close the current store and open the same data again. */
  restart(): Promise<S>;
  /** Have the suite close `store` after the test. */
  track(store: S): void;
}

/**
 * The LocalStore contract (memory, SQLite): everything every store does, plus all-or-nothing batches.
 * Each test gets a fresh harness. Backends are compared on what `load()` returns, never on internals.
 */
export function defineLocalStoreContract(name: string, factory: () => Promise<StoreHarness<LocalStore>>): void {
  defineContract(`LocalStore contract: ${name}`, factory, (ctx) => {
    it('is marked local', () => {
      expect(ctx.harness().store.shared).toBe(false);
    });

    it('makes a batch durable at once, with the index of its last write', async () => {
      const keep = makeRecord('api', 'keep');
      await ctx.harness().store.writeBatch([
        { kind: 'put', index: 1, record: makeRecord('api', 'gone') },
        { kind: 'put', index: 2, record: keep },
        { kind: 'delete', index: 3, service: 'api', id: 'gone' },
      ]);
      await ctx.harness().store.writeBatch([]);
      expect(await (await ctx.restart()).load()).toEqual({ index: 3, records: [keep] });
    });
  });
}

/**
 * The SharedStore contract (etcd): everything every store does, plus the feed of every node's writes,
 * ownership and liveness renewal. Each test gets a fresh harness.
 */
export function defineSharedStoreContract(name: string, factory: () => Promise<StoreHarness<SharedStore>>): void {
  defineContract(`SharedStore contract: ${name}`, factory, (ctx) => {
    /** Collect a store's feed. */
    function follow(store: SharedStore): { events: StoreEvent[]; stop: () => void } {
      const events: StoreEvent[] = [];
      expect(store.subscribe).toBeTypeOf('function');
      const stop = store.subscribe((event) => events.push(event));
      return { events, stop };
    }
    /** Events as a comparison sees them (JSON: undefined fields and key order do not matter). */
    const plain = (events: readonly StoreEvent[]): unknown => JSON.parse(JSON.stringify(events.map((e) => (e.kind === 'put' ? { kind: e.kind, record: e.record } : { kind: e.kind, service: e.service, id: e.id }))));

    it('is marked shared', () => {
      expect(ctx.harness().store.shared).toBe(true);
    });

    it('echoes its own writes to subscribers, in order and unchanged', async () => {
      const harness = ctx.harness();
      const feed = follow(harness.store);
      const a = makeRecord('api', 'a', { note: 'first' });
      const a2 = makeRecord('api', 'a', { note: 'second', health: 'unhealthy' });
      await harness.store.write({ kind: 'put', index: 1, record: a });
      await harness.store.write({ kind: 'put', index: 2, record: a2 });
      await harness.store.write({ kind: 'delete', index: 3, service: 'api', id: 'a' });
      const expected = plain([{ kind: 'put', index: 0, record: a }, { kind: 'put', index: 0, record: a2 }, { kind: 'delete', index: 0, service: 'api', id: 'a' }]);
      await vi.waitFor(() => expect(plain(feed.events)).toEqual(expected), { timeout: 5_000 });
      feed.stop();
    });

    it("delivers another node's writes, and nothing after unsubscribe", async () => {
      const harness = ctx.harness();
      const other = await harness.reopen();
      ctx.track(other);
      const feed = follow(harness.store);
      const record = makeRecord('web', 'from-other-node');
      await other.write({ kind: 'put', index: 1, record });
      await vi.waitFor(() => expect(plain(feed.events)).toEqual(plain([{ kind: 'put', index: 0, record }])), { timeout: 5_000 });
      feed.stop();
      await other.write({ kind: 'delete', index: 2, service: 'web', id: 'from-other-node' });
      // Our own later write is delivered to a new subscriber; the stopped one must still hold one event.
      const after = follow(harness.store);
      await harness.store.write({ kind: 'put', index: 3, record: makeRecord('web', 'marker') });
      await vi.waitFor(() => expect(after.events.some((e) => e.kind === 'put' && e.record.spec.id === 'marker')).toBe(true), { timeout: 5_000 });
      after.stop();
      expect(feed.events).toHaveLength(1);
    });

    it('makes the node that created an instance its owner, and no other node', async () => {
      const harness = ctx.harness();
      const other = await harness.reopen();
      ctx.track(other);
      await harness.store.write({ kind: 'put', index: 1, record: makeRecord('api', 'mine') });
      expect(harness.store.isOwner('api', 'mine')).toBe(true);
      expect(other.isOwner('api', 'mine')).toBe(false);
      expect(harness.store.isOwner('api', 'nobody')).toBe(false);
    });

    it("renews any node's instance, and rejects a renewal of an instance that is gone", async () => {
      const harness = ctx.harness();
      const other = await harness.reopen();
      ctx.track(other);
      await harness.store.write({ kind: 'put', index: 1, record: makeRecord('api', 'beating') });
      await other.keepAlive('api', 'beating');
      await harness.store.write({ kind: 'delete', index: 2, service: 'api', id: 'beating' });
      const failure = await harness.store.keepAlive('api', 'beating').then(() => undefined, (error: unknown) => error);
      expect(hasErrorCode(failure, 'INSTANCE_NOT_FOUND')).toBe(true);
    });
  });
}

/** The tests every store passes, then the contract-specific ones. */
function defineContract<S extends Store>(title: string, factory: () => Promise<StoreHarness<S>>, specific: (ctx: ContractContext<S>) => void): void {
  describe(title, () => {
    let harness: StoreHarness<S>;
    let opened: S[];

    beforeEach(async () => {
      harness = await factory();
      opened = [harness.store];
    });

    afterEach(async () => {
      for (const store of opened) await store.close();
      await harness.cleanup();
    });

    /** Close the current store and open the same data again. */
    async function restart(): Promise<S> {
      await opened[opened.length - 1]!.close();
      const store = await harness.reopen();
      opened.push(store);
      return store;
    }

    it('starts empty at index 0', async () => {
      expect(await harness.store.load()).toEqual({ index: 0, records: [] });
    });

    it('loads back what was put, with the index of the last write', async () => {
      const a = makeRecord('api', 'a');
      const b = makeRecord('web', 'b', { spec: { port: 443, protocol: 'udp' } });
      await harness.store.write({ kind: 'put', index: 1, record: a });
      await harness.store.write({ kind: 'put', index: 2, record: b });
      const loaded = await harness.store.load();
      expect(loaded.index).toBe(2);
      expect(sorted(loaded.records)).toEqual([a, b]);
    });

    it('replaces a record put again under the same service and id', async () => {
      await harness.store.write({ kind: 'put', index: 1, record: makeRecord('api', 'a') });
      const replaced = makeRecord('api', 'a', { spec: { port: 9090 }, health: 'unhealthy', healthSince: 5_000, note: 'disk full' });
      await harness.store.write({ kind: 'put', index: 2, record: replaced });
      expect((await harness.store.load()).records).toEqual([replaced]);
    });

    it('keeps the same id in two services apart', async () => {
      const inApi = makeRecord('api', 'same');
      const inWeb = makeRecord('web', 'same', { spec: { port: 81 } });
      await harness.store.write({ kind: 'put', index: 1, record: inApi });
      await harness.store.write({ kind: 'put', index: 2, record: inWeb });
      await harness.store.write({ kind: 'delete', index: 3, service: 'api', id: 'same' });
      expect((await harness.store.load()).records).toEqual([inWeb]);
    });

    it('deletes a record, and a delete of a missing record is harmless', async () => {
      const keep = makeRecord('api', 'keep');
      await harness.store.write({ kind: 'put', index: 1, record: makeRecord('api', 'gone') });
      await harness.store.write({ kind: 'put', index: 2, record: keep });
      await harness.store.write({ kind: 'delete', index: 3, service: 'api', id: 'gone' });
      await harness.store.write({ kind: 'delete', index: 4, service: 'api', id: 'never-there' });
      await harness.store.write({ kind: 'delete', index: 5, service: 'nosuchservice', id: 'x' });
      const loaded = await harness.store.load();
      expect(loaded.records).toEqual([keep]);
    });

    it('round-trips optional fields, and leaves absent ones absent', async () => {
      const full = makeRecord('db', 'primary', {
        spec: { host: 'db1.example.', ttlMs: 15_000, check: { type: 'http', url: 'http://127.0.0.1:8080/health', intervalMs: 5_000, timeoutMs: 1_000 }, metadata: {} , tags: [] },
        health: 'unknown',
        note: 'starting',
        maintenance: true,
        maintenanceReason: 'upgrade to 16.2',
      });
      const bare = makeRecord('db', 'replica');
      await harness.store.write({ kind: 'put', index: 1, record: full });
      await harness.store.write({ kind: 'put', index: 2, record: bare });
      const records = sorted((await (await restart()).load()).records);
      expect(records).toEqual([full, bare]);
      expect(Object.keys(records[1]!).sort()).toEqual(Object.keys(bare).sort());
      expect(Object.keys(records[1]!.spec).sort()).toEqual(Object.keys(bare.spec).sort());
    });

    it('keeps UTF-8 instance ids with dots, spaces, backslashes and emoji exactly', async () => {
      const ids = ['Printer. Floor 2', 'a\\b.c', 'Café Müller', 'nœud 東京 🚀', '.', ' leading and trailing '];
      let index = 0;
      for (const id of ids) await harness.store.write({ kind: 'put', index: ++index, record: makeRecord('ipp', id) });
      await harness.store.write({ kind: 'delete', index: ++index, service: 'ipp', id: 'a\\b.c' });
      const loaded = await (await restart()).load();
      expect(loaded.records.map((r) => r.spec.id).sort()).toEqual(ids.filter((id) => id !== 'a\\b.c').sort());
      expect(loaded.index).toBe(index);
    });

    it('persists the index and every acknowledged write across a restart', async () => {
      await harness.store.write({ kind: 'put', index: 1, record: makeRecord('api', 'a') });
      await harness.store.write({ kind: 'put', index: 2, record: makeRecord('api', 'b') });
      const replaced = makeRecord('api', 'a', { maintenance: true, maintenanceReason: 'kernel' });
      await harness.store.write({ kind: 'put', index: 3, record: replaced });
      await harness.store.write({ kind: 'delete', index: 4, service: 'api', id: 'b' });
      const reopened = await restart();
      expect(await reopened.load()).toEqual({ index: 4, records: [replaced] });
      // And the reopened store keeps working from there.
      await reopened.write({ kind: 'put', index: 5, record: makeRecord('api', 'c') });
      const again = await (await restart()).load();
      expect(again.index).toBe(5);
      expect(again.records.map((r) => r.spec.id).sort()).toEqual(['a', 'c']);
    });

    it('holds 1,000 records across services and restarts', async () => {
      const expected: InstanceRecord[] = [];
      for (let i = 0; i < 1_000; i++) {
        const record = makeRecord(`svc-${i % 7}`, `instance-${i}`, { spec: { port: 1 + i, metadata: { i: String(i) } } });
        expected.push(record);
        await harness.store.write({ kind: 'put', index: i + 1, record });
      }
      const loaded = await (await restart()).load();
      expect(loaded.index).toBe(1_000);
      expect(loaded.records).toHaveLength(1_000);
      expect(sorted(loaded.records)).toEqual(sorted(expected));
    });

    it('captures a record at write time (later changes to the object do not leak in)', async () => {
      const record = makeRecord('api', 'a');
      await harness.store.write({ kind: 'put', index: 1, record });
      (record.spec.tags as string[]).push('mutated-after-write');
      (record as { port?: number }).port = 1;
      const [loaded] = (await harness.store.load()).records;
      expect(loaded!.spec.tags).toEqual(['primary']);
    });

    it('hands out records that do not alias its state', async () => {
      await harness.store.write({ kind: 'put', index: 1, record: makeRecord('api', 'a') });
      const [first] = (await harness.store.load()).records;
      (first!.spec.tags as string[]).push('mutated-after-load');
      const [second] = (await harness.store.load()).records;
      expect(second!.spec.tags).toEqual(['primary']);
    });

    it('closes idempotently and refuses writes once closed', async () => {
      await harness.store.close();
      await harness.store.close();
      const failure = await harness.store.write({ kind: 'put', index: 1, record: makeRecord('api', 'a') }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(hasErrorCode(failure, 'STORE_UNAVAILABLE')).toBe(true);
    });

    specific({ harness: () => harness, restart, track: (store) => opened.unshift(store) });
  });
}

/**
 * The zone data contract (store/zone-data.ts), for every backend that keeps dynamic zone data (memory,
 * SQLite, etcd): RRsets replaced and deleted per (owner, type), all of a write at once, across restarts,
 * beside the instances and without touching them; a shared backend echoes every node's zone writes.
 */
export function defineZoneDataContract(name: string, sharing: 'local' | 'shared', factory: () => Promise<StoreHarness<Store & ZoneStore>>): void {
  describe(`zone data contract: ${name}`, () => {
    let harness: StoreHarness<Store & ZoneStore>;
    let opened: (Store & ZoneStore)[];
    beforeEach(async () => {
      harness = await factory();
      opened = [harness.store];
    });
    afterEach(async () => {
      for (const store of opened) await store.close();
      await harness.cleanup();
    });
    async function restart(): Promise<Store & ZoneStore> {
      await opened[opened.length - 1]!.close();
      const store = await harness.reopen();
      opened.push(store);
      return store;
    }
    const rrset = (owner: string, type: number, rdata: string[], ttl = 60): ZoneRecordSet => ({ owner, type, ttl, rdata });
    const byKey = (sets: readonly ZoneRecordSet[]): ZoneRecordSet[] => [...sets].sort((a, b) => (a.owner === b.owner ? a.type - b.type : a.owner < b.owner ? -1 : 1));
    const A1 = Buffer.from([10, 0, 0, 1]).toString('base64');
    const A2 = Buffer.from([10, 0, 0, 2]).toString('base64');
    const TXT = Buffer.from('\u0005hello', 'latin1').toString('base64');

    it('starts with no zone data', async () => {
      expect(await harness.store.loadZone()).toEqual([]);
    });

    it('loads back what was written, across a restart, and leaves the instances alone (and they it)', async () => {
      const record = makeRecord('api', 'a');
      await harness.store.write({ kind: 'put', index: 1, record });
      await harness.store.writeZone([rrset('host.local.', 1, [A1, A2]), rrset('host.local.', 16, [TXT], 300)]);
      await harness.store.write({ kind: 'delete', index: 2, service: 'api', id: 'a' });
      await harness.store.write({ kind: 'put', index: 3, record });
      const reopened = await restart();
      expect(byKey(await reopened.loadZone())).toEqual([rrset('host.local.', 1, [A1, A2]), rrset('host.local.', 16, [TXT], 300)]);
      expect(await reopened.load()).toEqual({ index: 3, records: [record] });
    });

    it('replaces an RRset written again and deletes one written without RDATA, all in one write', async () => {
      await harness.store.writeZone([rrset('a.local.', 1, [A1]), rrset('b.local.', 1, [A1]), rrset('c.local.', 16, [TXT])]);
      await harness.store.writeZone([rrset('a.local.', 1, [A2], 30), rrset('b.local.', 1, []), rrset('nothing.local.', 1, []), rrset('d.local.', 65280, [A1])]);
      expect(byKey(await (await restart()).loadZone())).toEqual([rrset('a.local.', 1, [A2], 30), rrset('c.local.', 16, [TXT]), rrset('d.local.', 65280, [A1])]);
    });

    it('keeps owners with escapes, slashes and non-ASCII octets, and empty RDATA strings, unchanged', async () => {
      const owners = ['a\\.b.local.', 'x/y.local.', '\\195\\169t\\195\\169.local.', '%41.local.'];
      await harness.store.writeZone(owners.map((o) => rrset(o, 16, ['', TXT])));
      expect(byKey(await (await restart()).loadZone())).toEqual(byKey(owners.map((o) => rrset(o, 16, ['', TXT]))));
    });

    it('refuses zone writes once closed', async () => {
      await harness.store.close();
      const failure = await harness.store.writeZone([rrset('a.local.', 1, [A1])]).then(() => undefined, (error: unknown) => error);
      expect(hasErrorCode(failure, 'STORE_UNAVAILABLE')).toBe(true);
    });

    if (sharing === 'local') {
      it('is local: its writer applies its own zone writes, there is no zone feed', () => {
        expect(harness.store.shared).toBe(false);
        expect('subscribeZone' in harness.store).toBe(false);
      });
      return;
    }

    it('echoes every node\'s zone writes, in order, to every subscriber', async () => {
      const first = harness.store;
      const second = await harness.reopen();
      opened.push(second);
      if (!first.shared || !second.shared) throw new Error('a shared store opened as a local one');
      await first.loadZone();
      await second.loadZone();
      const seen: { first: ZoneRecordSet[]; second: ZoneRecordSet[] } = { first: [], second: [] };
      first.subscribeZone((set) => seen.first.push(set));
      second.subscribeZone((set) => seen.second.push(set));
      await first.writeZone([rrset('a.local.', 1, [A1])]);
      expect(seen.first).toEqual([rrset('a.local.', 1, [A1])]); // read-your-writes: seen before the write resolved
      await second.writeZone([rrset('a.local.', 1, [A1, A2]), rrset('t.local.', 16, [TXT])]);
      await second.writeZone([rrset('t.local.', 16, [])]);
      const expected = [rrset('a.local.', 1, [A1]), rrset('a.local.', 1, [A1, A2]), rrset('t.local.', 16, [TXT]), { owner: 't.local.', type: 16, ttl: 0, rdata: [] }];
      await vi.waitFor(() => expect(seen.first).toEqual(expected), { timeout: 5_000 });
      expect(seen.second).toEqual(expected);
    });
  });
}
