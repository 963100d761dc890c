/** The `/v1/status` routes: Beacon is a single node, its own leader and only peer. */
import type { ControlApp } from '../plugin.js';
import type { ConsulContext, ReadQuery } from './context.js';
import * as schema from './schemas.js';

/** Routes under `/v1/status`. */
export function statusRoutes(app: ControlApp, { node, read }: ConsulContext): void {
  app.get<{ Querystring: ReadQuery }>('/v1/status/leader', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await read(request, reply);
    // A bare JSON string, as Consul answers; fastify would send a returned string as text.
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(`${node.address}:8300`));
  });

  app.get<{ Querystring: ReadQuery }>('/v1/status/peers', { schema: { querystring: schema.readQuery } }, async (request, reply) => {
    await read(request, reply);
    return [`${node.address}:8300`];
  });
}
