/**
 * Resource plugin: the Consul-compatible HTTP API subset (`/v1/agent`, `/v1/catalog`, `/v1/health`,
 * `/v1/status`) that service-discovery tools speak, on Beacon's one registry: writes go through the same
 * WritePort as Beacon's own API, reads see the same records, health and DNS. Consul's service IDs are
 * agent-global while Beacon's instance ids are per service, so an agent route finds an instance by id across
 * services (docs/api.md, 'Consul compatibility').
 */
import os from 'node:os';
import { foldAscii } from '../../ascii.js';
import { BeaconError, InvalidArgumentError, NameConflictError } from '../../errors.js';
import type { HealthStatus, InstanceRecord } from '../../registry/types.js';
import type { InstanceInput } from '../../registry/validate.js';
import type { ControlPlugin } from '../plugin.js';
import type { RegistryReader, WritePort } from '../ports.js';
import type { ChangeFeed } from '../watch.js';
import { block, blockingIndex, blockingWaitMs, consulIndex } from './blocking.js';
import { fromConsulService, HEALTH_OF_STATUS } from './definition.js';
import * as schema from './schemas.js';
import { agentService, catalogService, checksOf, localNode, serviceEntry, statusOf, type ConsulNode, type ConsulStatus } from './shapes.js';

/** What the Consul plugin needs. */
export interface ConsulDeps {
  readonly registry: Pick<RegistryReader, 'index' | 'records' | 'listServices' | 'isServable'>;
  readonly writer: WritePort;
  readonly feed: Pick<ChangeFeed, 'index' | 'wait'>;
  /** Daemon facts; `version` is reported as the agent's version. */
  readonly info?: () => Record<string, unknown>;
}

/** Options beyond the dependencies (tests name the node). */
export interface ConsulOptions {
  readonly nodeName?: string;
  readonly datacenter?: string;
}

type ReadQuery = { index?: string; wait?: string; tag?: string | string[]; passing?: string; filter?: string };

/** `?passing`, `?passing=true|1` ask for passing entries only; `false|0` do not (Consul treats presence as true). */
function flag(value: string | undefined): boolean {
  return value !== undefined && value !== 'false' && value !== '0';
}

function tagsOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The spec of a record as registration input (to re-register it unchanged but for its health). */
function asInput(record: InstanceRecord, health: HealthStatus): InstanceInput {
  const { spec } = record;
  return { ...spec, tags: [...spec.tags], metadata: { ...spec.metadata }, health };
}

/** Routes of the Consul-compatible API. */
export const consulRoutes: ControlPlugin<ConsulDeps & ConsulOptions> = async (app, deps) => {
  const { registry, writer, feed } = deps;
  const node: ConsulNode = localNode(deps.nodeName ?? os.hostname(), deps.datacenter ?? 'dc1');
  const pending = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const controller of [...pending]) controller.abort();
  });

  // Consul reads every body as JSON whatever its content type (`curl --data @payload.json` sends a form type,
  // python-consul none), so this context parses them all as JSON; application/json keeps fastify's parser.
  const parseJson = (_request: unknown, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body.toString()));
    } catch {
      done(new InvalidArgumentError('request body is not valid JSON', 'body'), undefined);
    }
  };
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(['text/plain', '*'], { parseAs: 'string' }, parseJson);

  const status = (record: InstanceRecord): ConsulStatus => statusOf(record, registry.isServable({ ...record, maintenance: false }));

  /** Every instance with this Consul ID (its Beacon id, in any service). */
  const holdersOf = (id: string): InstanceRecord[] => registry.records().filter((record) => record.spec.id === id);

  /** The one instance with this Consul ID: 404 when none, 409 when Beacon's own API put it in several services. */
  const byId = (id: string): InstanceRecord => {
    const holders = holdersOf(id);
    if (holders.length === 0) throw new BeaconError('INSTANCE_NOT_FOUND', `unknown service ID ${JSON.stringify(id)}`, { status: 404 });
    if (holders.length > 1) {
      throw new NameConflictError(`service ID ${JSON.stringify(id)} is registered in several services (${holders.map((r) => r.service).join(', ')}); address it through /v1/services/:service/instances/:id`);
    }
    return holders[0] as InstanceRecord;
  };

  /** The instance behind a `service:<id>` check id. */
  const byCheckId = (checkId: string): InstanceRecord => {
    const id = checkId.startsWith('service:') ? checkId.slice('service:'.length) : undefined;
    if (id === undefined || holdersOf(id).length === 0) throw new BeaconError('INSTANCE_NOT_FOUND', `unknown check ID ${JSON.stringify(checkId)}`, { status: 404 });
    const record = byId(id);
    if (record.spec.check?.type === 'http' || record.spec.check?.type === 'tcp') {
      throw new InvalidArgumentError(`check ID ${JSON.stringify(checkId)} is an ${record.spec.check.type.toUpperCase()} check, which Beacon probes itself; only TTL checks take pass, warn and fail`, 'checkId');
    }
    return record;
  };

  /** Set a TTL check's status: pass and fail are heartbeats; warn re-registers the same spec as `unknown`, renewing the TTL. */
  const setStatus = async (record: InstanceRecord, consulStatus: ConsulStatus, note: string | undefined): Promise<void> => {
    const { service } = record;
    const { id } = record.spec;
    if (consulStatus === 'passing') await writer.heartbeat(service, id, 'pass', note);
    else if (consulStatus === 'critical') await writer.heartbeat(service, id, 'fail', note);
    else {
      await writer.register(service, asInput(record, 'unknown'));
      if (note !== undefined) await writer.updateHealth(service, id, 'unknown', note);
    }
  };

  /** Wait as the query asks, then set the headers every Consul read carries. */
  const blockingRead = async (query: ReadQuery, raw: NodeJS.EventEmitter, reply: { header(name: string, value: string): unknown }): Promise<number> => {
    if (query.filter !== undefined) throw new InvalidArgumentError('the filter parameter is not supported by Beacon', 'filter');
    const index = blockingIndex(query.index);
    const waitMs = blockingWaitMs(query.wait);
    const controller = new AbortController();
    pending.add(controller);
    const abort = (): void => controller.abort();
    raw.once('close', abort);
    try {
      await block(feed, index, waitMs, controller.signal);
    } finally {
      raw.off('close', abort);
      pending.delete(controller);
    }
    const current = consulIndex(registry.index);
    reply.header('X-Consul-Index', String(current));
    reply.header('X-Consul-KnownLeader', 'true');
    reply.header('X-Consul-LastContact', '0');
    return current;
  };

  const withTags = (records: readonly InstanceRecord[], tags: readonly string[]): InstanceRecord[] =>
    records.filter((record) => tags.every((tag) => record.spec.tags.includes(tag)));

  // ---- agent: writes ----

  app.put<{ Body: Record<string, unknown> }>('/v1/agent/service/register', { schema: { body: schema.registerBody, querystring: schema.writeQuery } }, async (request, reply) => {
    const registration = fromConsulService(request.body);
    const service = foldAscii(registration.service);
    const { instance } = registration;
    const existing = registry.records(service).find((record) => record.spec.id === instance.id);
    // Consul keeps a check's status across re-registration unless the definition sets Status.
    const keepHealth = existing !== undefined && !registration.statusGiven && existing.spec.check?.type === instance.check?.type && instance.check !== undefined;
    await writer.register(registration.service, keepHealth ? { ...instance, health: existing.health } : instance);
    // A Consul ID is agent-global: registering it under another name moves it there.
    for (const other of holdersOf(instance.id)) if (other.service !== service) await writer.deregister(other.service, other.spec.id);
    return reply.send();
  });

  app.put<{ Params: { id: string } }>('/v1/agent/service/deregister/:id', { schema: { params: schema.idParams, querystring: schema.writeQuery } }, async (request, reply) => {
    // Idempotent: an ID that is not registered (any more) is already deregistered.
    for (const record of holdersOf(request.params.id)) await writer.deregister(record.service, record.spec.id);
    return reply.send();
  });

  app.put<{ Params: { id: string }; Querystring: { enable?: string; reason?: string } }>(
    '/v1/agent/service/maintenance/:id',
    { schema: { params: schema.idParams, querystring: schema.maintenanceQuery } },
    async (request, reply) => {
      const { enable, reason } = request.query;
      if (enable === undefined || enable === '') throw new InvalidArgumentError('missing value for enable', 'enable');
      if (enable !== 'true' && enable !== 'false') throw new InvalidArgumentError(`invalid value for enable: ${JSON.stringify(enable)}`, 'enable');
      const record = byId(request.params.id);
      await writer.setMaintenance(record.service, record.spec.id, enable === 'true', enable === 'true' && reason ? reason : undefined);
      return reply.send();
    },
  );

  for (const [verb, consulStatus] of [['pass', 'passing'], ['warn', 'warning'], ['fail', 'critical']] as const) {
    app.put<{ Params: { checkId: string }; Querystring: { note?: string } }>(
      `/v1/agent/check/${verb}/:checkId`,
      { schema: { params: schema.checkParams, querystring: schema.noteQuery } },
      async (request, reply) => {
        await setStatus(byCheckId(request.params.checkId), consulStatus, request.query.note || undefined);
        return reply.send();
      },
    );
  }

  app.put<{ Params: { checkId: string }; Body: { Status: string; Output?: string } }>(
    '/v1/agent/check/update/:checkId',
    { schema: { params: schema.checkParams, querystring: schema.writeQuery, body: schema.checkUpdateBody } },
    async (request, reply) => {
      const record = byCheckId(request.params.checkId);
      if (HEALTH_OF_STATUS[request.body.Status] === undefined) throw new InvalidArgumentError('Status must be passing, warning or critical', 'Status');
      await setStatus(record, request.body.Status as ConsulStatus, request.body.Output || undefined);
      return reply.send();
    },
  );

  // ---- agent: reads ----

  app.get<{ Querystring: ReadQuery }>('/v1/agent/services', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await blockingRead(request.query, request.raw, reply);
    const services: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    for (const record of registry.records()) seen.set(record.spec.id, (seen.get(record.spec.id) ?? 0) + 1);
    // An id held by several services (possible through Beacon's own API only) is keyed `service/id` to keep each.
    for (const record of registry.records()) services[(seen.get(record.spec.id) ?? 0) > 1 ? `${record.service}/${record.spec.id}` : record.spec.id] = agentService(record, node);
    return services;
  });

  app.get<{ Params: { id: string }; Querystring: ReadQuery }>('/v1/agent/service/:id', { schema: { params: schema.idParams, querystring: schema.readQuery } }, async (request, reply) => {
    await blockingRead(request.query, request.raw, reply);
    return agentService(byId(request.params.id), node);
  });

  app.get<{ Querystring: ReadQuery }>('/v1/agent/self', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await blockingRead(request.query, request.raw, reply);
    const version = String(deps.info?.().version ?? '');
    return {
      Config: { Datacenter: node.datacenter, PrimaryDatacenter: node.datacenter, NodeName: node.name, NodeID: node.id, Server: true, Revision: '', Version: version, Beacon: true },
      Member: { Name: node.name, Addr: node.address, Port: 0, Tags: { dc: node.datacenter, role: 'node' }, Status: 1 },
      Meta: {},
    };
  });

  // ---- catalog ----

  app.get<{ Querystring: ReadQuery }>('/v1/catalog/services', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await blockingRead(request.query, request.raw, reply);
    const services: Record<string, string[]> = {};
    for (const name of registry.listServices()) services[name] = [...new Set(registry.records(name).flatMap((record) => record.spec.tags))];
    return services;
  });

  app.get<{ Params: { service: string }; Querystring: ReadQuery }>(
    '/v1/catalog/service/:service',
    { schema: { params: schema.serviceParams, querystring: schema.readQuery } },
    async (request, reply) => {
      const index = await blockingRead(request.query, request.raw, reply);
      return withTags(registry.records(foldAscii(request.params.service)), tagsOf(request.query.tag)).map((record) => catalogService(record, node, index));
    },
  );

  // ---- health ----

  app.get<{ Params: { service: string }; Querystring: ReadQuery }>(
    '/v1/health/service/:service',
    { schema: { params: schema.serviceParams, querystring: schema.readQuery } },
    async (request, reply) => {
      const index = await blockingRead(request.query, request.raw, reply);
      const passingOnly = flag(request.query.passing);
      const entries = [];
      for (const record of withTags(registry.records(foldAscii(request.params.service)), tagsOf(request.query.tag))) {
        const consulStatus = status(record);
        // `passing`: every check passes, so neither a warning nor an instance in maintenance (its check is critical).
        if (passingOnly && (consulStatus !== 'passing' || record.maintenance)) continue;
        entries.push(serviceEntry(record, consulStatus, node, index));
      }
      return entries;
    },
  );

  app.get<{ Params: { service: string }; Querystring: ReadQuery }>(
    '/v1/health/checks/:service',
    { schema: { params: schema.serviceParams, querystring: schema.readQuery } },
    async (request, reply) => {
      const index = await blockingRead(request.query, request.raw, reply);
      return registry.records(foldAscii(request.params.service)).flatMap((record) => checksOf(record, status(record), node, index));
    },
  );

  // ---- status: Beacon is a single node, its own leader ----

  app.get<{ Querystring: ReadQuery }>('/v1/status/leader', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await blockingRead(request.query, request.raw, reply);
    // A bare JSON string, as Consul answers; fastify would send a returned string as text.
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(`${node.address}:8300`));
  });

  app.get<{ Querystring: ReadQuery }>('/v1/status/peers', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await blockingRead(request.query, request.raw, reply);
    return [`${node.address}:8300`];
  });
};
