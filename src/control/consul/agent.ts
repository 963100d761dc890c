/** The `/v1/agent` routes: register, deregister and maintain services, set TTL checks, read the agent's view. */
import { foldAscii } from '../../ascii.js';
import { InvalidArgumentError } from '../../errors.js';
import type { HealthStatus, InstanceRecord } from '../../registry/types.js';
import type { InstanceInput } from '../../registry/validate.js';
import type { ControlApp } from '../plugin.js';
import type { WritePort } from '../ports.js';
import type { ConsulContext, ReadQuery } from './context.js';
import { fromConsulService, HEALTH_OF_STATUS } from './definition.js';
import { byCheckId, byId, holdersOf } from './lookup.js';
import * as schema from './schemas.js';
import { agentService, type ConsulStatus } from './shapes.js';

/** Routes under `/v1/agent`. */
export function agentRoutes(app: ControlApp, ctx: ConsulContext): void {
  agentServiceWrites(app, ctx);
  agentCheckWrites(app, ctx);
  agentReads(app, ctx);
}

function agentServiceWrites(app: ControlApp, { registry, writer }: ConsulContext): void {
  app.put<{ Body: Record<string, unknown> }>('/v1/agent/service/register', { schema: { body: schema.registerBody, querystring: schema.writeQuery } }, async (request, reply) => {
    const registration = fromConsulService(request.body);
    const service = foldAscii(registration.service);
    const { instance } = registration;
    const existing = registry.records(service).find((record) => record.spec.id === instance.id);
    // Consul keeps a check's status across re-registration unless the definition sets Status.
    const keepHealth = existing !== undefined && !registration.statusGiven && existing.spec.check?.type === instance.check?.type && instance.check !== undefined;
    await writer.register(registration.service, keepHealth ? { ...instance, health: existing.health } : instance);
    // A Consul ID is agent-global: registering it under another name moves it there.
    for (const other of holdersOf(registry, instance.id)) if (other.service !== service) await writer.deregister(other.service, other.spec.id);
    return reply.send();
  });

  app.put<{ Params: { id: string } }>('/v1/agent/service/deregister/:id', { schema: { params: schema.idParams, querystring: schema.writeQuery } }, async (request, reply) => {
    // Idempotent: an ID that is not registered (any more) is already deregistered.
    for (const record of holdersOf(registry, request.params.id)) await writer.deregister(record.service, record.spec.id);
    return reply.send();
  });

  app.put<{ Params: { id: string }; Querystring: { enable?: string; reason?: string } }>(
    '/v1/agent/service/maintenance/:id',
    { schema: { params: schema.idParams, querystring: schema.maintenanceQuery } },
    async (request, reply) => {
      const { enable, reason } = request.query;
      if (enable === undefined || enable === '') throw new InvalidArgumentError('missing value for enable', 'enable');
      if (enable !== 'true' && enable !== 'false') throw new InvalidArgumentError(`invalid value for enable: ${JSON.stringify(enable)}`, 'enable');
      const record = byId(registry, request.params.id);
      await writer.setMaintenance(record.service, record.spec.id, enable === 'true', enable === 'true' && reason ? reason : undefined);
      return reply.send();
    },
  );
}

function agentCheckWrites(app: ControlApp, { registry, writer }: ConsulContext): void {
  for (const [verb, consulStatus] of [['pass', 'passing'], ['warn', 'warning'], ['fail', 'critical']] as const) {
    app.put<{ Params: { checkId: string }; Querystring: { note?: string } }>(
      `/v1/agent/check/${verb}/:checkId`,
      { schema: { params: schema.checkParams, querystring: schema.noteQuery } },
      async (request, reply) => {
        await setStatus(writer, byCheckId(registry, request.params.checkId), consulStatus, request.query.note || undefined);
        return reply.send();
      },
    );
  }

  app.put<{ Params: { checkId: string }; Body: { Status: string; Output?: string } }>(
    '/v1/agent/check/update/:checkId',
    { schema: { params: schema.checkParams, querystring: schema.writeQuery, body: schema.checkUpdateBody } },
    async (request, reply) => {
      const record = byCheckId(registry, request.params.checkId);
      if (HEALTH_OF_STATUS[request.body.Status] === undefined) throw new InvalidArgumentError('Status must be passing, warning or critical', 'Status');
      await setStatus(writer, record, request.body.Status as ConsulStatus, request.body.Output || undefined);
      return reply.send();
    },
  );
}

function agentReads(app: ControlApp, { registry, info, node, read }: ConsulContext): void {
  app.get<{ Querystring: ReadQuery }>('/v1/agent/services', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await read(request, reply);
    const services: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    for (const record of registry.records()) seen.set(record.spec.id, (seen.get(record.spec.id) ?? 0) + 1);
    // An id held by several services (possible through Beacon's own API only) is keyed `service/id` to keep each.
    for (const record of registry.records()) services[(seen.get(record.spec.id) ?? 0) > 1 ? `${record.service}/${record.spec.id}` : record.spec.id] = agentService(record, node);
    return services;
  });

  app.get<{ Params: { id: string }; Querystring: ReadQuery }>('/v1/agent/service/:id', { schema: { params: schema.idParams, querystring: schema.readQuery } }, async (request, reply) => {
    await read(request, reply);
    return agentService(byId(registry, request.params.id), node);
  });

  app.get<{ Querystring: ReadQuery }>('/v1/agent/self', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await read(request, reply);
    const version = String(info()?.version ?? '');
    return {
      Config: { Datacenter: node.datacenter, PrimaryDatacenter: node.datacenter, NodeName: node.name, NodeID: node.id, Server: true, Revision: '', Version: version, Beacon: true },
      Member: { Name: node.name, Addr: node.address, Port: 0, Tags: { dc: node.datacenter, role: 'node' }, Status: 1 },
      Meta: {},
    };
  });
}

/** Set a TTL check's status: pass and fail are heartbeats; warn re-registers the same spec as `unknown`, renewing the TTL. */
async function setStatus(writer: WritePort, record: InstanceRecord, consulStatus: ConsulStatus, note: string | undefined): Promise<void> {
  const { service } = record;
  const { id } = record.spec;
  if (consulStatus === 'passing') await writer.heartbeat(service, id, 'pass', note);
  else if (consulStatus === 'critical') await writer.heartbeat(service, id, 'fail', note);
  else {
    await writer.register(service, asInput(record, 'unknown'));
    if (note !== undefined) await writer.updateHealth(service, id, 'unknown', note);
  }
}

/** The spec of a record as registration input (to re-register it unchanged but for its health). */
function asInput(record: InstanceRecord, health: HealthStatus): InstanceInput {
  const { spec } = record;
  return { ...spec, tags: [...spec.tags], metadata: { ...spec.metadata }, health };
}
