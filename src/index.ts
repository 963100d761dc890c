/**
 * Beacon's public library API: the registry (seed API), selection and circuit breaking, and the DNS view.
 * The DNS server, stores, health checks and the daemon are exported from their own modules as they land.
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
