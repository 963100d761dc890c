/**
 * The core end-to-end session, written once and run twice: by daemon.test.ts with node's resolver and by
 * test/interop/e2e-dig.test.ts with dig. `ports(service)` returns the sorted SRV ports DNS answers for
 * `_service._tcp.local` ([] for NODATA).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { until, type Daemon } from './daemon.js';

/** An API client on the daemon's socket, for quick read-only checks. */
export function api(daemon: Daemon): ControlClient {
  return new ControlClient({ socketPath: `${daemon.dataDir}/beacon.sock` });
}

/** Sorted SRV ports of a service, from some resolver. */
export type PortsOf = (service: string) => Promise<number[]>;

/** Daemon flags the scenarios rely on. */
export const SCENARIO_FLAGS = ['--breaker-failures', '3', '--breaker-open-timeout', '3s', '--answer-ttl', '1s', '--negative-ttl', '1s'];

/** A local HTTP check target whose status the test sets; `hang` makes it never answer. */
export async function checkTarget() {
  let status = 200;
  let hang = false;
  let requests = 0;
  const pending = new Set<Socket>();
  const server = http.createServer((req, res) => {
    requests++;
    if (hang) {
      pending.add(req.socket);
      req.socket.once('close', () => pending.delete(req.socket));
      return;
    }
    res.statusCode = status;
    res.end(String(status));
  });
  server.on('connection', (s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`,
    setStatus: (s: number) => (status = s),
    setHang: (h: boolean) => (hang = h),
    requests: () => requests,
    pending,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** registered -> in DNS; deregistered -> out. */
export async function registeredThenDeregistered(daemon: Daemon, ports: PortsOf, service = 'web'): Promise<void> {
  const out = await daemon.ok('register', service, `${service}-1`, '--address', '127.0.0.1', '--port', '8080', '--meta', 'version=1.2', '--tag', 'v1');
  expect(out).toMatch(new RegExp(`^registered ${service}/${service}-1 at 127\\.0\\.0\\.1:8080 \\(healthy, index \\d+\\)`));
  expect(await ports(service)).toEqual([8080]);
  await daemon.ok('deregister', service, `${service}-1`);
  expect(await ports(service)).toEqual([]);
}

/** heartbeats stop -> out of DNS after the TTL; a heartbeat brings it back. */
export async function heartbeatsStop(daemon: Daemon, ports: PortsOf, service = 'beat'): Promise<void> {
  await daemon.ok('register', service, 'b2', '--port', '9002', '--ttl', '60s');
  await daemon.ok('register', service, 'b1', '--port', '9001', '--ttl', '2s');
  expect(await ports(service)).toEqual([9001, 9002]);
  expect(await daemon.ok('heartbeat', service, 'b1')).toBe(`${service}/b1: healthy\n`);
  await until(() => ports(service), (p) => p.length === 1 && p[0] === 9002, 10_000);
  const listed = JSON.parse(await daemon.ok('instances', service, '--json')) as { instances: { id: string; health: string }[] };
  expect(listed.instances.find((i) => i.id === 'b1')).toMatchObject({ health: 'unhealthy' });
  await daemon.ok('heartbeat', service, 'b1');
  expect(await ports(service)).toEqual([9001, 9002]);
}

/** HTTP check target starts failing -> out of DNS; recovers -> back. */
export async function httpCheckFailsAndRecovers(daemon: Daemon, ports: PortsOf, service = 'checked'): Promise<void> {
  const target = await checkTarget();
  try {
    await daemon.ok('register', service, 'c1', '--port', '7001', '--http-check', target.url, '--check-interval', '200ms', '--check-timeout', '2s');
    await until(() => ports(service), (p) => p.length === 1);
    target.setStatus(500);
    await until(() => ports(service), (p) => p.length === 0);
    const shown = JSON.parse(await daemon.ok('show', service, 'c1', '--json')) as { instance: { health: string; note: string } };
    expect(shown.instance).toMatchObject({ health: 'unhealthy', note: 'HTTP 500' });
    target.setStatus(200);
    await until(() => ports(service), (p) => p.length === 1 && p[0] === 7001);
  } finally {
    await daemon.cli('deregister', service, 'c1');
    await target.close();
  }
}

/** A check target that never answers -> unhealthy at its timeout, while other checks and DNS stay responsive. */
export async function hungCheck(daemon: Daemon, ports: PortsOf, prefix = ''): Promise<void> {
  const hung = await checkTarget();
  const lively = await checkTarget();
  hung.setHang(true);
  const livelySvc = `${prefix}lively`;
  const hungSvc = `${prefix}hung`;
  try {
    await daemon.ok('register', livelySvc, 'l1', '--port', '7101', '--http-check', lively.url, '--check-interval', '100ms', '--check-timeout', '1s');
    await daemon.ok('register', hungSvc, 'h1', '--port', '7201', '--http-check', hung.url, '--check-interval', '30s', '--check-timeout', '4s');
    // The hung probe is in flight (its connection is open and unanswered)...
    await until(async () => hung.pending.size, (n) => n === 1);
    const livelyBefore = lively.requests();
    // ...and meanwhile DNS answers and the other check keeps probing.
    await until(() => ports(livelySvc), (p) => p.length === 1 && p[0] === 7101);
    await until(async () => lively.requests(), (n) => n >= livelyBefore + 3);
    expect(hung.pending.size).toBe(1);
    // Read through the API client, not the CLI: a CLI process start-up on a loaded machine could eat the window.
    expect((await api(daemon).instance(hungSvc, 'h1')).instance.health).toBe('unknown');
    // At its timeout the probe is cut off: connection closed, instance unhealthy, not in DNS.
    const after = await until(
      async () => JSON.parse(await daemon.ok('show', hungSvc, 'h1', '--json')) as { instance: { health: string; note?: string } },
      (v) => v.instance.health === 'unhealthy',
    );
    expect(after.instance.note).toBe('timeout after 4000 ms');
    await until(async () => hung.pending.size, (n) => n === 0);
    expect(await ports(hungSvc)).toEqual([]);
  } finally {
    await daemon.cli('deregister', hungSvc, 'h1');
    await daemon.cli('deregister', livelySvc, 'l1');
    await hung.close();
    await lively.close();
  }
}

/** 3 reported failures -> circuit open -> out of DNS -> after the open timeout, half-open -> back. */
export async function circuitOpensAndHalfOpens(daemon: Daemon, ports: PortsOf, service = 'cb'): Promise<void> {
  await daemon.ok('register', service, 'c1', '--port', '6001');
  await daemon.ok('register', service, 'c2', '--port', '6002');
  expect(await ports(service)).toEqual([6001, 6002]);
  expect(await daemon.ok('report', service, 'c1', 'failure')).toBe(`${service}/c1: circuit closed\n`);
  expect(await daemon.ok('report', service, 'c1', 'failure')).toBe(`${service}/c1: circuit closed\n`);
  expect(await daemon.ok('report', service, 'c1', 'failure')).toBe(`${service}/c1: circuit open\n`);
  expect(await ports(service)).toEqual([6002]);
  expect((await api(daemon).instance(service, 'c1')).instance.circuit).toBe('open');
  await until(() => ports(service), (p) => p.includes(6001), 10_000);
  const shown = JSON.parse(await daemon.ok('show', service, 'c1', '--json')) as { instance: { circuit: string } };
  expect(shown.instance.circuit).toBe('half-open');
  // Two successes (the success threshold) close it again.
  await daemon.ok('report', service, 'c1', 'success');
  expect(await daemon.ok('report', service, 'c1', 'success')).toBe(`${service}/c1: circuit closed\n`);
}

/**
 * DNS workers (processes or the thread) report their counters every second: 30 more queries show in
 * /v1/stats within a bounded wait.
 */
export async function workerCountersReachStats(daemon: Daemon, ports: PortsOf, service = 'counted'): Promise<void> {
  await daemon.ok('register', service, 'c-1', '--port', '31000');
  const before = JSON.parse(await daemon.ok('stats', '--json')) as { dns: { queries: number } };
  await Promise.all(Array.from({ length: 30 }, () => ports(service)));
  const stats = await until(
    async () => JSON.parse(await daemon.ok('stats', '--json')) as { dns: { queries: number } },
    (s) => s.dns.queries >= before.dns.queries + 30,
  );
  expect(stats.dns.queries).toBeGreaterThanOrEqual(before.dns.queries + 30);
}
