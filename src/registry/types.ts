/**
 * The registry's data model: the seed's ServiceInstance, HealthStatus, RegistryConfig, ResolveOptions,
 * SelectionStrategy and RegistryStats, in TypeScript. Durations are milliseconds.
 */

/** Health of an instance (seed: HealthStatus). Only `healthy` instances are ever answered in DNS. */
export type HealthStatus = 'healthy' | 'unhealthy' | 'unknown';
/** The three health states, for validation and iteration. */
export const HEALTH_STATUSES: readonly HealthStatus[] = ['healthy', 'unhealthy', 'unknown'];

/** Transport protocol label of the DNS-SD service name (`_S._tcp` or `_S._udp`). */
export type Protocol = 'tcp' | 'udp';

/** Selection strategy (seed: SelectionStrategy). */
export type SelectionStrategy = 'round-robin' | 'random' | 'weighted-random' | 'least-connections';
/** All strategies, for validation and CLI help. */
export const SELECTION_STRATEGIES: readonly SelectionStrategy[] = ['round-robin', 'random', 'weighted-random', 'least-connections'];

/** An active health check definition attached to an instance. */
export type CheckDefinition =
  | { readonly type: 'http'; readonly url: string; readonly intervalMs?: number; readonly timeoutMs?: number }
  | { readonly type: 'tcp'; readonly host?: string; readonly port?: number; readonly intervalMs?: number; readonly timeoutMs?: number }
  | { readonly type: 'ttl'; readonly ttlMs?: number };

/** A check the daemon runs itself (HTTP or TCP); TTL checks are heartbeats. */
export type ActiveCheck = Extract<CheckDefinition, { type: 'http' } | { type: 'tcp' }>;

/**
 * A service instance as a caller describes it (seed: ServiceInstance), with fluent builders.
 * Fields are public and mutable like the seed's struct; the registry copies on the way in and out.
 */
export class ServiceInstance {
  /** Instance id; also its DNS-SD instance name (UTF-8, 1..63 octets). */
  id: string;
  /** IPv4/IPv6 literal or a host name. */
  address: string;
  /** Port, 1..65535. */
  port: number;
  /** Tags; each is also a DNS-SD subtype (`_tag._sub._S._P.D`). */
  tags: string[] = [];
  /** Key/value metadata, published as TXT `key=value` strings. */
  metadata: Record<string, string> = {};
  /** Initial health. Instances with an active check start `unknown` whatever this says. */
  health: HealthStatus = 'healthy';
  /** SRV weight and weighted-random weight, 0..65535 (0 = standby, see balancer/strategies). */
  weight = 1;
  /** SRV priority, 0..65535 (lower is preferred). */
  priority = 0;
  /** DNS-SD protocol label. */
  protocol: Protocol = 'tcp';
  /** SRV target host name; when absent a name is derived from the address. */
  host?: string;
  /** Heartbeat TTL in ms for this instance; defaults to the registry's `defaultTtlMs`. */
  ttlMs?: number;
  /** Optional active health check. */
  check?: CheckDefinition;

  constructor(id: string, address: string, port: number) {
    this.id = id;
    this.address = address;
    this.port = port;
  }

  /** Replace the tags. */
  withTags(tags: readonly string[]): this {
    this.tags = [...tags];
    return this;
  }
  /** Set one metadata entry. */
  withMetadata(key: string, value: string): this {
    this.metadata = { ...this.metadata, [key]: value };
    return this;
  }
  /** Set the weight. */
  withWeight(weight: number): this {
    this.weight = weight;
    return this;
  }
  /** Set the SRV priority. */
  withPriority(priority: number): this {
    this.priority = priority;
    return this;
  }
  /** Set the protocol label. */
  withProtocol(protocol: Protocol): this {
    this.protocol = protocol;
    return this;
  }
  /** Set the SRV target host name. */
  withHost(host: string): this {
    this.host = host;
    return this;
  }
  /** Set this instance's heartbeat TTL. */
  withTtl(ttlMs: number): this {
    this.ttlMs = ttlMs;
    return this;
  }
  /** Attach an active health check. */
  withCheck(check: CheckDefinition): this {
    this.check = check;
    return this;
  }
  /** Set the initial health. */
  withHealth(health: HealthStatus): this {
    this.health = health;
    return this;
  }
}

/** Plain-data form of an instance (JSON on the wire and in stores). */
export interface InstanceSpec {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly weight: number;
  readonly priority: number;
  readonly protocol: Protocol;
  readonly host?: string;
  readonly ttlMs?: number;
  readonly check?: CheckDefinition;
}

/** What the registry holds for one instance. Records are immutable: every change makes a new one. */
export interface InstanceRecord {
  /** Service name (lower case). */
  readonly service: string;
  /** The validated, normalised instance. */
  readonly spec: InstanceSpec;
  /** Current health. */
  readonly health: HealthStatus;
  /** Free-text note from the last heartbeat or check result. */
  readonly note?: string;
  /** When health last changed (ms). For unhealthy instances: since when they are critical. */
  readonly healthSince: number;
  /** Last heartbeat (ms); registration counts as one. */
  readonly lastHeartbeat: number;
  /** Administratively out of rotation. */
  readonly maintenance: boolean;
  /** Reason given with maintenance. */
  readonly maintenanceReason?: string;
  /** When first registered (ms). */
  readonly registeredAt: number;
}

/** Registry configuration (seed: RegistryConfig). All durations in ms, > 0. */
export interface RegistryConfig {
  /** Heartbeat TTL for instances that set none. Default 30 s. */
  readonly defaultTtlMs: number;
  /** Default active check interval. Default 10 s. */
  readonly healthCheckIntervalMs: number;
  /** Unhealthy for longer than this removes the instance. Default 90 s. */
  readonly deregisterCriticalAfterMs: number;
}

/** The seed's defaults. */
export const DEFAULT_REGISTRY_CONFIG: RegistryConfig = Object.freeze({
  defaultTtlMs: 30_000,
  healthCheckIntervalMs: 10_000,
  deregisterCriticalAfterMs: 90_000,
});

/** Resolution options (seed: ResolveOptions). */
export interface ResolveOptions {
  /** Every listed tag must be present on the instance. */
  readonly tags?: readonly string[];
  /** Leave out instances that are not healthy or are in maintenance. */
  readonly healthyOnly?: boolean;
  /** Selection strategy; round-robin when absent. */
  readonly strategy?: SelectionStrategy;
}

/** Registry statistics (seed: RegistryStats). */
export interface RegistryStats {
  readonly totalServices: number;
  readonly totalInstances: number;
  readonly healthyInstances: number;
  readonly unhealthyInstances: number;
  readonly unknownInstances: number;
  readonly maintenanceInstances: number;
  /** Current change index. */
  readonly index: number;
}
