/**
 * The control API as a fastify application: routes, schema validation, error mapping and (for the TCP
 * listener) bearer-token authentication. Handlers only validate, call the durable registry writer or read
 * the registry, and shape JSON; they never touch the store or DNS directly.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawServerDefault } from 'fastify';
import type { Logger } from 'pino';
import type { SmartLoadBalancer } from '../balancer/smart-load-balancer.js';
import type { CircuitState } from '../balancer/circuit-breaker.js';
import { parseDuration } from '../config.js';
import { BeaconError, InstanceNotFoundError, InvalidArgumentError, isBeaconError, ServiceNotFoundError, UnauthorizedError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { HealthStatus, InstanceRecord, InstanceSpec, SelectionStrategy } from '../registry/types.js';
import type { InstanceInput } from '../registry/validate.js';
import type { DnsMetrics, Metrics } from './metrics.js';
import * as schema from './schemas.js';
import type { ChangeFeed, WatchEvent } from './watch.js';

/** Largest accepted request body. */
export const BODY_LIMIT_BYTES = 64 * 1024;
/** Longest long-poll wait. */
export const MAX_WATCH_WAIT_MS = 5 * 60_000;
/** Long-poll wait when the client names an index but no wait. */
export const DEFAULT_WATCH_WAIT_MS = 30_000;

/** Where the API's writes go: the DurableRegistry (validate -> durable write -> apply), never the registry itself. */
export interface RegistryWriter {
  register(service: string, instance: InstanceInput): Promise<unknown>;
  deregister(service: string, id: string): Promise<unknown>;
  heartbeat(service: string, id: string, status?: 'pass' | 'fail', note?: string): Promise<unknown>;
  updateHealth(service: string, id: string, health: HealthStatus, note?: string): Promise<unknown>;
  setMaintenance(service: string, id: string, enabled: boolean, reason?: string): Promise<unknown>;
}

/** The index of the ChangeEvent a writer call resolved with, if it made one. */
function changeIndexOf(result: unknown): number | undefined {
  const index = (result as { index?: unknown } | undefined)?.index;
  return typeof index === 'number' ? index : undefined;
}

/** Snapshot save/restore, wired by the daemon to the store's snapshot functions. */
export interface SnapshotOps {
  save(file: string): Promise<unknown>;
  restore(file: string): Promise<unknown>;
}

/** Everything the control API needs. */
export interface ControlDeps {
  readonly registry: ServiceRegistry;
  readonly writer: RegistryWriter;
  readonly balancer: SmartLoadBalancer;
  readonly feed: ChangeFeed;
  readonly metrics: Metrics;
  readonly logger?: Logger;
  readonly snapshot?: SnapshotOps;
  /** DNS counters for `/metrics` and `/v1/stats`. */
  readonly dnsMetrics?: () => DnsMetrics | undefined;
  /** Extra statistics merged into `/v1/stats` (DNS server stats, checks...). */
  readonly extraStats?: () => Record<string, unknown>;
  /** Daemon facts for `/v1/info` (version, DNS addresses, data dir...). */
  readonly info?: () => Record<string, unknown>;
  /** Instances with a scheduled active check (metrics). */
  readonly checksScheduled?: () => number;
}

/** Per-listener options. */
export interface AppOptions {
  /** When set, every request but `GET /health` needs `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/** An instance as the API returns it: its spec flattened, with its service, health, maintenance and circuit. */
export type InstanceView = InstanceSpec & Omit<InstanceRecord, 'spec'> & { readonly circuit: CircuitState };

/** The API's JSON form of a record. */
export function instanceView(record: InstanceRecord, circuit: CircuitState): InstanceView {
  const { spec, ...state } = record;
  return { ...spec, ...state, circuit };
}

type InstanceParams = { service: string; id: string };

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison of the presented bearer token with the expected one. */
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  return timingSafeEqual(digest(match[1]), expected);
}

function parseBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === '' || value === 'true' || value === '1';
}

function asTags(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

function waitMs(value: string | undefined): number {
  if (value === undefined) return DEFAULT_WATCH_WAIT_MS;
  try {
    return Math.min(MAX_WATCH_WAIT_MS, parseDuration(/^[0-9.]+$/.test(value) ? `${value}s` : value, 'wait'));
  } catch (error) {
    throw new InvalidArgumentError(`wait: ${(error as Error).message}`, 'wait');
  }
}

/** Map any error to `{error: {code, message}}` with the right status. */
function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger): FastifyReply {
  if (isBeaconError(error)) {
    if (error.status >= 500) logger.error({ err: error, url: request.url }, 'request failed');
    return reply.status(error.status).send({ error: error.toJSON() });
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    // Name the offending field when ajv knows it (unknown fields are usually typos).
    const first = fe.validation[0] as { keyword?: string; params?: { additionalProperty?: string } } | undefined;
    const extra = first?.keyword === 'additionalProperties' && first.params?.additionalProperty ? `: ${JSON.stringify(first.params.additionalProperty)}` : '';
    return reply.status(400).send({ error: { code: 'INVALID_ARGUMENT', message: `${fe.message}${extra}` } });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Framework-level rejections: bad JSON (400), body too large (413), wrong content type (415).
    const message =
      fe.statusCode === 413 ? `request body too large (limit ${BODY_LIMIT_BYTES} bytes)`
      : fe.statusCode === 415 ? 'request bodies must be JSON (content-type: application/json)'
      : fe.message;
    const code = fe.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : fe.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_ARGUMENT';
    return reply.status(fe.statusCode).send({ error: { code, message } });
  }
  logger.error({ err: error, url: request.url }, 'request failed');
  return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
}

/** The control API's fastify instance type. */
export type ControlApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;

/** Build the control API application (not listening yet). */
export function buildControlApp(deps: ControlDeps, options: AppOptions = {}): ControlApp {
  const logger = deps.logger ?? silentLogger;
  const app = Fastify({
    loggerInstance: logger,
    // One debug line per request (onResponse below) instead of fastify's two info lines.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // Strict validation: no type coercion, no silently dropped fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const { registry, writer, balancer, feed, metrics } = deps;
  const sseStreams = new Set<() => void>();

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, logger));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no such endpoint: ${request.method} ${request.url.split('?')[0]}` } }),
  );
  app.addHook('onResponse', async (request, reply) => {
    logger.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  if (options.token !== undefined) {
    const expected = digest(options.token);
    // onRequest runs before the body is read: an unauthenticated client cannot make us parse anything.
    app.addHook('onRequest', async (request, reply) => {
      if (request.method === 'GET' && request.url === '/health') return;
      if (!tokenMatches(request.headers.authorization, expected)) {
        return sendError(new UnauthorizedError(), request, reply, logger);
      }
    });
  }

  app.addHook('preClose', async () => {
    feed.close();
    for (const end of [...sseStreams]) end();
  });

  const requireRecord = (service: string, id: string): InstanceRecord => {
    const name = service.toLowerCase();
    const record = registry.get(name, id);
    if (!record) {
      if (registry.records(name).length === 0) throw new ServiceNotFoundError(name);
      throw new InstanceNotFoundError(name, id);
    }
    return record;
  };
  const view = (record: InstanceRecord): InstanceView => instanceView(record, balancer.circuitState(record.service, record.spec.id));

  // ---- liveness and metrics ----
  app.get('/health', { schema: { querystring: schema.emptyQuery } }, async () => ({ status: 'ok', index: registry.index }));
  app.get('/metrics', { schema: { querystring: schema.emptyQuery } }, async (_request, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    const dns = deps.dnsMetrics?.();
    return metrics.render({
      registry: registry.stats(),
      ...(dns ? { dns } : {}),
      watchers: feed.watchers,
      ...(deps.checksScheduled ? { checksScheduled: deps.checksScheduled() } : {}),
    });
  });

  // ---- instances ----
  app.put<{ Params: InstanceParams; Body: Omit<InstanceInput, 'id'> }>(
    '/v1/services/:service/instances/:id',
    { schema: { params: schema.instanceParams, body: schema.registerBody } },
    async (request) => {
      const { service, id } = request.params;
      const event = await writer.register(service, { ...request.body, id } as InstanceInput);
      const record = requireRecord(service, id);
      // The index of this write's own change: writes committed in one group are acknowledged together.
      return { index: changeIndexOf(event) ?? registry.index, instance: view(record) };
    },
  );

  app.get<{ Params: InstanceParams }>('/v1/services/:service/instances/:id', { schema: { params: schema.instanceParams, querystring: schema.emptyQuery } }, async (request) => {
    const record = requireRecord(request.params.service, request.params.id);
    return { index: registry.index, instance: view(record) };
  });

  app.delete<{ Params: InstanceParams }>('/v1/services/:service/instances/:id', { schema: { params: schema.instanceParams, querystring: schema.emptyQuery } }, async (request) => {
    const { service, id } = request.params;
    requireRecord(service, id);
    await writer.deregister(service, id);
    return { index: registry.index, deregistered: { service: service.toLowerCase(), id } };
  });

  app.post<{ Params: InstanceParams; Body: { status?: 'pass' | 'fail'; note?: string } | null }>(
    '/v1/services/:service/instances/:id/heartbeat',
    { schema: { params: schema.instanceParams, body: schema.heartbeatBody } },
    async (request) => {
      const { service, id } = request.params;
      requireRecord(service, id);
      await writer.heartbeat(service, id, request.body?.status ?? 'pass', request.body?.note);
      const record = requireRecord(service, id);
      return { index: registry.index, health: record.health };
    },
  );

  app.put<{ Params: InstanceParams; Body: { health: HealthStatus; note?: string } }>(
    '/v1/services/:service/instances/:id/health',
    { schema: { params: schema.instanceParams, body: schema.healthBody } },
    async (request) => {
      const { service, id } = request.params;
      requireRecord(service, id);
      await writer.updateHealth(service, id, request.body.health, request.body.note);
      return { index: registry.index, instance: view(requireRecord(service, id)) };
    },
  );

  app.put<{ Params: InstanceParams; Body: { enabled: boolean; reason?: string } }>(
    '/v1/services/:service/instances/:id/maintenance',
    { schema: { params: schema.instanceParams, body: schema.maintenanceBody } },
    async (request) => {
      const { service, id } = request.params;
      requireRecord(service, id);
      await writer.setMaintenance(service, id, request.body.enabled, request.body.reason);
      return { index: registry.index, instance: view(requireRecord(service, id)) };
    },
  );

  app.post<{ Params: InstanceParams; Body: { outcome: 'success' | 'failure' } }>(
    '/v1/services/:service/instances/:id/report',
    { schema: { params: schema.instanceParams, body: schema.reportBody } },
    async (request) => {
      const record = requireRecord(request.params.service, request.params.id);
      if (request.body.outcome === 'success') balancer.reportSuccess(record.service, record.spec.id);
      else balancer.reportFailure(record.service, record.spec.id);
      metrics.onReport(request.body.outcome);
      return { service: record.service, id: record.spec.id, circuit: balancer.circuitState(record.service, record.spec.id) };
    },
  );

  // ---- services and resolution ----
  app.get('/v1/services', { schema: { querystring: schema.emptyQuery } }, async () => {
    const services = registry.listServices().map((name) => {
      const records = registry.records(name);
      return {
        name,
        protocols: [...new Set(records.map((r) => r.spec.protocol))],
        instances: records.length,
        healthy: records.filter((r) => registry.isServable(r)).length,
      };
    });
    return { index: registry.index, services };
  });

  app.get<{ Params: { service: string }; Querystring: { tag?: string | string[]; healthy?: string } }>(
    '/v1/services/:service/instances',
    { schema: { params: schema.serviceParams, querystring: schema.instancesQuery } },
    async (request) => {
      const service = request.params.service.toLowerCase();
      if (registry.records(service).length === 0) throw new ServiceNotFoundError(service);
      const tags = asTags(request.query.tag);
      const records = registry.candidates(service, { ...(tags ? { tags } : {}), healthyOnly: parseBool(request.query.healthy, false) });
      return { index: registry.index, service, instances: records.map(view) };
    },
  );

  app.get<{ Params: { service: string }; Querystring: { tag?: string | string[]; healthy?: string; strategy?: SelectionStrategy } }>(
    '/v1/services/:service/resolve',
    { schema: { params: schema.serviceParams, querystring: schema.resolveQuery } },
    async (request) => {
      const service = request.params.service.toLowerCase();
      if (registry.records(service).length === 0) throw new ServiceNotFoundError(service);
      const tags = asTags(request.query.tag);
      const chosen = balancer.select(service, {
        ...(tags ? { tags } : {}),
        healthyOnly: parseBool(request.query.healthy, true),
        ...(request.query.strategy ? { strategy: request.query.strategy } : {}),
      });
      if (!chosen) throw new BeaconError('SERVICE_NOT_FOUND', `no eligible instance of service ${service}`, { status: 404 });
      return { instance: view(requireRecord(service, chosen.id)) };
    },
  );

  // ---- stats, info ----
  app.get('/v1/stats', { schema: { querystring: schema.emptyQuery } }, async () => ({ registry: registry.stats(), watchers: feed.watchers, ...(deps.extraStats?.() ?? {}) }));
  app.get('/v1/info', { schema: { querystring: schema.emptyQuery } }, async () => ({ index: registry.index, ...(deps.info?.() ?? {}) }));

  // ---- watch ----
  app.get<{ Querystring: { index?: string; wait?: string } }>('/v1/watch', { schema: { querystring: schema.watchQuery } }, async (request) => {
    const wait = waitMs(request.query.wait);
    if (request.query.index === undefined) return feed.since(feed.index);
    const controller = new AbortController();
    request.raw.once('close', () => controller.abort());
    return feed.wait(Number(request.query.index), wait, controller.signal);
  });

  app.get<{ Querystring: { index?: string; wait?: string } }>('/v1/events', { schema: { querystring: schema.watchQuery } }, async (request, reply) => {
    const lastEventId = request.headers['last-event-id'];
    const fromText = request.query.index ?? (typeof lastEventId === 'string' && /^\d+$/.test(lastEventId) ? lastEventId : undefined);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: WatchEvent): void => {
      raw.write(`id: ${event.index}\nevent: change\ndata: ${JSON.stringify(event)}\n\n`);
    };
    raw.write(`event: hello\ndata: ${JSON.stringify({ index: feed.index })}\n\n`);
    if (fromText !== undefined) {
      const backlog = feed.since(Number(fromText));
      if (backlog.reset) raw.write(`event: reset\ndata: ${JSON.stringify({ index: backlog.index })}\n\n`);
      for (const event of backlog.events) send(event);
    }
    const unsubscribe = feed.stream(send);
    // A comment line every 15 s keeps proxies and idle timers from closing a quiet stream.
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    const end = (): void => {
      clearInterval(keepAlive);
      unsubscribe();
      sseStreams.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    sseStreams.add(end);
    request.raw.once('close', end);
  });

  // ---- snapshots ----
  app.post<{ Body: { file: string } }>('/v1/snapshot/save', { schema: { body: schema.snapshotBody } }, async (request) => {
    if (!deps.snapshot) throw new InvalidArgumentError('snapshots are not available in this daemon');
    const result = await deps.snapshot.save(request.body.file);
    return { file: request.body.file, index: registry.index, instances: registry.records().length, result: result ?? null };
  });
  app.post<{ Body: { file: string } }>('/v1/snapshot/restore', { schema: { body: schema.snapshotBody } }, async (request) => {
    if (!deps.snapshot) throw new InvalidArgumentError('snapshots are not available in this daemon');
    const result = await deps.snapshot.restore(request.body.file);
    return { file: request.body.file, index: registry.index, instances: registry.records().length, result: result ?? null };
  });

  return app;
}
