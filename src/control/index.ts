/** The control API: fastify app, listeners, change feed, metrics and the client. */
export { buildControlApp, instanceView, BODY_LIMIT_BYTES, type ControlApp, type ControlDeps, type InstanceView, type RegistryWriter, type SnapshotOps } from './app.js';
export { startControlServer, type ControlServer, type ControlServerOptions } from './server.js';
export { ControlClient, ConnectionError, type ClientOptions, type RegisterBody, type ServiceSummary } from './client.js';
export { ChangeFeed, toWatchEvent, type WatchEvent, type WatchResult } from './watch.js';
export { Metrics, type DnsMetrics } from './metrics.js';
