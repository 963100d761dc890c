/**
 * A small typed client of the control API, over the Unix socket or over TCP with a bearer token.
 * The CLI uses it; so can scripts and tests. Failures are BeaconErrors carrying the API's code and status.
 */
import http from 'node:http';
import { BeaconError, InvalidArgumentError, type ErrorCode } from '../errors.js';
import type { BeaconSnapshot } from './zone-snapshot.js';
import type { HealthStatus, RegistryStats, SelectionStrategy } from '../registry/types.js';
import type { CircuitState } from '../balancer/circuit-breaker.js';
import type { InstanceView } from './instance-view.js';
import type { WatchResult } from './watch.js';
import type { ZoneRRsetView } from './zone-view.js';

/** How to reach the daemon: a socket path, or a base URL (`http://127.0.0.1:8500`) plus a token. */
export interface ClientOptions {
  readonly socketPath?: string;
  readonly url?: string;
  readonly token?: string;
  /** Per-request timeout (ms); long-polls add their wait to it. Default 30 s. */
  readonly timeoutMs?: number;
}

/** Fields of a registration (everything but the service and id). */
export interface RegisterBody {
  address: string;
  port: number;
  tags?: string[];
  metadata?: Record<string, string>;
  weight?: number;
  priority?: number;
  protocol?: 'tcp' | 'udp';
  host?: string;
  ttlMs?: number;
  health?: HealthStatus;
  check?: { type: 'http'; url: string; intervalMs?: number; timeoutMs?: number } | { type: 'tcp'; host?: string; port?: number; intervalMs?: number; timeoutMs?: number } | { type: 'ttl'; ttlMs?: number };
}

/** One service in a listing. */
export interface ServiceSummary {
  readonly name: string;
  readonly protocols: readonly string[];
  readonly instances: number;
  readonly healthy: number;
}

/** An error the daemon could not be reached for (as opposed to one it answered with): DAEMON_UNREACHABLE. */
export class ConnectionError extends BeaconError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DAEMON_UNREACHABLE', message, { status: 503, ...options });
  }
}

/** What to do about finding no daemon. */
const START_HINT = 'is `beacon serve` running? Start it with `beacon serve` (or `npm start` in a checkout), or point --socket, --data-dir or --url at a running one';

/** The base URL of `--url`, or INVALID_ARGUMENT naming the value: only http: URLs are served. */
function baseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`--url: not a URL: ${JSON.stringify(url)} (e.g. http://127.0.0.1:8500)`, 'url');
  }
  if (parsed.protocol !== 'http:') throw new InvalidArgumentError(`--url: only http: URLs are served, got ${JSON.stringify(url)} (e.g. http://127.0.0.1:8500)`, 'url');
  return parsed;
}

const enc = encodeURIComponent;

/** Client of the control API. */
export class ControlClient {
  private readonly base: URL | undefined;

  constructor(private readonly options: ClientOptions) {
    if (!options.socketPath && !options.url) throw new BeaconError('INVALID_ARGUMENT', 'a socket path or a URL is needed', { status: 400 });
    this.base = options.url ? baseUrl(options.url) : undefined;
  }

  /** Send one request; resolves with the parsed JSON (or text) body of a 2xx answer, rejects with a BeaconError. */
  request<T>(method: string, path: string, body?: unknown, extraTimeoutMs = 0, signal?: AbortSignal): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const target = this.base ? new URL(path, this.base) : undefined;
    const where = this.base ? `URL ${this.base.origin}` : `socket ${this.options.socketPath ?? ''}`;
    return new Promise<T>((resolve, reject) => {
      const request = http.request(
        {
          method,
          headers,
          agent: false,
          ...(signal ? { signal } : {}),
          timeout: (this.options.timeoutMs ?? 30_000) + extraTimeoutMs,
          ...(target ? { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}` } : { socketPath: this.options.socketPath, path }),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => reject(new ConnectionError(`connection to beacon at ${where} failed: ${error.message}`, { cause: error })));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            const isJson = (response.headers['content-type'] ?? '').includes('application/json');
            let parsed: unknown = text;
            if (isJson && text !== '') {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = text;
              }
            }
            if (status >= 200 && status < 300) {
              resolve(parsed as T);
              return;
            }
            const apiError = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
            reject(new BeaconError((apiError?.code ?? 'INTERNAL') as ErrorCode, apiError?.message ?? `HTTP ${status}`, { status }));
          });
        },
      );
      request.on('timeout', () => request.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
      request.on('error', (error: NodeJS.ErrnoException) => {
        const nobody = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
        const hint = nobody ? `: ${START_HINT}` : '';
        reject(new ConnectionError(`cannot reach beacon at ${where} (${error.code ?? error.message})${hint}`, { cause: error }));
      });
      request.end(payload);
    });
  }

  /** Register or replace an instance. */
  register(service: string, id: string, body: RegisterBody): Promise<{ index: number; instance: InstanceView }> {
    return this.request('PUT', `/v1/services/${enc(service)}/instances/${enc(id)}`, body);
  }
  /** Remove an instance. */
  deregister(service: string, id: string): Promise<{ index: number }> {
    return this.request('DELETE', `/v1/services/${enc(service)}/instances/${enc(id)}`);
  }
  /** Send a heartbeat (pass by default). */
  heartbeat(service: string, id: string, status: 'pass' | 'fail' = 'pass', note?: string): Promise<{ index: number; health: HealthStatus }> {
    return this.request('POST', `/v1/services/${enc(service)}/instances/${enc(id)}/heartbeat`, note === undefined ? { status } : { status, note });
  }
  /** Set an instance's health. */
  setHealth(service: string, id: string, health: HealthStatus, note?: string): Promise<{ index: number; instance: InstanceView }> {
    return this.request('PUT', `/v1/services/${enc(service)}/instances/${enc(id)}/health`, note === undefined ? { health } : { health, note });
  }
  /** Turn maintenance on or off. */
  maintenance(service: string, id: string, enabled: boolean, reason?: string): Promise<{ index: number; instance: InstanceView }> {
    return this.request('PUT', `/v1/services/${enc(service)}/instances/${enc(id)}/maintenance`, reason === undefined ? { enabled } : { enabled, reason });
  }
  /** Report a call outcome to the instance's circuit breaker. */
  report(service: string, id: string, outcome: 'success' | 'failure'): Promise<{ service: string; id: string; circuit: CircuitState }> {
    return this.request('POST', `/v1/services/${enc(service)}/instances/${enc(id)}/report`, { outcome });
  }
  /** One instance. */
  instance(service: string, id: string): Promise<{ index: number; instance: InstanceView }> {
    return this.request('GET', `/v1/services/${enc(service)}/instances/${enc(id)}`);
  }
  /** All services. */
  services(): Promise<{ index: number; services: ServiceSummary[] }> {
    return this.request('GET', '/v1/services');
  }
  /** A service's instances, optionally filtered. */
  instances(service: string, filter: { tags?: readonly string[]; healthy?: boolean } = {}): Promise<{ index: number; service: string; instances: InstanceView[] }> {
    const query = new URLSearchParams();
    for (const tag of filter.tags ?? []) query.append('tag', tag);
    if (filter.healthy !== undefined) query.set('healthy', String(filter.healthy));
    const qs = query.toString();
    return this.request('GET', `/v1/services/${enc(service)}/instances${qs ? `?${qs}` : ''}`);
  }
  /** Pick one instance. */
  resolve(service: string, options: { strategy?: SelectionStrategy; tags?: readonly string[]; healthy?: boolean } = {}): Promise<{ instance: InstanceView }> {
    const query = new URLSearchParams();
    for (const tag of options.tags ?? []) query.append('tag', tag);
    if (options.healthy !== undefined) query.set('healthy', String(options.healthy));
    if (options.strategy) query.set('strategy', options.strategy);
    const qs = query.toString();
    return this.request('GET', `/v1/services/${enc(service)}/resolve${qs ? `?${qs}` : ''}`);
  }
  /** Statistics. */
  stats(): Promise<{ registry: RegistryStats } & Record<string, unknown>> {
    return this.request('GET', '/v1/stats');
  }
  /** Daemon facts (DNS addresses, data dir, version). */
  info(): Promise<Record<string, unknown> & { index: number }> {
    return this.request('GET', '/v1/info');
  }
  /** Liveness. */
  health(): Promise<{ status: string; index: number }> {
    return this.request('GET', '/health');
  }
  /** Prometheus metrics text. */
  metrics(): Promise<string> {
    return this.request('GET', '/metrics');
  }
  /** Long-poll: changes after `index`, waiting up to `waitMs` for one; `signal` abandons the request. */
  watch(index: number, waitMs: number, signal?: AbortSignal): Promise<WatchResult> {
    return this.request('GET', `/v1/watch?index=${index}&wait=${Math.max(1, Math.round(waitMs))}ms`, undefined, waitMs, signal);
  }
  /** The registry as a snapshot document (write it where you like: the daemon writes no file). */
  snapshot(): Promise<BeaconSnapshot> {
    return this.request('GET', '/v1/snapshot');
  }
  /** Make the registry (and, from version 2, the zone data) hold exactly the document's (validated first by the daemon; all or nothing). */
  restoreSnapshot(document: BeaconSnapshot): Promise<{ index: number; instances: number; changed: number; snapshotIndex: number; zoneRRsets?: number }> {
    return this.request('PUT', '/v1/snapshot', document);
  }
  /** The dynamic zone data: RRsets DNS UPDATE keeps that describe no instance. */
  zone(): Promise<{ rrsets: ZoneRRsetView[] }> {
    return this.request('GET', '/v1/zone');
  }
  /** Delete one RRset of the dynamic zone data (NOT_FOUND when none is held). */
  deleteZoneRRset(owner: string, type: string): Promise<{ deleted: ZoneRRsetView }> {
    return this.request('DELETE', `/v1/zone/${enc(owner)}/${enc(type)}`);
  }
}
