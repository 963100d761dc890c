// EtcdStore on a 3-member cluster with a sick member: a hung (SIGSTOPped) follower costs no write while a
// quorum answers; with the leader hung every write returns within the deadline; staleness flips and recovers.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from '../../src/store/etcd.js';
import { makeRecord } from '../store/fixtures.js';
import { EtcdCluster, waitFor } from './support/etcd.js';

const DEADLINE_MS = 2_000;
let cluster: EtcdCluster;
let opened: EtcdStore[] = [];

beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
});
afterAll(async () => {
  await cluster?.destroy();
});
afterEach(async () => {
  for (const store of opened) await store.close();
  opened = [];
  for (let i = 0; i < 3; i++) cluster.resume(i);
  await cluster.waitHealthy();
});

function openStore(): EtcdStore {
  const store = new EtcdStore({ endpoints: cluster.endpoints, root: `/beacon-quorum/${randomUUID()}/`, requestTimeoutMs: DEADLINE_MS });
  opened.push(store);
  return store;
}

/** The index of the member that leads now (each member's status names the leader). */
async function leaderIndex(): Promise<number> {
  for (let i = 0; i < cluster.members.length; i++) {
    const client = new Etcd3({ hosts: [cluster.members[i]!.clientUrl] });
    try {
      const status = await client.maintenance.status();
      if (status.header.member_id === status.leader) return i;
    } finally {
      client.close();
    }
  }
  throw new Error('no leader');
}

/** Write `count` instances one after another; the failures and the slowest write. */
async function writeMany(store: EtcdStore, prefix: string, count: number): Promise<{ failures: string[]; slowestMs: number }> {
  const failures: string[] = [];
  let slowestMs = 0;
  for (let i = 0; i < count; i++) {
    const started = Date.now();
    try {
      await store.write({ kind: 'put', index: i + 1, record: makeRecord('api', `${prefix}-${i}`) });
    } catch (error) {
      failures.push((error as Error).message);
    }
    slowestMs = Math.max(slowestMs, Date.now() - started);
  }
  return { failures, slowestMs };
}

describe('EtcdStore on 3 members with a sick one', () => {
  it('loses no write while a follower is hung (SIGSTOP) and a quorum answers', async () => {
    const store = openStore();
    await store.load();
    store.subscribe(() => undefined);
    await store.write({ kind: 'put', index: 0, record: makeRecord('api', 'warm-up') });
    const follower = ((await leaderIndex()) + 1) % 3;
    cluster.pause(follower);
    const resumeAt = setTimeout(() => cluster.resume(follower), 10_000);
    try {
      const { failures, slowestMs } = await writeMany(store, 'hung-follower', 100);
      console.log(`follower m${follower} hung: 100 writes, ${failures.length} failed, slowest ${slowestMs} ms`);
      expect(failures).toEqual([]);
    } finally {
      clearTimeout(resumeAt);
      cluster.resume(follower);
    }
  });

  it('answers every write within the deadline while the leader is hung', async () => {
    const store = openStore();
    await store.load();
    store.subscribe(() => undefined);
    await store.write({ kind: 'put', index: 0, record: makeRecord('api', 'warm-up') });
    const leader = await leaderIndex();
    cluster.pause(leader);
    try {
      const { failures, slowestMs } = await writeMany(store, 'hung-leader', 10);
      console.log(`leader m${leader} hung: 10 writes, ${failures.length} failed, slowest ${slowestMs} ms (deadline ${DEADLINE_MS} ms)`);
      // Small slack for the event loop and the echo; the deadline itself is what is under test.
      expect(slowestMs).toBeLessThan(DEADLINE_MS + 250);
    } finally {
      cluster.resume(leader);
    }
  });

  it('turns stale while no quorum answers, and live again when it does', async () => {
    const store = openStore();
    await store.load();
    store.subscribe(() => undefined);
    const flips: boolean[] = [];
    store.onStaleChange((stale) => flips.push(stale));
    for (let i = 0; i < 3; i++) cluster.pause(i);
    try {
      await waitFor(() => store.stale, 10_000, 'stale while every member is hung');
    } finally {
      for (let i = 0; i < 3; i++) cluster.resume(i);
    }
    await waitFor(() => !store.stale, 15_000, 'live again');
    expect(flips).toEqual([true, false]);
  });
});
