/**
 * Single health probes: one HTTP GET or one TCP connect, each cut off at its timeout. A probe never
 * throws and never hangs: it resolves with a verdict (seed mutant D: a hung check must not hang Beacon).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** The outcome of one probe. */
export interface ProbeResult {
  /** True when the target answered as healthy. */
  readonly healthy: boolean;
  /** Short human-readable reason ("HTTP 200", "timeout after 2000 ms", "connect ECONNREFUSED"). */
  readonly note: string;
}

/** Probe options shared by every probe kind. */
export interface ProbeOptions {
  /** Cut the probe off after this many ms. */
  readonly timeoutMs: number;
  /** Aborts the probe early (e.g. the instance was deregistered). */
  readonly signal?: AbortSignal;
}

/**
 * HTTP(S) GET `url`: a 2xx status is healthy; any other status, a connection error or the timeout is
 * unhealthy. The body is drained and discarded; redirects are not followed (a 3xx is unhealthy, as in Consul).
 */
export function httpProbe(url: string, options: ProbeOptions): Promise<ProbeResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ healthy: false, note: `bad check URL ${url}` });
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return Promise.resolve({ healthy: false, note: `unsupported check URL scheme ${target.protocol}` });
  }
  return boundedProbe(options, (finish) => {
    const controller = new AbortController();
    const client = target.protocol === 'https:' ? https : http;
    const request = client.get(target, { signal: controller.signal, agent: false, headers: { 'user-agent': 'beacon-health-check', connection: 'close' } }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      finish({ healthy: status >= 200 && status < 300, note: `HTTP ${status}` });
    });
    request.on('error', (error: NodeJS.ErrnoException) => finish({ healthy: false, note: `HTTP error ${error.code ?? error.message}` }));
    return () => controller.abort();
  });
}

/** TCP connect to `host:port`: an accepted connection is healthy; refusal, error or timeout is not. */
export function tcpProbe(host: string, port: number, options: ProbeOptions): Promise<ProbeResult> {
  return boundedProbe(options, (finish) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => finish({ healthy: true, note: `TCP connect ${host}:${port} ok` }));
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ healthy: false, note: `TCP connect ${error.code ?? error.message}` }));
    return () => socket.destroy();
  });
}

/**
 * The lifecycle every probe shares: exactly one result, cut off at the timeout or when the caller's signal
 * aborts, and the probe's resources (socket, request) released by the function `start` returns.
 */
function boundedProbe(options: ProbeOptions, start: (finish: (result: ProbeResult) => void) => () => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    // eslint-disable-next-line prefer-const -- assigned after `finish` exists, which may run before that
    let release: (() => void) | undefined;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
      release?.();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ healthy: false, note: `timeout after ${options.timeoutMs} ms` }), options.timeoutMs);
    const onOuterAbort = (): void => finish({ healthy: false, note: 'probe cancelled' });
    if (options.signal?.aborted) {
      finish({ healthy: false, note: 'probe cancelled' });
      return;
    }
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    release = start(finish);
    if (settled) release(); // the probe finished while starting: release what it opened
  });
}
