/**
 * The control API's plugin contract. The API is a fastify application assembled in one place (app.ts) from
 * plugins: shared ones (error mapping, request log, bearer authentication) that apply to every route, then
 * one plugin per resource (routes/). A new API (a Consul-compatible one, a browser dashboard) is one more
 * plugin passed to `buildControlApp(deps, { plugins })`; no other plugin changes.
 *
 * A resource plugin:
 * - is a `ControlPlugin<Deps>`: a fastify plugin whose options are the dependencies it needs, declared as
 *   a narrow interface built from the ports in ports.ts (e.g. `Pick<RegistryReader, 'get'>`). ControlDeps
 *   must satisfy it; the assembly passes ControlDeps, so the compiler checks the wiring;
 * - runs in its own encapsulated fastify context, registered after the shared plugins, so its routes (and
 *   its 404s) are authenticated on the TCP listener and its errors come out as `{"error":{"code","message"}}`
 *   without any code of its own. It must not mark itself shared (see `sharedPlugin`);
 * - reports failure by throwing a BeaconError (a stable code and HTTP status, see src/errors.ts) and
 *   validates every params object, querystring and body with a JSON schema (coercion is off);
 * - changes state only through the WritePort, and releases what it holds open (streams, waiters) in a
 *   `preClose` hook of its own context, so `app.close()` ends it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyTypeProviderDefault, RawServerDefault } from 'fastify';
import type { Logger } from 'pino';
import type { Metrics, DnsMetrics } from './metrics.js';
import type { HealthProblem } from './routes/admin.js';
import type { RegistryReader, SelectionPort, SnapshotPort, WritePort, ZonePort } from './ports.js';
import type { ChangeFeed } from './watch.js';

/** The control API's fastify instance type. */
export type ControlApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;

/**
 * A control API plugin, given `Deps` (its slice of ControlDeps) as its options. See the contract above.
 * (`& Record<never, never>` meets fastify's options constraint without its `Record<string, any>`, which would
 * type every misspelled dependency as `any`.)
 */
export type ControlPlugin<Deps = ControlDeps> = FastifyPluginAsync<Deps & Record<never, never>, RawServerDefault, FastifyTypeProviderDefault, Logger>;

/** Everything the daemon offers the control API; each plugin takes the slice it declares. */
export interface ControlDeps {
  readonly registry: RegistryReader;
  readonly writer: WritePort;
  readonly balancer: SelectionPort;
  readonly feed: ChangeFeed;
  readonly metrics: Metrics;
  readonly logger?: Logger;
  readonly snapshot?: SnapshotPort;
  /** Dynamic zone data (`/v1/zone`): listed and deleted by RRset. */
  readonly zone?: ZonePort;
  /** DNS counters for `/metrics` and `/v1/stats`. */
  readonly dnsMetrics?: () => DnsMetrics | undefined;
  /** Extra statistics merged into `/v1/stats` (DNS server stats, checks...). */
  readonly extraStats?: () => Record<string, unknown>;
  /** Daemon facts for `/v1/info` (version, DNS addresses, data dir...). */
  readonly info?: () => Record<string, unknown>;
  /** Instances with a scheduled active check (metrics). */
  readonly checksScheduled?: () => number;
  /**
   * Called before each request is handled and before each response is sent: the daemon answers the DNS
   * queries waiting on its loop there (daemon/dns-first.ts).
   */
  readonly beforeWork?: () => void;
  /**
   * Runs each request's work (`proceed`) now or in a later turn of the event loop, so that one turn never
   * handles more requests than fit its slice (turn-pacer.ts).
   */
  readonly pace?: (proceed: () => void) => void;
  /** Why `/health` should answer 503 now (see routes/admin.ts); empty or absent when healthy. */
  readonly healthProblems?: () => readonly HealthProblem[];
}

/**
 * Mark a plugin as shared: its hooks and handlers apply to the whole application instead of its own
 * encapsulated context. This is fastify's documented `skip-override` property (docs/Reference/Plugins.md);
 * the fastify-plugin package sets the same property and adds version checks these in-tree plugins do not need.
 */
export function sharedPlugin<Deps>(plugin: ControlPlugin<Deps>): ControlPlugin<Deps> {
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}
