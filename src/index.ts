/**
 * Beacon's public library API: the registry (seed API), selection and circuit breaking, the DNS view and server,
 * stores, health checks, the control client and the daemon.
 *
 * Importing it loads no daemon-only dependency: fastify comes with `startBeacon`, better-sqlite3 with the
 * first `SqliteStore` opened, and the etcd store (gRPC) is the subpath export `beacon-dns-sd/etcd`.
 */
export * from './errors.js';
export { systemClock, ManualClock, type Clock } from './clock.js';
export { createLogger, silentLogger, type Logger } from './log.js';
export * from './registry/types.js';
export type { Mutation, MutationType, ChangeEvent, ChangeListener } from './registry/mutations.js';
export { ServiceRegistry, toServiceInstance, type RegistryOptions, type Preview } from './registry/registry.js';
export { validateInstance, validateRegistryConfig, validateServiceName, validateInstanceId, type InstanceInput } from './registry/validate.js';
export { RoundRobin, ConnectionTracker, pickRandom, pickWeighted, pickLeastConnections, seededRandom, type Candidate, type RandomSource } from './balancer/strategies.js';
export { DEFAULT_CIRCUIT_BREAKER_CONFIG, type CircuitBreakerConfig, type CircuitState } from './balancer/circuit-breaker.js';
export { SmartLoadBalancer, type CircuitChange, type LoadBalancerOptions } from './balancer/smart-load-balancer.js';
export type { DnsView, DnsInstance, DnsChange } from './dns/view.js';
export { createRegistryView } from './dns/registry-view.js';
export { startDnsServer, DEFAULT_ANSWER_TTL, DEFAULT_NEGATIVE_TTL, type DnsServer, type DnsServerOptions, type DnsStats } from './dns/server.js';
export { parseZoneFile, loadZoneDirectory, type Zone, type ZoneData } from './dns/zonefile.js';
export type { Store, LocalStore, SharedStore, StoreSnapshot, StoreWrite, StoreEvent } from './store/store.js';
export { MemoryStore } from './store/memory.js';
export { SqliteStore, type SqliteStoreOptions } from './store/sqlite.js';
export { DurableRegistry, type DurableRegistryOptions } from './registry/write-path.js';
export { saveSnapshot, restoreSnapshot, type SnapshotDocument } from './registry/snapshot.js';
export { HealthChecker, type HealthCheckerOptions } from './health/checker.js';
export { Reaper, type ReaperOptions } from './health/reaper.js';
export { ControlClient, type ClientOptions } from './control/client.js';
export { loadConfig, type BeaconConfig, type ConfigSources } from './config.js';
import type { Beacon } from './daemon/beacon.js';

export type { Beacon, BeaconInfo } from './daemon/beacon.js';

/**
 * Start every part of Beacon (see `daemon/beacon.ts`). The daemon and what only it needs (fastify, the
 * control API, DNS workers) are loaded on the first call, so importing this library stays light.
 */
export async function startBeacon(...args: Parameters<typeof import('./daemon/beacon.js').startBeacon>): Promise<Beacon> {
  const daemon = await import('./daemon/beacon.js');
  return daemon.startBeacon(...args);
}
