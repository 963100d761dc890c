/**
 * Resource plugin: the Consul-compatible HTTP API subset (`/v1/agent`, `/v1/catalog`, `/v1/health`,
 * `/v1/status`) that service-discovery tools speak, on Beacon's one registry: writes go through the same
 * WritePort as Beacon's own API, reads see the same records, health and DNS. Consul's service IDs are
 * agent-global while Beacon's instance ids are per service, so an agent route finds an instance by id across
 * services (docs/api.md, 'Consul compatibility'). Each API prefix is one route group (agent.ts, catalog.ts,
 * health.ts, status.ts) sharing one context (context.ts).
 */
import type { ControlPlugin } from '../plugin.js';
import { agentRoutes } from './agent.js';
import { acceptAnyBodyAsJson } from './body.js';
import { catalogRoutes } from './catalog.js';
import { consulContext, type ConsulDeps, type ConsulOptions } from './context.js';
import { healthRoutes } from './health.js';
import { statusRoutes } from './status.js';

export type { ConsulDeps, ConsulOptions } from './context.js';

/** Routes of the Consul-compatible API. */
export const consulRoutes: ControlPlugin<ConsulDeps & ConsulOptions> = async (app, deps) => {
  const ctx = consulContext(app, deps);
  acceptAnyBodyAsJson(app);
  agentRoutes(app, ctx);
  catalogRoutes(app, ctx);
  healthRoutes(app, ctx);
  statusRoutes(app, ctx);
};
