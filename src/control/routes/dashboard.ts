/**
 * Resource plugin: the browser dashboard. Its page (`/`) and built assets (`/dashboard/*`, from dist/web,
 * served by @fastify/static), one overview read that carries everything the page shows
 * (`GET /v1/dashboard`), the circuit reset the page offers (`POST .../circuit/reset`), and a stream of
 * circuit transitions (`GET /v1/dashboard/circuits`, server-sent events): circuits are not registry state, so
 * `/v1/events` does not carry them. The page's other live updates come from `/v1/events` and `/v1/stats`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { BeaconError } from '../../errors.js';
import { EventStreams } from '../event-stream.js';
import { instanceView, requireRecord } from '../instance-view.js';
import type { ControlPlugin } from '../plugin.js';
import type { RegistryReader, SelectionPort } from '../ports.js';
import * as schema from '../schemas.js';

/** Where the dashboard's assets are served. */
export const DASHBOARD_ASSETS = '/dashboard/';
/** Paths the authentication plugin lets anyone GET: the page must load to show its login form. */
export const DASHBOARD_PUBLIC_PATHS: readonly string[] = ['/', '/index.html'];

/** What the dashboard plugin needs. */
export interface DashboardDeps {
  readonly registry: Pick<RegistryReader, 'index' | 'get' | 'records' | 'listServices' | 'isServable' | 'lapseAt'>;
  readonly balancer: Pick<SelectionPort, 'circuitState' | 'halfOpenAt' | 'resetCircuit' | 'onCircuitChange'>;
  /** Daemon facts (domain, DNS addresses) for the DNS names and `dig` lines. */
  readonly info?: () => Record<string, unknown>;
}

/**
 * The built assets: dist/web next to the compiled dist/control/routes, or (running the sources, as the unit
 * tests do) dist/web of the checkout. Undefined before `npm run build`.
 */
function assetsRoot(): string | undefined {
  const candidates = ['../../web/', '../../../dist/web/'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((dir) => existsSync(`${dir}index.html`));
}

/** The DNS facts the page builds names and `dig` lines from. */
function dnsFacts(info: Record<string, unknown>): { domain: string; servers: string[] } {
  const domain = typeof info.domain === 'string' ? info.domain : 'local.';
  const dns = info.dns as { udp?: unknown } | undefined;
  const servers = Array.isArray(dns?.udp) ? dns.udp.filter((s): s is string => typeof s === 'string') : [];
  return { domain, servers };
}

/** Routes `/`, `/dashboard/*`, `GET /v1/dashboard`, `GET /v1/dashboard/circuits` and `POST .../circuit/reset`. */
export const dashboardRoutes: ControlPlugin<DashboardDeps> = async (app, { registry, balancer, info }) => {
  const root = assetsRoot();
  if (root !== undefined) {
    await app.register(fastifyStatic, { root, prefix: DASHBOARD_ASSETS, index: false, cacheControl: true, maxAge: 0 });
    const page = (_request: unknown, reply: { sendFile(file: string): unknown }) => reply.sendFile('index.html');
    app.get('/', { schema: { querystring: schema.emptyQuery } }, async (request, reply) => page(request, reply));
    app.get('/index.html', async (request, reply) => page(request, reply));
  } else {
    app.get('/', async () => {
      throw new BeaconError('NOT_FOUND', 'the dashboard is not built: run npm run build', { status: 404 });
    });
  }

  app.get('/v1/dashboard', { schema: { querystring: schema.emptyQuery } }, async () => {
    const now = Date.now();
    const services = registry.listServices().map((name) => {
      const instances = registry.records(name).map((record) => ({
        ...instanceView(record, balancer.circuitState(record.service, record.spec.id)),
        servable: registry.isServable(record),
        lapseAt: registry.lapseAt(record) ?? null,
        halfOpenAt: balancer.halfOpenAt(record.service, record.spec.id) ?? null,
      }));
      return { name, protocols: [...new Set(instances.map((i) => i.protocol))], instances };
    });
    return { index: registry.index, now, dns: dnsFacts(info?.() ?? {}), services };
  });

  const streams = new EventStreams();
  app.addHook('preClose', async () => streams.endAll());

  app.get('/v1/dashboard/circuits', { schema: { querystring: schema.emptyQuery } }, async (request, reply) => {
    streams.start(request, reply, (stream) => {
      stream.send('hello', {});
      // One event per transition; the page re-reads the overview.
      return balancer.onCircuitChange((change) => stream.send('circuit', change));
    });
  });

  app.post<{ Params: { service: string; id: string } }>(
    '/v1/services/:service/instances/:id/circuit/reset',
    { schema: { params: schema.instanceParams, querystring: schema.emptyQuery } },
    async (request) => {
      const record = requireRecord(registry, request.params.service, request.params.id);
      balancer.resetCircuit(record.service, record.spec.id);
      return { service: record.service, id: record.spec.id, circuit: balancer.circuitState(record.service, record.spec.id) };
    },
  );
};
