/**
 * Runs the real daemon (`node dist/cli/main.js serve`) as a child process in a temp data dir, with DNS on a
 * free port (port 0), and drives it with the real CLI. Needs `npm run build` first (npm test does it).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** How long `stop()` waits for the daemon to exit after SIGTERM (a clean stop takes well under a second). */
const STOP_TIMEOUT_MS = 20_000;

/** Repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI. */
export const CLI = path.join(ROOT, 'dist/cli/main.js');

/** Result of one CLI run. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running daemon. */
export interface Daemon {
  readonly dataDir: string;
  readonly dnsPort: number;
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far. */
  readonly logs: Record<string, unknown>[];
  /** Run `beacon <args> --data-dir <dataDir>`. */
  cli(...args: string[]): Promise<CliResult>;
  /** Like `cli`, but rejects unless the exit code is 0; resolves with stdout. */
  ok(...args: string[]): Promise<string>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Run the built CLI with `args`. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Options of startDaemon. */
export interface StartDaemonOptions {
  /** Data directory owned by the caller; otherwise a fresh temp dir removed on stop. */
  readonly dataDir?: string;
  /** Called with each JSON log line as it arrives, before "beacon started" too (e.g. to see a start wait). */
  readonly onLog?: (entry: Record<string, unknown>) => void;
  /** How long to wait for "beacon started" (default 15 s). */
  readonly startTimeoutMs?: number;
}

/**
 * Start `beacon serve` with extra flags; resolves once it logged "beacon started". The data dir is a fresh
 * temp dir removed on stop, unless `options.dataDir` is given (then the caller owns it).
 */
export async function startDaemon(extraArgs: readonly string[] = [], options: StartDaemonOptions = {}): Promise<Daemon> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'beacon-e2e-')));
  const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--dns-listen', '127.0.0.1:0', '--log-level', 'info', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BEACON_PRETTY: 'false' },
  });
  // Never leave a daemon behind, even if a test fails before stopping it.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffer = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          options.onLog?.(entry);
          if (entry.msg === 'beacon started') resolve(entry);
        } catch {
          // not a JSON log line
        }
      }
    });
    void exited.then((code) => reject(new Error(`beacon serve exited with ${code} before starting: ${stderr}${JSON.stringify(logs.slice(-3))}`)));
    const startTimeoutMs = options.startTimeoutMs ?? 15_000;
    setTimeout(() => reject(new Error(`beacon serve did not start within ${startTimeoutMs} ms`)), startTimeoutMs).unref();
  });
  let info: Record<string, unknown>;
  try {
    info = await started;
  } catch (error) {
    child.kill('SIGKILL');
    if (owned) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const udp = (info.dns as { udp: string[] }).udp[0]!;
  const dnsPort = Number(udp.slice(udp.lastIndexOf(':') + 1));
  const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--data-dir', dataDir]);
  return {
    dataDir,
    dnsPort,
    child,
    logs,
    cli,
    async ok(...args: string[]) {
      const result = await cli(...args);
      if (result.code !== 0) throw new Error(`beacon ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
      return result.stdout;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      // Bounded: a daemon that does not stop fails the test with its last log lines, then is killed.
      const code = await Promise.race([exited, delay(STOP_TIMEOUT_MS).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        if (owned) await rm(dataDir, { recursive: true, force: true });
        throw new Error(`beacon serve did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM; last log lines: ${JSON.stringify(logs.slice(-8))} ${stderr.slice(-2000)}`);
      }
      if (owned) await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** SRV records of `name` via node's resolver (a fresh Resolver each time: no client-side caching). */
export async function srv(port: number, name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  try {
    return await resolver.resolveSrv(name);
  } catch (error) {
    // NODATA / NXDOMAIN: no eligible instance.
    if ((error as NodeJS.ErrnoException).code === 'ENODATA' || (error as NodeJS.ErrnoException).code === 'ENOTFOUND') return [];
    throw error;
  }
}

/** The SRV ports of `name`, sorted. */
export async function srvPorts(port: number, name: string): Promise<number[]> {
  return (await srv(port, name)).map((r) => r.port).sort((a, b) => a - b);
}

/** Poll `probe` until `accept` holds, at most `timeoutMs`; resolves with the accepted value, rejects with the last one. */
export async function until<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (accept(last)) return last;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
