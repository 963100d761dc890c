// EtcdStore against real etcd members: the shared feed, leases, unavailability and resynchronisation.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { hasErrorCode } from '../../src/errors.js';
import { instanceKey } from '../../src/store/etcd-codec.js';
import { EtcdStore, type EtcdStoreOptions } from '../../src/store/etcd.js';
import type { StoreEvent } from '../../src/store/store.js';
import { makeRecord } from '../store/fixtures.js';
import { EtcdCluster, eventually, waitFor } from './support/etcd.js';

/** Stores opened by a test; closed after it. */
let opened: EtcdStore[] = [];

function openStore(endpoints: readonly string[], root: string, options: Partial<EtcdStoreOptions> = {}): EtcdStore {
  const store = new EtcdStore({ endpoints, root, ...options });
  opened.push(store);
  return store;
}

afterEach(async () => {
  for (const store of opened) await store.close();
  opened = [];
});

/** Collects a store's events. */
function follow(store: EtcdStore): StoreEvent[] {
  const events: StoreEvent[] = [];
  store.subscribe((event) => events.push(event));
  return events;
}

function describeEvent(event: StoreEvent): string {
  return event.kind === 'put' ? `put ${event.record.service}/${event.record.spec.id}:${event.record.spec.port}` : `delete ${event.service}/${event.id}`;
}

/** The error a promise rejects with (or undefined if it resolves). */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('EtcdStore on one member', () => {
  let cluster: EtcdCluster;
  let root: string;

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });
  afterEach(() => {
    root = '';
  });
  const newRoot = (): string => (root = `/beacon-store/${randomUUID()}/`);

  it("delivers every node's writes to every subscriber, in commit order", async () => {
    newRoot();
    const a = openStore(cluster.endpoints, root);
    const b = openStore(cluster.endpoints, root);
    await b.load();
    const seen = follow(b);
    await a.write({ kind: 'put', index: 1, record: makeRecord('api', 'one') });
    await a.write({ kind: 'put', index: 2, record: makeRecord('api', 'two') });
    await a.write({ kind: 'put', index: 3, record: makeRecord('api', 'one', { spec: { port: 9999 } }) });
    await a.write({ kind: 'delete', index: 4, service: 'api', id: 'two' });
    await waitFor(() => seen.length >= 4, 5000, 'four events at node B');
    expect(seen.map(describeEvent)).toEqual(['put api/one:8080', 'put api/two:8080', 'put api/one:9999', 'delete api/two']);
    const indexes = seen.map((e) => e.index);
    expect([...indexes].sort((x, y) => x - y)).toEqual(indexes);
    expect(new Set(indexes).size).toBe(4);
  });

  it("resolves a write only once the writer's own subscription has seen it (read-your-writes)", async () => {
    newRoot();
    const a = openStore(cluster.endpoints, root);
    await a.load();
    const seen = follow(a);
    await a.write({ kind: 'put', index: 1, record: makeRecord('api', 'mine') });
    expect(seen.map(describeEvent)).toEqual(['put api/mine:8080']);
  });

  it('delivers existing instances first when subscribing without a load', async () => {
    newRoot();
    const a = openStore(cluster.endpoints, root);
    await a.write({ kind: 'put', index: 1, record: makeRecord('api', 'x') });
    await a.write({ kind: 'put', index: 2, record: makeRecord('web', 'y') });
    const b = openStore(cluster.endpoints, root);
    const seen = follow(b);
    await waitFor(() => seen.length >= 2, 5000, 'existing instances delivered');
    expect(seen.map(describeEvent).sort()).toEqual(['put api/x:8080', 'put web/y:8080']);
    await a.write({ kind: 'delete', index: 3, service: 'api', id: 'x' });
    await waitFor(() => seen.length >= 3, 5000, 'then the live feed');
    expect(describeEvent(seen[2]!)).toBe('delete api/x');
  });

  it('expires a heartbeat instance in etcd when its lease is not renewed, for every node', async () => {
    newRoot();
    const a = openStore(cluster.endpoints, root);
    const b = openStore(cluster.endpoints, root);
    await b.load();
    const seen = follow(b);
    await a.write({ kind: 'put', index: 1, record: makeRecord('api', 'beating', { spec: { ttlMs: 2000 } }) });
    await waitFor(() => seen.length >= 1, 5000, 'registration seen at B');
    expect(a.isOwner('api', 'beating')).toBe(true);
    expect(b.isOwner('api', 'beating')).toBe(false);
    // Any node may renew the lease: a heartbeat received by B keeps A's instance alive.
    await b.keepAlive('api', 'beating');
    await waitFor(() => seen.length >= 2, 10_000, 'expiry seen at B');
    expect(describeEvent(seen[1]!)).toBe('delete api/beating');
    expect(hasErrorCode(await failureOf(b.keepAlive('api', 'beating')), 'INSTANCE_NOT_FOUND')).toBe(true);
    expect((await a.load()).records).toEqual([]);
  });

  it('counts a re-registration (a newer heartbeat time) as a renewal of the kept lease', async () => {
    newRoot();
    const a = openStore(cluster.endpoints, root);
    const b = openStore(cluster.endpoints, root);
    await b.load();
    const seen = follow(b);
    // Re-register every 500 ms for more than twice the 2 s lease TTL: the instance must never expire.
    const until = Date.now() + 2 * 2000 + 500;
    for (let at = 1_000; Date.now() < until; at += 500) {
      await a.write({ kind: 'put', index: at, record: makeRecord('api', 'again', { spec: { ttlMs: 2000 }, lastHeartbeat: at }) });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.every((e) => e.kind === 'put')).toBe(true);
    await waitFor(() => seen.some((e) => e.kind === 'delete'), 10_000, 'expiry once re-registrations stop');
  });

  it('renews many leases at once (heartbeats of one tick share a keep-alive stream)', async () => {
    newRoot();
    const a = openStore(cluster.endpoints, root);
    const ids = Array.from({ length: 50 }, (_, i) => `i-${i}`);
    for (const id of ids) await a.write({ kind: 'put', index: 1, record: makeRecord('api', id, { spec: { ttlMs: 60_000 } }) });
    await a.write({ kind: 'delete', index: 2, service: 'api', id: 'i-7' });
    const outcomes = await Promise.all(ids.map((id) => failureOf(a.keepAlive('api', id))));
    expect(outcomes.filter((o) => o === undefined)).toHaveLength(49);
    expect(hasErrorCode(outcomes[7], 'INSTANCE_NOT_FOUND')).toBe(true);
  });

  it('keeps an actively checked instance alive while its owner runs, and drops it when the owner goes', async () => {
    newRoot();
    const a = openStore(cluster.endpoints, root, { checkLeaseTtlMs: 2000 });
    const b = openStore(cluster.endpoints, root);
    await b.load();
    const seen = follow(b);
    const checked = makeRecord('db', 'primary', { spec: { check: { type: 'tcp', port: 5432 } } });
    await a.write({ kind: 'put', index: 1, record: checked });
    // Observe the lease for twice its TTL: renewed by A, it must never run out meanwhile.
    const client = new Etcd3({ hosts: cluster.endpoints });
    try {
      const kv = (await client.kv.range({ key: Buffer.from(instanceKey(a.prefix, 'db', 'primary')) })).kvs[0]!;
      const ttls: number[] = [];
      const until = Date.now() + 2 * 2000 + 500;
      while (Date.now() < until) {
        ttls.push(Number((await client.leaseClient.leaseTimeToLive({ ID: kv.lease })).TTL));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ttls.length).toBeGreaterThan(10);
      expect(Math.min(...ttls)).toBeGreaterThan(0); // -1 would mean expired
    } finally {
      client.close();
    }
    expect(seen).toHaveLength(1);
    await a.close(); // the owner dies without deregistering
    await waitFor(() => seen.some((e) => e.kind === 'delete'), 10_000, 'owner-less instance expired');
    expect(seen.map(describeEvent)).toEqual(['put db/primary:8080', 'delete db/primary']);
  });
});

describe('EtcdStore when etcd goes away', () => {
  let cluster: EtcdCluster | undefined;
  afterEach(async () => {
    for (const store of opened) await store.close();
    opened = [];
    await cluster?.destroy();
    cluster = undefined;
  });

  it('fails writes fast, keeps its state, flags staleness, and resumes the watch from its last revision', async () => {
    cluster = await EtcdCluster.start(1);
    const root = `/beacon-outage/${randomUUID()}/`;
    const a = openStore(cluster.endpoints, root);
    const b = openStore(cluster.endpoints, root);
    await b.load();
    const seen = follow(b);
    const flips: boolean[] = [];
    b.onStaleChange((stale) => flips.push(stale));
    await a.write({ kind: 'put', index: 1, record: makeRecord('api', 'before') });
    await waitFor(() => seen.length >= 1, 5000, 'first write seen');

    await cluster.stopAll();
    await waitFor(() => b.stale, 10_000, 'B notices the outage');
    const started = Date.now();
    const failure = await failureOf(a.write({ kind: 'put', index: 2, record: makeRecord('api', 'during') }));
    const elapsed = Date.now() - started;
    console.log(`etcd down: write failed with ${(failure as { code?: string }).code} after ${elapsed} ms`);
    expect(hasErrorCode(failure, 'STORE_UNAVAILABLE')).toBe(true);
    expect(hasErrorCode(await failureOf(b.keepAlive('api', 'before')), 'STORE_UNAVAILABLE')).toBe(true);

    await cluster.restartAll();
    await waitFor(() => !b.stale, 15_000, 'B reconnects');
    await eventually(() => a.write({ kind: 'put', index: 3, record: makeRecord('api', 'after') }), 15_000, 'write after recovery');
    await waitFor(() => seen.length >= 2, 5000, 'write after recovery seen');
    expect(seen.map(describeEvent)).toEqual(['put api/before:8080', 'put api/after:8080']);
    expect(flips).toEqual([true, false]);
    expect(b.reloadCount).toBe(0); // resumed from its revision: no full reload
  });

  it('does not hang on a frozen member: writes fail within the deadline and the probe marks the node stale', async () => {
    cluster = await EtcdCluster.start(1);
    const root = `/beacon-hung/${randomUUID()}/`;
    const a = openStore(cluster.endpoints, root, { requestTimeoutMs: 1000, probeIntervalMs: 200 });
    await a.load();
    const seen = follow(a);
    // A fresh member on a busy host can be slower than the short deadline this test uses: retry the setup.
    await eventually(() => a.write({ kind: 'put', index: 1, record: makeRecord('api', 'before') }), 10_000, 'first write');
    cluster.pause(0);
    try {
      const started = Date.now();
      const failure = await failureOf(a.write({ kind: 'put', index: 2, record: makeRecord('api', 'during') }));
      console.log(`etcd frozen: write failed with ${(failure as { code?: string }).code} after ${Date.now() - started} ms (deadline 1000 ms)`);
      expect(hasErrorCode(failure, 'STORE_UNAVAILABLE')).toBe(true);
      await waitFor(() => a.stale, 5000, 'probe notices the frozen member');
    } finally {
      cluster.resume(0);
    }
    await waitFor(() => !a.stale, 10_000, 'probe and watch healthy again');
    await eventually(() => a.write({ kind: 'put', index: 3, record: makeRecord('api', 'after') }), 10_000, 'write after thaw');
    // The write that timed out may or may not have committed; the feed tells, and the feed is what counts.
    await waitFor(() => seen.some((e) => e.kind === 'put' && e.record.spec.id === 'after'), 5000, 'later write seen');
    expect(seen[0]!.kind === 'put' && seen[0]!.record.spec.id).toBe('before');
  });

  it('reloads once and delivers the difference when its revision was compacted while it was away', async () => {
    cluster = await EtcdCluster.start(3);
    const root = `/beacon-compact/${randomUUID()}/`;
    const [first, ...others] = cluster.endpoints;
    const b = openStore([first!], root); // B talks to member 0 only
    const a = openStore(others, root);
    await a.write({ kind: 'put', index: 1, record: makeRecord('api', 'x') });
    await a.write({ kind: 'put', index: 2, record: makeRecord('api', 'y') });
    await b.load();
    const seen = follow(b);
    await a.write({ kind: 'put', index: 3, record: makeRecord('api', 'w') });
    await waitFor(() => seen.length >= 1, 5000, 'B follows');

    await cluster.kill(0);
    await waitFor(() => b.stale, 10_000, 'B cut off');
    await cluster.waitHealthy(); // the two others have a leader again (member 0 may have been it)
    await eventually(() => a.write({ kind: 'put', index: 4, record: makeRecord('api', 'z') }), 10_000, 'write to the two members');
    await a.write({ kind: 'delete', index: 5, service: 'api', id: 'x' });
    await a.write({ kind: 'put', index: 6, record: makeRecord('api', 'y', { spec: { port: 7000 } }) });
    const admin = new Etcd3({ hosts: others });
    try {
      const revision = (await admin.kv.range({ key: Buffer.from('/') })).header.revision;
      await admin.kv.compact({ revision, physical: true });
    } finally {
      admin.close();
    }

    cluster.restart(0);
    await waitFor(() => seen.length >= 4, 20_000, 'B resynchronised');
    expect(seen.slice(1).map(describeEvent).sort()).toEqual(['delete api/x', 'put api/y:7000', 'put api/z:8080']);
    expect(b.reloadCount).toBe(1);
    await waitFor(() => !b.stale, 10_000, 'B watching again'); // the new watch connects after the reload
    expect((await b.load()).records.map((r) => r.spec.id).sort()).toEqual(['w', 'y', 'z']);
  });
});
