/** The control API: fastify app and its plugins, listeners, ports, change feed, metrics and the client. */
export { buildControlApp, BODY_LIMIT_BYTES, RESOURCE_PLUGINS, type AppOptions, type RegistryWriter, type SnapshotOps } from './app.js';
export { sharedPlugin, type ControlApp, type ControlDeps, type ControlPlugin } from './plugin.js';
export type { RegistryReader, SelectionPort, SnapshotPort, WritePort } from './ports.js';
export { instanceView, type InstanceView } from './instance-view.js';
export { startControlServer, type ControlServer, type ControlServerOptions } from './server.js';
export { ControlClient, ConnectionError, type ClientOptions, type RegisterBody, type ServiceSummary } from './client.js';
export { ChangeFeed, toWatchEvent, type WatchEvent, type WatchResult } from './watch.js';
export { Metrics, type DnsMetrics } from './metrics.js';
