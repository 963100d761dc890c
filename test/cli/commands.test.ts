/**
 * Every client command run through the real program against a real control API on a Unix socket:
 * human output as snapshots (CJK and emoji ids included), `--json` output parsed. Only Date is faked (fixed
 * at T0) so ages and TTLs in the output are stable; sockets and timers stay real.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { makeDeps } from '../control/harness.js';
import { runCli } from '../e2e/daemon.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
let dir: string;
let socket: string;
let server: ControlServer;
let dispose: () => Promise<void>;
let zoneData: Awaited<ReturnType<typeof makeDeps>>['zoneData'];

/** Run `beacon <args> --socket <socket>`; resolves with what it printed. */
async function beacon(...args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'beacon', ...args, '--socket', socket]);
  } finally {
    spy.mockRestore();
  }
  return out.trimEnd();
}

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now: T0 });
  dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-cli-'));
  socket = path.join(dir, 'beacon.sock');
  const made = await makeDeps();
  server = await startControlServer(made.deps, { socketPath: socket });
  dispose = made.dispose;
  zoneData = made.zoneData;
});
afterAll(async () => {
  await server.close();
  await dispose();
  await rm(dir, { recursive: true, force: true });
  vi.useRealTimers();
});
afterEach(() => {
  vi.setSystemTime(T0);
});

describe('client commands, human output', () => {
  it('register, heartbeat, health, maintenance, report, deregister: one clear line each', async () => {
    expect(await beacon('register', 'web', '東京-1', '--address', '10.0.0.1', '--port', '8080', '--ttl', '30s')).toMatchInlineSnapshot(`"registered web/東京-1 at 10.0.0.1:8080 (healthy, index 1)"`);
    expect(await beacon('register', 'web', 'db-😀', '--address', '10.0.0.2', '--port', '8081', '--http-check', 'http://10.0.0.2:8081/health', '--check-interval', '5s')).toMatchInlineSnapshot(`"registered web/db-😀 at 10.0.0.2:8081 (unknown, index 2)"`);
    expect(await beacon('register', 'web', 'plain', '--address', '10.0.0.3', '--port', '8082', '--tag', 'v2')).toMatchInlineSnapshot(`"registered web/plain at 10.0.0.3:8082 (healthy, index 3)"`);
    expect(await beacon('heartbeat', 'web', '東京-1')).toMatchInlineSnapshot(`"web/東京-1: healthy"`);
    expect(await beacon('health', 'web', 'db-😀', 'unhealthy', '--note', 'HTTP 503')).toMatchInlineSnapshot(`"web/db-😀: unhealthy"`);
    expect(await beacon('maintenance', 'web', 'plain', 'on', '--reason', 'kernel upgrade')).toMatchInlineSnapshot(`"web/plain: maintenance on (kernel upgrade)"`);
    expect(await beacon('report', 'web', 'plain', 'success')).toMatchInlineSnapshot(`"web/plain: circuit closed"`);
  });

  it('services, instances, resolve: aligned tables by display width', async () => {
    expect(await beacon('services')).toMatchInlineSnapshot(`
      "SERVICE  PROTOCOLS  INSTANCES  HEALTHY
      web      tcp        3          1"
    `);
    expect(await beacon('instances', 'web')).toMatchInlineSnapshot(`
      "ID      ADDRESS   PORT  HEALTH                                TAGS  WEIGHT  CHECK                             NOTE
      東京-1  10.0.0.1  8080  healthy                               -     1       ttl 30s
      db-😀   10.0.0.2  8081  unhealthy                             -     1       http http://10.0.0.2:8081/health  HTTP 503
      plain   10.0.0.3  8082  healthy, maintenance: kernel upgrade  v2    1       ttl"
    `);
    expect(await beacon('resolve', 'web')).toMatchInlineSnapshot(`"10.0.0.1:8080  web/東京-1 (healthy)"`);
  });

  it('show: health, last result, last heartbeat and TTL remaining', async () => {
    vi.setSystemTime(T0 + 12_500);
    expect(await beacon('show', 'web', '東京-1')).toMatchInlineSnapshot(`
      "service          web
      id               東京-1
      address          10.0.0.1:8080 (tcp)
      health           healthy for 12.5s
      check            ttl 30s
      last result      healthy
      last heartbeat   12.5s ago
      ttl remaining    17.5s of 30s
      tags             -
      metadata         -
      weight/priority  1/0
      registered       12.5s ago"
    `);
    expect(await beacon('show', 'web', 'db-😀')).toMatchInlineSnapshot(`
      "service          web
      id               db-😀
      address          10.0.0.2:8081 (tcp)
      health           unhealthy for 12.5s
      check            http http://10.0.0.2:8081/health
      check timing     every 5s
      last result      unhealthy: HTTP 503
      last heartbeat   12.5s ago
      tags             -
      metadata         -
      weight/priority  1/0
      registered       12.5s ago"
    `);
    expect(await beacon('show', 'web', 'plain')).toMatchInlineSnapshot(`
      "service          web
      id               plain
      address          10.0.0.3:8082 (tcp)
      health           healthy for 12.5s
      maintenance      on: kernel upgrade
      check            ttl
      last result      healthy
      last heartbeat   12.5s ago
      tags             v2
      metadata         -
      weight/priority  1/0
      registered       12.5s ago"
    `);
    vi.setSystemTime(T0 + 95_000);
    expect(await beacon('show', 'web', '東京-1')).toContain('ttl remaining    expired 1m5s ago (ttl 30s)');
  });

  it('stats: registry, health checks and watchers', async () => {
    expect(await beacon('stats')).toMatchInlineSnapshot(`
      "STAT          VALUE
      services      1
      instances     3 (2 healthy, 1 unhealthy, 0 unknown, 1 in maintenance)
      change index  5
      watchers      0"
    `);
  });

  it('deregister and the empty listings', async () => {
    expect(await beacon('deregister', 'web', 'plain')).toMatchInlineSnapshot(`"deregistered web/plain"`);
    await beacon('deregister', 'web', '東京-1');
    await beacon('deregister', 'web', 'db-😀');
    expect(await beacon('services')).toBe('no services');
  });
});

describe('zone and zone delete', () => {
  const b64 = (bytes: number[] | Buffer): string => Buffer.from(bytes).toString('base64');

  it('lists dynamic zone data as a table, one row per record, and deletes an RRset', async () => {
    expect(await beacon('zone')).toBe('no dynamic zone data');
    await zoneData.write([
      { owner: 'printer.beacon.local.', type: 1, ttl: 300, rdata: [b64([10, 0, 0, 7]), b64([10, 0, 0, 8])] },
      { owner: 'printer.beacon.local.', type: 16, ttl: 60, rdata: [b64(Buffer.from('\x07model=x'))] },
      // Stored owners are ASCII presentation form, octets above 127 as \\DDD (src/dns/dynamic-zone.ts, ownerText).
      { owner: '\\230\\157\\177\\228\\186\\172.beacon.local.', type: 65280, ttl: 5, rdata: [b64([0xde, 0xad])] },
    ]);
    expect(await beacon('zone')).toMatchInlineSnapshot(`
      "OWNER                                   TYPE       TTL  DATA
      printer.beacon.local.                   A          300  10.0.0.7
      printer.beacon.local.                   A          300  10.0.0.8
      printer.beacon.local.                   TXT        60   "model=x"
      \\230\\157\\177\\228\\186\\172.beacon.local.  TYPE65280  5    \\# 2 dead"
    `);
    expect(await beacon('zone', 'delete', 'printer.beacon.local', 'a')).toBe('deleted printer.beacon.local. A (2 records)');
    expect(JSON.parse(await beacon('zone', '--json'))).toEqual({
      rrsets: [
        { owner: 'printer.beacon.local.', type: 'TXT', typeCode: 16, ttl: 60, rdata: ['"model=x"'] },
        { owner: '\\230\\157\\177\\228\\186\\172.beacon.local.', type: 'TYPE65280', typeCode: 65280, ttl: 5, rdata: ['\\# 2 dead'] },
      ],
    });
    expect(JSON.parse(await beacon('zone', 'delete', 'printer.beacon.local.', 'TXT', '--json'))).toMatchObject({ deleted: { owner: 'printer.beacon.local.', type: 'TXT' } });
    // A UTF-8 owner names the same RRset as its escaped form.
    expect(await beacon('zone', 'delete', '東京.beacon.local', 'TYPE65280')).toBe('deleted \\230\\157\\177\\228\\186\\172.beacon.local. TYPE65280 (1 record)');
    expect(await beacon('zone')).toBe('no dynamic zone data');
  });

  it('snapshot save writes the zone data (version 2) to the file and restore brings it back; a version 1 file still restores', async () => {
    await zoneData.write([{ owner: 'nas.beacon.local.', type: 1, ttl: 60, rdata: [b64([10, 0, 0, 9])] }]);
    const file = path.join(dir, 'zone-snapshot.json');
    expect(await beacon('snapshot', 'save', file)).toMatch(/^saved \d+ instances and 1 zone RRsets \(index \d+\) to /);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { version: number; zone: unknown[]; records: unknown[] };
    expect(saved).toMatchObject({ version: 2, zone: [{ owner: 'nas.beacon.local.', type: 1, ttl: 60, rdata: [b64([10, 0, 0, 9])] }] });
    await beacon('zone', 'delete', 'nas.beacon.local.', 'A');
    expect(await beacon('snapshot', 'restore', file)).toMatch(/^restored \d+ instances and 1 zone RRsets from /);
    expect(await beacon('zone')).toContain('nas.beacon.local.  A     60   10.0.0.9');
    // An older file (version 1, no zone data) restores the registry and leaves the zone data alone.
    const { zone: _zone, ...older } = saved;
    await writeFile(file, JSON.stringify({ ...older, version: 1 }));
    expect(await beacon('snapshot', 'restore', file)).toMatch(/^restored \d+ instances from /);
    expect(await beacon('zone')).toContain('nas.beacon.local.');
    await beacon('zone', 'delete', 'nas.beacon.local.', 'A');
  });

  it('refuses a bad owner or type, and an RRset not held, with the documented error shape', async () => {
    const notHeld = await runCli(['zone', 'delete', 'nothing.beacon.local.', 'A', '--socket', socket]);
    expect(notHeld.code).toBe(1);
    expect(notHeld.stderr).toMatch(/^beacon: no A RRset at nothing\.beacon\.local\. in the dynamic zone data \[NOT_FOUND\]/);
    const badType = await runCli(['zone', 'delete', 'x.beacon.local.', 'BOGUS', '--json', '--socket', socket]);
    expect(badType.code).toBe(1);
    expect(JSON.parse(badType.stdout || badType.stderr)).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    const outside = await runCli(['zone', 'delete', 'x.example.com.', 'A', '--socket', socket]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/\[INVALID_ARGUMENT\]$/m);
  });
});

describe('client commands, --json', () => {
  it('every command prints one JSON document', async () => {
    const json = async (...args: string[]): Promise<Record<string, unknown>> => JSON.parse(await beacon(...args, '--json')) as Record<string, unknown>;
    expect(await json('register', 'api', 'α', '--address', '10.0.1.1', '--port', '80')).toMatchObject({ index: expect.any(Number), instance: { service: 'api', id: 'α' } });
    expect(await json('heartbeat', 'api', 'α')).toMatchObject({ health: 'healthy' });
    expect(await json('health', 'api', 'α', 'unknown')).toMatchObject({ instance: { health: 'unknown' } });
    expect(await json('maintenance', 'api', 'α', 'on', '--reason', 'r')).toMatchObject({ instance: { maintenance: true, maintenanceReason: 'r' } });
    expect(await json('maintenance', 'api', 'α', 'off')).toMatchObject({ instance: { maintenance: false } });
    expect(await json('health', 'api', 'α', 'healthy')).toMatchObject({ instance: { health: 'healthy' } });
    expect(await json('report', 'api', 'α', 'failure')).toMatchObject({ service: 'api', id: 'α', circuit: 'closed' });
    expect(await json('services')).toMatchObject({ services: [{ name: 'api', instances: 1 }] });
    expect(await json('instances', 'api')).toMatchObject({ instances: [{ id: 'α' }] });
    expect(await json('resolve', 'api')).toMatchObject({ instance: { id: 'α' } });
    expect(await json('show', 'api', 'α')).toMatchObject({ instance: { id: 'α', lastHeartbeat: T0 } });
    expect(await json('stats')).toMatchObject({ registry: { totalInstances: 1 } });
    expect(await json('info')).toMatchObject({ index: expect.any(Number) });
    expect(await json('deregister', 'api', 'α')).toBeTypeOf('object');
  });

  it('watch --json prints one JSON object per line; without it a header and aligned rows', async () => {
    const stop = (): void => {
      setTimeout(() => process.emit('SIGINT'), 300);
    };
    await beacon('register', 'w', 'x', '--address', '10.0.0.9', '--port', '9');
    stop();
    const lines = (await beacon('watch', '--index', '0', '--wait', '200ms', '--json')).split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('index');
    stop();
    const human = (await beacon('watch', '--index', '0', '--wait', '200ms')).split('\n');
    expect(human[0]).toBe('INDEX     CHANGE            INSTANCE                          STATE');
    expect(human.at(-1)).toMatch(/^\d+ +register +w\/x +healthy$/);
    expect(human.at(-1)?.indexOf('w/x')).toBe(human[0]?.indexOf('INSTANCE'));
  });
});

describe('refused flags (the built CLI: one line on stderr, exit status 1)', () => {
  it('resolve --healthy is gone (healthy is the default)', async () => {
    const result = await runCli(['resolve', 'api', '--healthy', '--socket', socket]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unknown option '--healthy'");
  });

  it('watch --index must be a change index', async () => {
    const result = await runCli(['watch', '--index', 'abc', '--socket', socket]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^beacon: --index: not a change index \(a whole number >= 0\): abc/);
  });

  it('serve --ephemeral --store etcd is a contradiction, not a silent memory store', async () => {
    const result = await runCli(['serve', '--ephemeral', '--store', 'etcd', '--data-dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--ephemeral keeps the registry in memory and cannot be combined with --store etcd/);
  });
});
