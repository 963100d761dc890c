/**
 * `beacon run`: start a service's command, register it once it is ready, heartbeat while the child lives,
 * deregister when it exits, pass signals through, and exit with the child's exit code (128 + signal number
 * if killed).
 *
 * Ready means: the instance's active check passes when it has one (HTTP 2xx, TCP connect), else the child
 * accepts TCP connections on its port. Until then the instance is not registered, so DNS never hands out
 * a service that is still starting, and a command that cannot start is never registered at all. The probe
 * runs at once after the spawn, then again at short intervals (50 ms growing to 200 ms), so the instance
 * is registered well within a second of the child listening; the daemon probes an active check at once
 * on registration. After `readyTimeoutMs` it is registered anyway (and the wait is reported), so a service
 * slow to listen is not kept out of the registry forever. UDP services without a check cannot be probed:
 * they are registered once the command has started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import type { ControlClient, RegisterBody } from '../control/client.js';
import { hasErrorCode } from '../errors.js';
import { httpProbe, tcpProbe, type ProbeResult } from '../health/probes.js';

/** What `run` needs. */
export interface RunOptions {
  readonly client: ControlClient;
  readonly service: string;
  readonly id: string;
  readonly body: RegisterBody;
  readonly command: readonly string[];
  /** Heartbeat period; default a third of the TTL. */
  readonly heartbeatMs: number;
  /** Register anyway after waiting this long for the child to be ready. */
  readonly readyTimeoutMs: number;
  readonly log: (line: string) => void;
}

/** Default of `--ready-timeout`. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];
/** Readiness probe pacing: first retry after 50 ms, growing by half up to every 200 ms. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 200;
/** One readiness probe gives up after this long (a hung connect must not stall the loop). */
const PROBE_TIMEOUT_MS = 1_000;

/** The probe that tells whether the child is ready to be registered, or undefined when none can tell. */
export function readinessProbe(body: RegisterBody): (() => Promise<ProbeResult>) | undefined {
  const check = body.check;
  const options = { timeoutMs: PROBE_TIMEOUT_MS };
  if (check?.type === 'http') return () => httpProbe(check.url, options);
  if (check?.type === 'tcp') return () => tcpProbe(check.host ?? body.address, check.port ?? body.port, options);
  if (body.protocol === 'udp') return undefined;
  // The child runs here: loopback reaches it whether it binds 0.0.0.0 or 127.0.0.1; an instance address
  // that is a local IP is tried too, for a child bound to that address only.
  const hosts = ['127.0.0.1', ...(net.isIP(body.address) !== 0 && body.address !== '127.0.0.1' ? [body.address] : [])];
  return async () => {
    const results = await Promise.all(hosts.map((host) => tcpProbe(host, body.port, options)));
    return results.find((r) => r.healthy) ?? results[0]!;
  };
}

type ChildEnd = { readonly code: number };

/** Resolves when the child has exited (or could not start), with the exit code `run` should use. */
function childEnd(child: ChildProcess, file: string, log: (line: string) => void): Promise<ChildEnd> {
  return new Promise((resolve) => {
    child.once('error', (error) => {
      log(`cannot start ${file}: ${error.message}`);
      resolve({ code: 127 });
    });
    child.once('exit', (exitCode, signal) => {
      if (exitCode !== null) resolve({ code: exitCode });
      else resolve({ code: 128 + ((signal && osConstants.signals[signal]) || 0) });
    });
  });
}

/** Wait `ms`, or less if `ended` settles first. */
function pause(ms: number, ended: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), ended.then(() => undefined)]).finally(() => clearTimeout(timer));
}

/** Probe until ready, the child ends, or the timeout passes. */
async function waitUntilReady(probe: () => Promise<ProbeResult>, ended: Promise<ChildEnd>, timeoutMs: number): Promise<{ state: 'ready' | 'timeout' | 'ended'; note: string }> {
  let exited = false;
  void ended.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  let delay = FIRST_RETRY_MS;
  for (;;) {
    const result = await probe();
    if (exited) return { state: 'ended', note: result.note };
    if (result.healthy) return { state: 'ready', note: result.note };
    if (Date.now() >= deadline) return { state: 'timeout', note: result.note };
    await pause(Math.min(delay, Math.max(0, deadline - Date.now())), ended);
    delay = Math.min(MAX_RETRY_MS, Math.ceil(delay * 1.5));
  }
}

/** Run the command under registration; resolves with the exit code to use. */
export async function runRegistered(options: RunOptions): Promise<number> {
  const { client, service, id, body, command, log } = options;
  const [file, ...args] = command;
  if (!file) throw new Error('run: no command given after --');

  const child = spawn(file, args, { stdio: 'inherit' });
  const ended = childEnd(child, file, log);
  const forwarders = FORWARDED.map((signal) => {
    const handler = (): void => {
      child.kill(signal);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  const stopForwarding = (): void => {
    for (const off of forwarders) off();
  };

  // Started at all? A missing command fails here and is never registered.
  const started = await Promise.race([new Promise<boolean>((resolve) => child.once('spawn', () => resolve(true))), ended.then(() => false)]);
  const probe = started ? readinessProbe(body) : undefined;
  const readiness = probe ? await waitUntilReady(probe, ended, options.readyTimeoutMs) : { state: started ? ('ready' as const) : ('ended' as const), note: '' };
  if (readiness.state === 'ended') {
    stopForwarding();
    const { code } = await ended;
    if (started) log(`${file} exited (${code}) before it was ready; not registered`);
    return code;
  }
  if (readiness.state === 'timeout') log(`${service}/${id} not ready after ${options.readyTimeoutMs} ms (${readiness.note}); registering anyway`);

  try {
    await client.register(service, id, body);
  } catch (error) {
    // The daemon refused or is unreachable: the child must not run unannounced under `run`.
    log(`register failed: ${(error as Error).message}; stopping ${file}`);
    child.kill('SIGTERM');
    await ended;
    stopForwarding();
    return 1;
  }
  log(`registered ${service}/${id} at ${body.address}:${body.port}`);

  let beating = false;
  const timer = setInterval(() => {
    if (beating) return;
    beating = true;
    client
      .heartbeat(service, id)
      .catch(async (error: unknown) => {
        // Reaped while the daemon was unreachable, or the daemon restarted without it: register again.
        if (hasErrorCode(error, 'INSTANCE_NOT_FOUND') || hasErrorCode(error, 'SERVICE_NOT_FOUND')) await client.register(service, id, body);
        else throw error;
      })
      .catch((error: unknown) => log(`heartbeat failed: ${(error as Error).message}`))
      .finally(() => {
        beating = false;
      });
  }, options.heartbeatMs);

  const { code } = await ended;
  clearInterval(timer);
  stopForwarding();
  try {
    await client.deregister(service, id);
    log(`deregistered ${service}/${id}`);
  } catch (error) {
    log(`deregister failed: ${(error as Error).message}`);
  }
  return code;
}
