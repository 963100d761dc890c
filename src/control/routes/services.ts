/**
 * Resource plugin: services. The service listing, a service's instances (filtered by tag and health), and
 * `resolve`, which picks one instance through the selection strategies and circuit breakers.
 */
import { NoEligibleInstanceError, ServiceNotFoundError } from '../../errors.js';
import type { SelectionStrategy } from '../../registry/types.js';
import { validateServiceName } from '../../registry/validate.js';
import { instanceView, requireRecord } from '../instance-view.js';
import type { ControlPlugin } from '../plugin.js';
import type { RegistryReader, SelectionPort } from '../ports.js';
import * as schema from '../schemas.js';

/** What the services plugin needs. */
export interface ServicesDeps {
  readonly registry: Pick<RegistryReader, 'index' | 'get' | 'records' | 'listServices' | 'candidates' | 'isServable'>;
  readonly balancer: Pick<SelectionPort, 'select' | 'circuitState'>;
}

type FilterQuery = { tag?: string | string[]; healthy?: string };

/** `?healthy`, `?healthy=true|1` are true; `false|0` false; absent is `fallback`. */
function parseBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === '' || value === 'true' || value === '1';
}

/** `?tag=a&tag=b` as a list (every tag must match), or undefined when none is given. */
function asTags(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

/** Routes `/v1/services`, `/v1/services/:service/instances` and `/v1/services/:service/resolve`. */
export const servicesRoutes: ControlPlugin<ServicesDeps> = async (app, { registry, balancer }) => {
  /** The lower-cased service name; SERVICE_NOT_FOUND when it has no instance. */
  const knownService = (name: string): string => {
    const service = name.toLowerCase();
    if (registry.records(service).length === 0) throw new ServiceNotFoundError(service);
    return service;
  };

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

  app.get<{ Params: { service: string }; Querystring: FilterQuery }>(
    '/v1/services/:service/instances',
    { schema: { params: schema.serviceParams, querystring: schema.instancesQuery } },
    async (request) => {
      // An unknown service lists as empty (200 []), as in Consul: a service whose last instance was just
      // reaped or deregistered is not an error to a script that polls it.
      const service = validateServiceName(request.params.service);
      const tags = asTags(request.query.tag);
      const records = registry.candidates(service, { ...(tags ? { tags } : {}), healthyOnly: parseBool(request.query.healthy, false) });
      return { index: registry.index, service, instances: records.map((r) => instanceView(r, balancer.circuitState(r.service, r.spec.id))) };
    },
  );

  app.get<{ Params: { service: string }; Querystring: FilterQuery & { strategy?: SelectionStrategy } }>(
    '/v1/services/:service/resolve',
    { schema: { params: schema.serviceParams, querystring: schema.resolveQuery } },
    async (request) => {
      const service = knownService(request.params.service);
      const tags = asTags(request.query.tag);
      const chosen = balancer.select(service, {
        ...(tags ? { tags } : {}),
        healthyOnly: parseBool(request.query.healthy, true),
        ...(request.query.strategy ? { strategy: request.query.strategy } : {}),
      });
      if (!chosen) throw new NoEligibleInstanceError(service);
      const record = requireRecord(registry, service, chosen.id);
      return { instance: instanceView(record, balancer.circuitState(record.service, record.spec.id)) };
    },
  );
};
