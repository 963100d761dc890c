/**
 * End to end, around the daemon's life: `beacon run` (register, heartbeat, deregister, signals, exit code),
 * `heartbeat --every`, `watch`, the TCP control listener with a token, and clean shutdown + restart with the
 * SQLite store.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { CLI, runCli, srvPorts, startDaemon, until, type Daemon } from './daemon.js';
import { api, checkTarget } from './scenarios.js';

/** Spawn the CLI as a long-running child; collects its stdout lines. */
function spawnCli(args: readonly string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, lines, stderr: () => stderr, exit };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('client commands around a running daemon', () => {
  let daemon: Daemon;
  const children: ReturnType<typeof spawnCli>[] = [];
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('beacon run: registered while the child lives, signals passed through, deregistered after, child exit code kept', async () => {
    // The child: a TCP server that prints "up", and on SIGTERM exits with code 7.
    const port = await freePort();
    const script = `const s=require('net').createServer().listen(${port},'127.0.0.1',()=>console.log('up'));process.on('SIGTERM',()=>{s.close();process.exit(7)})`;
    const run = spawnCli(['run', '--service', 'runner', '--port', String(port), '--id', 'r1', '--ttl', '2s', '--tcp-check', '--check-interval', '200ms', '--data-dir', daemon.dataDir, '--', process.execPath, '-e', script]);
    children.push(run);
    await until(async () => run.lines, (l) => l.includes('up'));
    await until(() => srvPorts(daemon.dnsPort, '_runner._tcp.local'), (p) => p.length === 1 && p[0] === port);
    run.child.kill('SIGTERM');
    const exit = await run.exit;
    expect(exit.code).toBe(7);
    expect(run.stderr()).toContain('deregistered runner/r1');
    expect(await srvPorts(daemon.dnsPort, '_runner._tcp.local')).toEqual([]);
    const gone = await daemon.cli('show', 'runner', 'r1');
    expect(gone.code).toBe(1);
  });

  it('beacon run exits with the code of a child that ends by itself', async () => {
    const result = await runCli(['run', '--service', 'oneshot', '--port', '1234', '--data-dir', daemon.dataDir, '--', process.execPath, '-e', 'process.exit(3)']);
    expect(result.code).toBe(3);
    // Deregistered on exit: the service lists as empty (not an error).
    const listed = await daemon.cli('instances', 'oneshot', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).instances).toEqual([]);
  });

  it('heartbeat --every keeps a short-TTL instance healthy for many TTLs, until interrupted', async () => {
    await daemon.ok('register', 'kept', 'k1', '--port', '4001', '--ttl', '2s');
    const beats = spawnCli(['heartbeat', 'kept', 'k1', '--every', '200ms', '--data-dir', daemon.dataDir]);
    children.push(beats);
    // Watch from the first beat on: how long the CLI took to start is no part of what is tested (on a busy
    // machine it can exceed the TTL, and the first beat then brings the instance back).
    await until(async () => beats.lines.length, (n) => n >= 1, 15_000);
    const from = (await api(daemon).instance('kept', 'k1')).index;
    const changes = spawnCli(['watch', '--json', '--index', String(from), '--data-dir', daemon.dataDir]);
    children.push(changes);
    await until(async () => (await api(daemon).stats()).watchers as number, (n) => n >= 1);
    // 25 more beats at 200 ms span more than two 2 s TTLs; not once did the instance change (no watch event).
    await until(async () => beats.lines.length, (n) => n >= 26, 15_000);
    expect(new Set(beats.lines)).toEqual(new Set(['kept/k1: healthy']));
    expect(changes.lines).toEqual([]);
    expect(await srvPorts(daemon.dnsPort, '_kept._tcp.local')).toEqual([4001]);
    beats.child.kill('SIGINT');
    expect((await beats.exit).code).toBe(0);
    // Without beats it expires, and `watch` reports the health change.
    await until(() => srvPorts(daemon.dnsPort, '_kept._tcp.local'), (p) => p.length === 0);
    await until(async () => changes.lines.map((l) => JSON.parse(l) as { id: string; health?: string }), (events) => events.some((e) => e.id === 'k1' && e.health === 'unhealthy'));
    changes.child.kill('SIGINT');
    expect((await changes.exit).code).toBe(0);
  });

  it('snapshot save and restore through the CLI', async () => {
    await daemon.ok('register', 'snap', 's1', '--port', '3001');
    const file = path.join(daemon.dataDir, 'backup.json');
    expect(await daemon.ok('snapshot', 'save', file)).toMatch(/^saved \d+ instances/);
    await daemon.ok('deregister', 'snap', 's1');
    expect(await srvPorts(daemon.dnsPort, '_snap._tcp.local')).toEqual([]);
    expect(await daemon.ok('snapshot', 'restore', file)).toMatch(/^restored \d+ instances/);
    expect(await srvPorts(daemon.dnsPort, '_snap._tcp.local')).toEqual([3001]);
  });
});

describe('daemon lifecycle', () => {
  it('TCP control API with a token; clean shutdown on SIGTERM; registrations survive a restart (SQLite)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-life-'));
    try {
      const httpPort = await freePort();
      const token = 'e2e-secret-token';
      const first = await startDaemon(['--http', `127.0.0.1:${httpPort}`, '--token', token], { dataDir: dir });
      try {
        const url = `http://127.0.0.1:${httpPort}`;
        const denied = await runCli(['services', '--url', url]);
        expect(denied.code).toBe(1);
        expect(denied.stderr).toContain('UNAUTHORIZED');
        const ok = await runCli(['register', 'kept', 'p1', '--port', '2001', '--url', url, '--token', token]);
        expect(ok.code).toBe(0);
        // A long-poll in flight when SIGTERM arrives is answered, not dropped.
        const client = new ControlClient({ socketPath: path.join(dir, 'beacon.sock') });
        const { index } = await client.health();
        const watching = client.watch(index, 60_000);
        await until(async () => JSON.parse(await first.ok('stats', '--json')) as { watchers: number }, (s) => s.watchers >= 1);
        expect(await first.stop()).toBe(0);
        await expect(watching).resolves.toEqual({ index, events: [], reset: false });
        expect(existsSync(path.join(dir, 'beacon.sock'))).toBe(false);
        expect(existsSync(path.join(dir, 'beacon.db'))).toBe(true);
      } finally {
        await first.stop();
      }

      const second = await startDaemon([], { dataDir: dir });
      try {
        expect(await srvPorts(second.dnsPort, '_kept._tcp.local')).toEqual([2001]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('deregister-critical-after applies to actively checked instances too', async () => {
    const target = await checkTarget();
    target.setStatus(503);
    const daemon = await startDaemon(['--deregister-critical-after', '1s']);
    try {
      const client = api(daemon);
      await daemon.ok('register', 'critical', 'x1', '--port', '1111', '--http-check', target.url, '--check-interval', '200ms');
      await daemon.ok('register', 'critical', 'x2', '--port', '1112');
      // Follow the change feed rather than poll with CLI runs: x1 is unhealthy for only 1 s, less than a CLI
      // run can take on a busy machine. Each long-poll is bounded; the test's own timeout bounds the whole.
      const events: { id: string; health?: string; removed: boolean }[] = [];
      let index = 0;
      while (!events.some((e) => e.id === 'x1' && e.removed)) {
        const result = await client.watch(index, 5_000);
        events.push(...result.events);
        index = result.index;
      }
      const x1 = events.filter((e) => e.id === 'x1').map((e) => (e.removed ? 'removed' : e.health));
      // Registered (healthy or unknown until its first check), then unhealthy; unhealthy for longer than 1 s: removed.
      expect(x1.slice(-2)).toEqual(['unhealthy', 'removed']);
      expect((await daemon.cli('show', 'critical', 'x1')).stderr).toContain('INSTANCE_NOT_FOUND');
      expect(events.filter((e) => e.id === 'x2' && e.removed)).toEqual([]);
    } finally {
      await daemon.stop();
      await target.close();
    }
  });

  it('refuses a bad configuration with one line and a non-zero exit', async () => {
    const result = await runCli(['serve', '--ttl', '0s', '--ephemeral']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ttl: must be greater than zero.*\[INVALID_CONFIGURATION\]/);
  });
});
