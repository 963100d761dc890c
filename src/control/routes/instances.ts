/**
 * Resource plugin: one instance. Register (PUT), read (GET), deregister (DELETE), heartbeat, health,
 * maintenance, and call-outcome reports for its circuit breaker. Writes go through the WritePort; each
 * answer carries the change index after the write.
 */
import { hasErrorCode } from '../../errors.js';
import type { HealthStatus } from '../../registry/types.js';
import { validateInstanceId, validateServiceName, type InstanceInput } from '../../registry/validate.js';
import { instanceView, requireRecord, type InstanceView } from '../instance-view.js';
import type { Metrics } from '../metrics.js';
import type { ControlPlugin } from '../plugin.js';
import type { RegistryReader, SelectionPort, WritePort } from '../ports.js';
import * as schema from '../schemas.js';

/** What the instances plugin needs. */
export interface InstancesDeps {
  readonly registry: Pick<RegistryReader, 'index' | 'get' | 'records'>;
  readonly writer: WritePort;
  readonly balancer: Pick<SelectionPort, 'circuitState' | 'reportSuccess' | 'reportFailure'>;
  readonly metrics: Pick<Metrics, 'onReport'>;
}

type InstanceParams = { service: string; id: string };

/** Routes under `/v1/services/:service/instances/:id`. */
export const instancesRoutes: ControlPlugin<InstancesDeps> = async (app, { registry, writer, balancer, metrics }) => {
  const current = (service: string, id: string): InstanceView => {
    const record = requireRecord(registry, service, id);
    return instanceView(record, balancer.circuitState(record.service, record.spec.id));
  };

  app.put<{ Params: InstanceParams; Body: Omit<InstanceInput, 'id'> }>(
    '/v1/services/:service/instances/:id',
    { schema: { params: schema.instanceParams, body: schema.registerBody } },
    async (request) => {
      const { service, id } = request.params;
      const event = await writer.register(service, { ...request.body, id } as InstanceInput);
      // The index of this write's own change: writes committed in one group are acknowledged together.
      return { index: event?.index ?? registry.index, instance: current(service, id) };
    },
  );

  app.get<{ Params: InstanceParams }>(
    '/v1/services/:service/instances/:id',
    { schema: { params: schema.instanceParams, querystring: schema.emptyQuery } },
    async (request) => ({ index: registry.index, instance: current(request.params.service, request.params.id) }),
  );

  app.delete<{ Params: InstanceParams }>(
    '/v1/services/:service/instances/:id',
    { schema: { params: schema.instanceParams, querystring: schema.emptyQuery } },
    async (request) => {
      // Idempotent, as in Consul: deregistering what is not (or no longer) registered succeeds and changes
      // nothing, so a retried or repeated deregister is not an error. `removed` says whether this one removed it.
      const { service, id } = request.params;
      validateServiceName(service);
      validateInstanceId(id);
      let removed = false;
      if (registry.get(service.toLowerCase(), id) !== undefined) {
        try {
          await writer.deregister(service, id);
          removed = true;
        } catch (error) {
          // Reaped between the lookup and the write: already gone, which is what was asked.
          if (!hasErrorCode(error, 'INSTANCE_NOT_FOUND') && !hasErrorCode(error, 'SERVICE_NOT_FOUND')) throw error;
        }
      }
      return { index: registry.index, deregistered: { service: service.toLowerCase(), id }, removed };
    },
  );

  app.post<{ Params: InstanceParams; Body: { status?: 'pass' | 'fail'; note?: string } | null }>(
    '/v1/services/:service/instances/:id/heartbeat',
    { schema: { params: schema.instanceParams, body: schema.heartbeatBody } },
    async (request) => {
      const { service, id } = request.params;
      requireRecord(registry, service, id);
      await writer.heartbeat(service, id, request.body?.status ?? 'pass', request.body?.note);
      return { index: registry.index, health: requireRecord(registry, service, id).health };
    },
  );

  app.put<{ Params: InstanceParams; Body: { health: HealthStatus; note?: string } }>(
    '/v1/services/:service/instances/:id/health',
    { schema: { params: schema.instanceParams, body: schema.healthBody } },
    async (request) => {
      const { service, id } = request.params;
      requireRecord(registry, service, id);
      await writer.updateHealth(service, id, request.body.health, request.body.note);
      return { index: registry.index, instance: current(service, id) };
    },
  );

  app.put<{ Params: InstanceParams; Body: { enabled: boolean; reason?: string } }>(
    '/v1/services/:service/instances/:id/maintenance',
    { schema: { params: schema.instanceParams, body: schema.maintenanceBody } },
    async (request) => {
      const { service, id } = request.params;
      requireRecord(registry, service, id);
      await writer.setMaintenance(service, id, request.body.enabled, request.body.reason);
      return { index: registry.index, instance: current(service, id) };
    },
  );

  app.post<{ Params: InstanceParams; Body: { outcome: 'success' | 'failure' } }>(
    '/v1/services/:service/instances/:id/report',
    { schema: { params: schema.instanceParams, body: schema.reportBody } },
    async (request) => {
      const record = requireRecord(registry, request.params.service, request.params.id);
      if (request.body.outcome === 'success') balancer.reportSuccess(record.service, record.spec.id);
      else balancer.reportFailure(record.service, record.spec.id);
      metrics.onReport(request.body.outcome);
      return { service: record.service, id: record.spec.id, circuit: balancer.circuitState(record.service, record.spec.id) };
    },
  );
};
