/**
 * A node started before etcd comes up serves once etcd does: `beacon serve --store etcd` pointed at a port
 * where nothing listens yet logs that it keeps retrying (src/daemon/store-wait.ts) instead of exiting; once
 * a real etcd member starts on that port, the daemon loads the registry, starts DNS and the control API,
 * takes a registration through the CLI into etcd and answers it in DNS, and `/health` and `beacon stats`
 * report the store as reachable (not stale).
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { ControlClient } from '../../src/control/client.js';
import { srvPorts, startDaemon, until, type Daemon } from '../e2e/daemon.js';
import { EtcdCluster, freePort } from './support/etcd.js';

/** The daemon's log line for each failed attempt to open the store at start. */
const RETRYING = 'store not reachable yet; retrying';

let cluster: EtcdCluster | undefined;
let pending: Promise<Daemon> | undefined;

afterAll(async () => {
  // startDaemon kills the child itself if it never started; a started one is stopped here.
  await pending?.then(
    (daemon) => daemon.stop(),
    () => undefined,
  );
  await cluster?.destroy();
});

/** Resolves with the log line once `seen` holds for one, or rejects when the daemon fails to start first. */
function logLine(
  subscribe: (listener: (entry: Record<string, unknown>) => void) => void,
  seen: (entry: Record<string, unknown>) => boolean,
  timeoutMs: number,
  what: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    subscribe((entry) => {
      if (seen(entry)) resolve(entry);
    });
    setTimeout(() => reject(new Error(`no log line "${what}" within ${timeoutMs} ms`)), timeoutMs).unref();
  });
}

describe('etcd starting after the daemon', () => {
  it('the daemon waits for etcd, retrying, then serves registrations in DNS with the store not stale', async () => {
    const clientPort = await freePort();
    const listeners: ((entry: Record<string, unknown>) => void)[] = [];
    const subscribe = (listener: (entry: Record<string, unknown>) => void): void => {
      listeners.push(listener);
    };
    const retries = logLine(subscribe, (e) => e.msg === RETRYING && Number(e.attempt) >= 2, 20_000, `${RETRYING} (attempt 2)`);

    // etcd is not running yet: nothing listens on clientPort.
    const starting = startDaemon(['--store', 'etcd', '--etcd-endpoints', `127.0.0.1:${clientPort}`], {
      onLog: (entry) => listeners.forEach((listener) => listener(entry)),
      startTimeoutMs: 50_000,
    });
    pending = starting;
    // Whichever comes first: the daemon failing to start (exiting on the unreachable store) or its second retry.
    const retry = await Promise.race([retries, starting.then(() => Promise.reject(new Error('started without etcd')))]);
    expect(retry).toMatchObject({ msg: RETRYING, module: 'store', attempt: 2 });
    expect(retry.error).toMatch(/etcd read failed/);

    cluster = await EtcdCluster.start(1, { clientPorts: [clientPort] });
    expect(cluster.members[0]!.clientPort).toBe(clientPort);

    const daemon = await starting;
    const messages = daemon.logs.map((e) => e.msg);
    // It waited, then loaded, in that order, before starting.
    const firstRetry = messages.indexOf(RETRYING);
    const reachable = messages.indexOf('store reachable: registry loaded');
    expect(firstRetry).toBeGreaterThanOrEqual(0);
    expect(reachable).toBeGreaterThan(firstRetry);
    expect(messages.indexOf('beacon started')).toBeGreaterThan(reachable);
    expect(Number(daemon.logs[reachable]!.attempts)).toBeGreaterThan(1);

    // It serves: a registration through the CLI is stored in etcd and answered in DNS.
    await daemon.ok('register', 'late', 'l1', '--port', '7301', '--ttl', '10m');
    expect(await until(() => srvPorts(daemon.dnsPort, '_late._tcp.local'), (ports) => ports.length === 1, 10_000, 100)).toEqual([7301]);
    const client = new Etcd3({ hosts: cluster.endpoints });
    try {
      const values = Object.values(await client.getAll().prefix('/').strings()).filter((v) => v.includes('"late"'));
      expect(values).toHaveLength(1);
      expect(JSON.parse(values[0]!)).toMatchObject({ service: 'late', spec: { id: 'l1', port: 7301 } });
    } finally {
      client.close();
    }

    // The store is connected: not stale in `beacon stats`, and `/health` answers ok.
    const stats = await until(
      async () => JSON.parse(await daemon.ok('stats', '--json')) as { store?: { kind: string; stale: boolean; failingWrites: number } },
      (s) => s.store?.stale === false,
      10_000,
      100,
    );
    expect(stats.store).toEqual({ kind: 'etcd', stale: false, failingWrites: 0 });
    const control = new ControlClient({ socketPath: path.join(daemon.dataDir, 'beacon.sock') });
    const health = await until(
      () => control.health().then((h) => h, (error: unknown) => ({ status: `error: ${String(error)}`, index: -1 })),
      (h) => h.status === 'ok',
      10_000,
      100,
    );
    expect(health.status).toBe('ok');
  });
});
