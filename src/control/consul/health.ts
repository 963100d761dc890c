/** The `/v1/health` routes: a service's instances with their check status, and its checks. */
import { foldAscii } from '../../ascii.js';
import type { InstanceRecord } from '../../registry/types.js';
import type { ControlApp } from '../plugin.js';
import { withTags, type ConsulContext, type ReadQuery } from './context.js';
import * as schema from './schemas.js';
import { checksOf, serviceEntry, statusOf, type ConsulStatus } from './shapes.js';

/** `?passing`, `?passing=true|1` ask for passing entries only; `false|0` do not (Consul treats presence as true). */
function flag(value: string | undefined): boolean {
  return value !== undefined && value !== 'false' && value !== '0';
}

/** Routes under `/v1/health`. */
export function healthRoutes(app: ControlApp, { registry, node, read }: ConsulContext): void {
  const status = (record: InstanceRecord): ConsulStatus => statusOf(record, registry.isServable({ ...record, maintenance: false }));

  app.get<{ Params: { service: string }; Querystring: ReadQuery }>(
    '/v1/health/service/:service',
    { schema: { params: schema.serviceParams, querystring: schema.readQuery } },
    async (request, reply) => {
      const index = await read(request, reply);
      const passingOnly = flag(request.query.passing);
      const entries = [];
      for (const record of withTags(registry.records(foldAscii(request.params.service)), request.query.tag)) {
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
      const index = await read(request, reply);
      return registry.records(foldAscii(request.params.service)).flatMap((record) => checksOf(record, status(record), node, index));
    },
  );
}
