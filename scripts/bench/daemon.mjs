// The real daemon as a user runs it: `beacon serve` (node with `npm start`'s flags) in a temporary data directory, DNS on a
// free loopback port, the control API on the Unix socket in the data directory. Used by the load phases
// (burst, big service), which drive it only through its public interfaces (DNS and the control socket).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './children.mjs';
import { controlRequest, seedRecords } from './control.mjs';
import { answers } from './probe.mjs';
import { processTree } from './proc.mjs';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/**
 * The node flags a build is run with: those its `npm start` passes (`exec node FLAGS scripts/start.mjs` in
 * the package.json above its dist/; the systemd unit in contrib/ sets the same in NODE_OPTIONS). Each build,
 * this one or another one compared with it, is started as its own `npm start` would start it.
 */
export function launchFlags(cli) {
  const pkg = JSON.parse(readFileSync(join(dirname(cli), '..', '..', 'package.json'), 'utf8'));
  const flags = /^exec node((?: --\S+)*) scripts\/start\.mjs$/.exec(pkg.scripts?.start ?? '');
  return flags === null ? [] : flags[1].split(' ').filter(Boolean);
}

/**
 * Start `beacon serve`. Options: `workers` (--workers), `store` ('sqlite' default | 'memory'), `extraArgs`,
 * `cli` (another build's dist/cli/main.js, as BENCH_DAEMON_CLI),
 * `seed` (`[{ name, count, prefix }]`, see seedRecords: written into the SQLite database before the daemon
 * starts, which loads it in one linear pass; registering them through the API first would measure the very
 * write path under test, and take hours for 50,000 instances in one service on a slow build).
 * Instances registered without a check live on heartbeats; the load phases send none, so the daemon gets a
 * heartbeat TTL (`--ttl`, default 1h) longer than any run. Logs at `warn` so that logging is not measured.
 * Resolves once the control socket answers /health and DNS answers on the port; returns `{ pid, port,
 * socketPath, dataDir, args, pids(), stop() }`.
 */
export async function startDaemon({ workers = 1, store = 'sqlite', ttl = '1h', extraArgs = [], seed, readyTimeoutMs = 120_000, cli: otherCli } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'beacon-load-'));
  if (seed && seed.length > 0) await seedDatabase(dataDir, seed, store);
  const port = await freePort();
  const socketPath = join(dataDir, 'beacon.sock');
  const args = ['serve', '--data-dir', dataDir, '--dns-listen', `127.0.0.1:${port}`, '--store', store, '--ttl', ttl, '--log-level', 'warn', ...(workers > 1 ? ['--workers', String(workers)] : []), ...extraArgs];
  // BENCH_DAEMON_NODE_ARGS: extra node flags for the daemon only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  // (node refuses --cpu-prof in NODE_OPTIONS, and it would profile the load tools too).
  const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_DAEMON_STDOUT=FILE: keep the daemon's stdout (e.g. node's --trace-gc lines) in FILE, appended.
  const stdout = process.env.BENCH_DAEMON_STDOUT ? openSync(process.env.BENCH_DAEMON_STDOUT, 'a') : 'ignore';
  // BENCH_DAEMON_CLI=PATH (or the `cli` option): another build's dist/cli/main.js (a before/after comparison on one machine state).
  const cli = otherCli ?? (process.env.BENCH_DAEMON_CLI || CLI); // empty: this build
  const argv = [...launchFlags(cli), ...nodeArgs, cli, ...args];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', stdout, 'pipe'] });
  if (typeof stdout === 'number') closeSync(stdout);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = `${stderr}${d}`.slice(-4000); });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  exited.then(() => { gone = true; });

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (gone) throw new Error(`beacon serve exited before it was ready: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`beacon serve not ready within ${readyTimeoutMs} ms: ${stderr.trim()}`);
    }
    const up = await controlRequest(socketPath, 'GET', '/health').then((r) => r.status === 200, () => false);
    if (up && (await answers(port, 'local.', 'SOA'))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid,
    port,
    socketPath,
    dataDir,
    command: `node ${argv.join(' ')}`,
    /** The daemon's process tree now (its DNS workers included). */
    pids: () => processTree(child.pid),
    /** SIGTERM, SIGKILL after 15 s; then remove the data directory. */
    async stop() {
      if (!gone) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Write seedRecords(services) into `dataDir`'s SQLite database, through the project's own SqliteStore. */
async function seedDatabase(dataDir, services, store) {
  if (store !== 'sqlite') throw new Error('seeding before start needs the sqlite store');
  const { SqliteStore } = await import('../../dist/store/sqlite.js');
  const db = await SqliteStore.openInDirectory(dataDir);
  try {
    const records = seedRecords(services);
    await db.writeBatch(records.map((record, i) => ({ kind: 'put', index: i + 1, record })));
  } finally {
    await db.close();
  }
}
