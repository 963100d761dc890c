/** The `/v1/catalog` routes: the services Beacon knows, with their tags and instances. */
import { foldAscii } from '../../ascii.js';
import type { ControlApp } from '../plugin.js';
import { withTags, type ConsulContext, type ReadQuery } from './context.js';
import * as schema from './schemas.js';
import { catalogService } from './shapes.js';

/** Routes under `/v1/catalog`. */
export function catalogRoutes(app: ControlApp, { registry, node, read }: ConsulContext): void {
  app.get<{ Querystring: ReadQuery }>('/v1/catalog/services', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await read(request, reply);
    const services: Record<string, string[]> = {};
    for (const name of registry.listServices()) services[name] = [...new Set(registry.records(name).flatMap((record) => record.spec.tags))];
    return services;
  });

  app.get<{ Params: { service: string }; Querystring: ReadQuery }>(
    '/v1/catalog/service/:service',
    { schema: { params: schema.serviceParams, querystring: schema.readQuery } },
    async (request, reply) => {
      const index = await read(request, reply);
      return withTags(registry.records(foldAscii(request.params.service)), request.query.tag).map((record) => catalogService(record, node, index));
    },
  );
}
