/**
 * `npm start` as a newcomer and a supervisor use it: it serves DNS, and a SIGTERM sent to the npm process
 * (what a container runtime or systemd sends) reaches the daemon, which shuts down cleanly and exits.
 * Data goes to a temp dir (BEACON_DATA_DIR), DNS to a free port. Needs a built dist/ (npm test builds it),
 * otherwise `npm start` builds first.
 */
import { spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ROOT } from './daemon.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The zone's SOA serial through node's resolver, or undefined if this attempt got no answer. */
async function soaSerial(port: number): Promise<number | undefined> {
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  try {
    return (await resolver.resolveSoa('local')).serial;
  } catch {
    return undefined;
  }
}

it('npm start serves DNS, and SIGTERM to the npm process stops the daemon cleanly', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beacon-npm-start-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BEACON_DATA_DIR: dataDir, BEACON_DNS_LISTEN: '127.0.0.1:0', BEACON_PRETTY: 'false', BEACON_LOG_LEVEL: 'info' },
  });
  const npmExit = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const npmClosed = new Promise<void>((resolve) => npm.once('close', () => resolve()));
  let stderr = '';
  npm.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const logs: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (entry: Record<string, unknown>) => void }[] = [];
  let buffer = '';
  npm.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.startsWith('{')) continue; // npm's own "> beacon-dns-sd start" banner
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      for (const waiter of waiters.filter((w) => w.msg === entry.msg)) waiter.resolve(entry);
    }
  });
  const logged = (msg: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const seen = logs.find((entry) => entry.msg === msg);
      if (seen) return resolve(seen);
      waiters.push({ msg, resolve });
      void npmExit.then((code) => reject(new Error(`npm start exited (${code}) before logging "${msg}": ${stderr}`)));
    });
  // Whatever happens, leave no daemon behind.
  const daemon: { pid?: number } = {};
  cleanups.push(() => {
    if (daemon.pid !== undefined && alive(daemon.pid)) process.kill(daemon.pid, 'SIGKILL');
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
  });

  const started = await logged('beacon started');
  const daemonPid = (daemon.pid = started.pid as number);
  expect(daemonPid).not.toBe(npm.pid);
  const udp = (started.dns as { udp: string[] }).udp[0]!;
  const port = Number(udp.slice(udp.lastIndexOf(':') + 1));
  expect(started.dataDir).toBe(dataDir);

  // Bounded: at most 20 queries of up to 500 ms each.
  let serial: number | undefined;
  for (let attempt = 0; attempt < 20 && serial === undefined; attempt++) serial = await soaSerial(port);
  expect(serial).toBeTypeOf('number');

  npm.kill('SIGTERM');
  await npmExit;
  // npm waits for its child; once npm is gone the daemon must be gone too, not orphaned and still serving.
  expect(alive(daemonPid)).toBe(false);
  // The daemon shared npm's stdout: 'close' comes once both are gone and every log line has been read.
  await npmClosed;
  const messages = logs.map((entry) => entry.msg);
  expect(messages).toContain('signal received');
  expect(messages.at(-1)).toBe('stopped');
});
