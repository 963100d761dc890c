import { InstanceNotFoundError, NameConflictError, ServiceNotFoundError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { ConnectionTracker, RoundRobin, pickLeastConnections, pickRandom, pickWeighted, type RandomSource } from '../balancer/strategies.js';
import { mutationId, type ChangeEvent, type ChangeListener, type Mutation } from './mutations.js';
import { ServiceInstance, type HealthStatus, type InstanceRecord, type InstanceSpec, type RegistryConfig, type RegistryStats, type ResolveOptions } from './types.js';
import { validateHealth, validateInstance, validateInstanceId, validateRegistryConfig, validateServiceName, type InstanceInput } from './validate.js';
import { foldCase, isTtlBased, ttlOf } from './record.js';

/** Options for a registry beyond its configuration. */
export interface RegistryOptions {
  /** Time source; tests pass a ManualClock or use fake timers. */
  clock?: Clock;
  /** Randomness for random strategies; tests pass `seededRandom(n)`. */
  random?: RandomSource;
  /** Where isolated listener failures are logged. */
  logger?: Logger;
  /**
   * TTL liveness is enforced by the store (etcd leases), not here: heartbeat-based instances never expire
   * locally, because a node does not see the heartbeats other nodes receive; the store deletes them instead.
   */
  externalTtl?: boolean;
}

/** What a mutation would do, computed without changing anything. */
export interface Preview {
  readonly before: InstanceRecord | undefined;
  readonly after: InstanceRecord | undefined;
  /** Anything at all differs (including the heartbeat time). */
  readonly changed: boolean;
  /** Something readers care about differs (everything but the heartbeat time): this produces a ChangeEvent. */
  readonly visible: boolean;
}

/**
 * The service registry: the seed's `ServiceRegistry` API on top of a small state machine. Every change is a
 * typed Mutation applied by `apply()`, which announces a ChangeEvent with a monotonically increasing index.
 * JavaScript runs one call at a time, so each mutation is atomic: there is no read-then-write window in which
 * a concurrent registration could be lost (seed mutant B). Invalid input throws a typed error and changes nothing.
 */
export class ServiceRegistry {
  /** Validated configuration. */
  readonly config: RegistryConfig;
  /** The time source. */
  readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly logger: Logger;
  private readonly externalTtl: boolean;
  private readonly services = new Map<string, Map<string, InstanceRecord>>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly roundRobin = new RoundRobin();
  private readonly connections = new ConnectionTracker();
  private currentIndex = 0;

  constructor(config: Partial<RegistryConfig> = {}, options: RegistryOptions = {}) {
    this.config = validateRegistryConfig(config);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.externalTtl = options.externalTtl ?? false;
  }

  /** Seed's `with_config`. */
  static withConfig(config: Partial<RegistryConfig>, options?: RegistryOptions): ServiceRegistry {
    return new ServiceRegistry(config, options);
  }

  /** The change index: the index of the last ChangeEvent, 0 before any. */
  get index(): number {
    return this.currentIndex;
  }

  // ---- the seed's API ----

  /** Register an instance; an existing id in the service is replaced, never duplicated. */
  register(service: string, instance: ServiceInstance | InstanceInput): ChangeEvent {
    return this.mustApply(this.prepareRegister(service, instance));
  }

  /** Remove an instance. Throws ServiceNotFoundError / InstanceNotFoundError. Empty services disappear. */
  deregister(service: string, id: string): ChangeEvent {
    return this.mustApply(this.prepareDeregister(service, id));
  }

  /** Record a heartbeat (`pass` renews the TTL, `fail` marks the instance unhealthy). Undefined when nothing visible changed. */
  heartbeat(service: string, id: string, status: 'pass' | 'fail' = 'pass', note?: string): ChangeEvent | undefined {
    return this.apply(this.prepareHeartbeat(service, id, status, note));
  }

  /** Set an instance's health. Undefined when it already had that health. */
  updateHealth(service: string, id: string, health: HealthStatus, note?: string): ChangeEvent | undefined {
    return this.apply(this.prepareHealth(service, id, health, note));
  }

  /** Put an instance in or out of maintenance (out of DNS and healthy-only resolution while in). */
  setMaintenance(service: string, id: string, enabled: boolean, reason?: string): ChangeEvent | undefined {
    return this.apply(this.prepareMaintenance(service, id, enabled, reason));
  }

  /** One healthy instance, round-robin; undefined when there is none. (Unlike the seed, never an unhealthy one.) */
  resolve(service: string): ServiceInstance | undefined {
    return this.resolveWithOptions(service, { healthyOnly: true });
  }

  /** One instance matching the options (all tags must match; healthyOnly; strategy, round-robin by default). */
  resolveWithOptions(service: string, options: ResolveOptions = {}): ServiceInstance | undefined {
    const record = this.selectRecord(service, this.candidates(service, options), options);
    return record && toServiceInstance(record);
  }

  /** Every instance of the service, whatever its health (seed semantics). */
  resolveAll(service: string): ServiceInstance[] {
    return this.records(service).map(toServiceInstance);
  }

  /**
   * Apply TTL expiry: an instance whose TTL passed without a heartbeat becomes unhealthy (since its deadline),
   * and one unhealthy for longer than `deregisterCriticalAfterMs` is removed. Returns how many were removed (seed mutant C).
   */
  cleanupExpired(): number {
    let removed = 0;
    for (const mutation of this.expiredMutations()) {
      this.apply(mutation);
      if (mutation.type === 'deregister') removed += 1;
    }
    return removed;
  }

  /** Names of the services that have at least one instance, sorted. */
  listServices(): string[] {
    return [...this.services.keys()].sort();
  }

  /** Counts by health (seed: RegistryStats), plus maintenance and the change index. */
  stats(): RegistryStats {
    let total = 0;
    let healthy = 0;
    let unhealthy = 0;
    let unknown = 0;
    let maintenance = 0;
    for (const instances of this.services.values()) {
      for (const record of instances.values()) {
        total += 1;
        if (record.health === 'healthy') healthy += 1;
        else if (record.health === 'unhealthy') unhealthy += 1;
        else unknown += 1;
        if (record.maintenance) maintenance += 1;
      }
    }
    return {
      totalServices: this.services.size,
      totalInstances: total,
      healthyInstances: healthy,
      unhealthyInstances: unhealthy,
      unknownInstances: unknown,
      maintenanceInstances: maintenance,
      index: this.currentIndex,
    };
  }

  // ---- reads for the other modules ----

  /** The record of one instance (exact id), or undefined. */
  get(service: string, id: string): InstanceRecord | undefined {
    return this.services.get(service.toLowerCase())?.get(id);
  }

  /** All records, or those of one service, in registration order. */
  records(service?: string): InstanceRecord[] {
    if (service !== undefined) return [...(this.services.get(service.toLowerCase())?.values() ?? [])];
    const all: InstanceRecord[] = [];
    for (const instances of this.services.values()) all.push(...instances.values());
    return all;
  }

  /** Live view of one service's records (no copy): for hot read paths. Do not keep it across calls. */
  serviceRecords(service: string): ReadonlyMap<string, InstanceRecord> | undefined {
    return this.services.get(service);
  }

  /** Whether a record may be handed out by healthy-only resolution and DNS at time `now` (circuits aside). */
  isServable(record: InstanceRecord, now = this.clock.now()): boolean {
    if (record.health !== 'healthy' || record.maintenance) return false;
    // A TTL that has passed counts at once, even before the reaper has written it down.
    return this.externalTtl || !isTtlBased(record.spec) || record.lastHeartbeat + ttlOf(record.spec, this.config) > now;
  }

  /** Candidates for a resolution: the service's records filtered by tags (all must match) and health. */
  candidates(service: string, options: ResolveOptions = {}): InstanceRecord[] {
    const instances = this.services.get(service.toLowerCase());
    if (instances === undefined) return [];
    const now = this.clock.now();
    const out: InstanceRecord[] = [];
    for (const record of instances.values()) {
      if (options.healthyOnly && !this.isServable(record, now)) continue;
      if (options.tags && !options.tags.every((tag) => record.spec.tags.includes(tag))) continue;
      out.push(record);
    }
    return out;
  }

  /** Choose one of `candidates` with the options' strategy (round-robin by default). */
  selectRecord(service: string, candidates: readonly InstanceRecord[], options: ResolveOptions = {}): InstanceRecord | undefined {
    if (candidates.length === 0) return undefined;
    const group = service.toLowerCase();
    const keyed = candidates.map((record) => ({ key: record.spec.id, weight: record.spec.weight, record }));
    switch (options.strategy ?? 'round-robin') {
      case 'round-robin':
        return this.roundRobin.next(group, keyed)?.record;
      case 'random':
        return pickRandom(keyed, this.random)?.record;
      case 'weighted-random':
        return pickWeighted(keyed, this.random)?.record;
      case 'least-connections':
        return pickLeastConnections(group, keyed, this.connections, this.roundRobin)?.record;
    }
  }

  /** Count an in-flight request against an instance (least-connections); call the returned function when done. */
  acquire(service: string, id: string): () => void {
    return this.connections.acquire(service.toLowerCase(), id);
  }

  /** In-flight requests currently counted against an instance. */
  inFlight(service: string, id: string): number {
    return this.connections.count(service.toLowerCase(), id);
  }

  // ---- the state machine ----

  /** Validate a registration and turn it into a mutation (nothing changes). */
  prepareRegister(service: string, instance: ServiceInstance | InstanceInput): Mutation {
    const name = validateServiceName(service);
    const spec = validateInstance(instance);
    const existing = this.services.get(name);
    if (existing && !existing.has(spec.id)) {
      const folded = foldCase(spec.id);
      for (const id of existing.keys()) {
        if (foldCase(id) === folded) {
          throw new NameConflictError(`instance ${JSON.stringify(spec.id)} differs only in letter case from ${JSON.stringify(id)}; DNS names cannot tell them apart`);
        }
      }
    }
    // An instance with an active check enters DNS only after its first passing probe (docs/ARCHITECTURE.md, 'Registry semantics').
    const active = spec.check !== undefined && spec.check.type !== 'ttl';
    const requested = instance.health === undefined ? 'healthy' : validateHealth(instance.health);
    return { type: 'register', service: name, spec, health: active ? 'unknown' : requested, at: this.clock.now() };
  }

  /** Validate a deregistration (the instance must exist). */
  prepareDeregister(service: string, id: string, reason: 'expired' | 'api' = 'api'): Mutation {
    const name = this.requireInstance(service, id).service;
    return { type: 'deregister', service: name, id, reason, at: this.clock.now() };
  }

  /** Validate a heartbeat. */
  prepareHeartbeat(service: string, id: string, status: 'pass' | 'fail' = 'pass', note?: string): Mutation {
    const name = this.requireInstance(service, id).service;
    return withNote({ type: 'heartbeat', service: name, id, status, at: this.clock.now() }, note);
  }

  /** Validate a health update. */
  prepareHealth(service: string, id: string, health: HealthStatus, note?: string): Mutation {
    const name = this.requireInstance(service, id).service;
    return withNote({ type: 'set-health', service: name, id, health: validateHealth(health), at: this.clock.now() }, note);
  }

  /** Validate a maintenance change. */
  prepareMaintenance(service: string, id: string, enabled: boolean, reason?: string): Mutation {
    const name = this.requireInstance(service, id).service;
    const base = { type: 'set-maintenance' as const, service: name, id, enabled: enabled === true, at: this.clock.now() };
    return reason === undefined ? base : { ...base, reason };
  }

  /** What `apply(m)` would produce, without changing anything. Pure. */
  preview(m: Mutation): Preview {
    const before = this.services.get(m.service)?.get(mutationId(m));
    const after = reduce(before, m, this.config);
    return { before, after, changed: before !== after, visible: before !== after && !this.silentRenewal(before, after) };
  }

  /**
   * Apply one mutation: the only function that changes state. Returns the ChangeEvent it announced, or
   * undefined when nothing visible changed (a heartbeat that only renews the TTL). Throws, changing nothing,
   * when the mutation names an instance that does not exist (other than register and sync).
   */
  apply(m: Mutation): ChangeEvent | undefined {
    const id = mutationId(m);
    const before = this.services.get(m.service)?.get(id);
    if (before === undefined && m.type !== 'register' && m.type !== 'sync') {
      if (!this.services.has(m.service)) throw new ServiceNotFoundError(m.service);
      throw new InstanceNotFoundError(m.service, id);
    }
    const after = reduce(before, m, this.config);
    if (after === before) return undefined;
    this.store(m.service, id, after);
    if (this.silentRenewal(before, after)) return undefined;
    this.currentIndex += 1;
    const event: ChangeEvent = { index: this.currentIndex, mutation: m, service: m.service, id, before, after };
    this.emit(event);
    return event;
  }

  /** The mutations `cleanupExpired()` would apply now, in order (for durable callers that persist first). */
  expiredMutations(now = this.clock.now()): Mutation[] {
    const out: Mutation[] = [];
    const critical = this.config.deregisterCriticalAfterMs;
    for (const record of this.records()) {
      const id = record.spec.id;
      if (record.health === 'unhealthy') {
        if (record.healthSince + critical <= now) out.push({ type: 'deregister', service: record.service, id, reason: 'expired', at: now });
        continue;
      }
      if (this.externalTtl || !isTtlBased(record.spec)) continue;
      const deadline = record.lastHeartbeat + ttlOf(record.spec, this.config);
      if (deadline > now) continue;
      // The instance has been critical since its deadline, not since we noticed: one late sweep still removes it.
      if (deadline + critical <= now) out.push({ type: 'deregister', service: record.service, id, reason: 'expired', at: now });
      else out.push({ type: 'set-health', service: record.service, id, health: 'unhealthy', note: 'TTL expired', at: deadline });
    }
    return out;
  }

  /** When this record next needs the reaper (TTL deadline or deregistration deadline), or undefined if never. */
  deadlineOf(record: InstanceRecord): number | undefined {
    if (record.health === 'unhealthy') return record.healthSince + this.config.deregisterCriticalAfterMs;
    if (this.externalTtl || !isTtlBased(record.spec)) return undefined;
    return record.lastHeartbeat + ttlOf(record.spec, this.config);
  }

  /** The earliest deadline over all records (O(n): call it after a sweep, use `deadlineOf` on change events). */
  nextDeadline(): number | undefined {
    let earliest: number | undefined;
    for (const record of this.records()) {
      const deadline = this.deadlineOf(record);
      if (deadline !== undefined && (earliest === undefined || deadline < earliest)) earliest = deadline;
    }
    return earliest;
  }

  /**
   * Replace the whole state with records restored from a store, without events. Every instance gets a fresh
   * heartbeat grace period (heartbeat times are not persisted), and unhealthy ones a fresh critical period.
   */
  load(records: readonly InstanceRecord[], index: number): void {
    const now = this.clock.now();
    this.services.clear();
    for (const record of records) {
      const fresh: InstanceRecord = { ...record, lastHeartbeat: now, healthSince: record.health === 'unhealthy' ? now : record.healthSince };
      this.store(record.service, record.spec.id, fresh);
    }
    this.currentIndex = Math.max(this.currentIndex, index);
  }

  /** Subscribe to change events; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- internals ----

  /**
   * A heartbeat that only renewed a live TTL: nothing readers see changed. One that arrives after the TTL
   * had lapsed (before the reaper wrote it down) brings the instance back into DNS, so it is visible.
   */
  private silentRenewal(before: InstanceRecord | undefined, after: InstanceRecord | undefined): boolean {
    if (!onlyHeartbeatMoved(before, after) || before === undefined) return false;
    return !this.wasLapsed(before, after?.lastHeartbeat ?? before.lastHeartbeat);
  }

  private wasLapsed(record: InstanceRecord, at: number): boolean {
    if (this.externalTtl || !isTtlBased(record.spec) || record.health !== 'healthy' || record.maintenance) return false;
    return record.lastHeartbeat + ttlOf(record.spec, this.config) <= at;
  }

  private mustApply(m: Mutation): ChangeEvent {
    const event = this.apply(m);
    // Register and deregister always change something visible; this keeps the seed API's return type simple.
    if (event === undefined) throw new Error(`internal: ${m.type} produced no change`);
    return event;
  }

  private requireInstance(service: string, id: string): InstanceRecord {
    const name = typeof service === 'string' ? service.toLowerCase() : '';
    validateInstanceId(id);
    const instances = this.services.get(name);
    if (instances === undefined) throw new ServiceNotFoundError(String(service));
    const record = instances.get(id);
    if (record === undefined) throw new InstanceNotFoundError(name, id);
    return record;
  }

  private store(service: string, id: string, record: InstanceRecord | undefined): void {
    let instances = this.services.get(service);
    if (record === undefined) {
      if (instances === undefined) return;
      instances.delete(id);
      if (instances.size === 0) {
        // Empty services disappear, and so does their round-robin position (bounded memory).
        this.services.delete(service);
        this.roundRobin.forget(service);
      }
      return;
    }
    if (instances === undefined) {
      instances = new Map();
      this.services.set(service, instances);
    }
    instances.set(id, record);
  }

  private emit(event: ChangeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A faulty listener must not break the registry or the other listeners.
        this.logger.error({ err: error, index: event.index }, 'change listener failed');
      }
    }
  }
}

function withNote<T extends object>(m: T, note: string | undefined): T & { note?: string } {
  return note === undefined ? m : { ...m, note };
}

function onlyHeartbeatMoved(before: InstanceRecord | undefined, after: InstanceRecord | undefined): boolean {
  if (before === undefined || after === undefined) return false;
  return before.spec === after.spec && before.health === after.health && before.note === after.note
    && before.healthSince === after.healthSince && before.maintenance === after.maintenance
    && before.maintenanceReason === after.maintenanceReason && before.registeredAt === after.registeredAt;
}

/**
 * The pure transition function: the record a mutation leaves behind. Returns `before` itself when nothing
 * changes, so callers can compare by identity.
 */
export function reduce(before: InstanceRecord | undefined, m: Mutation, config: RegistryConfig): InstanceRecord | undefined {
  switch (m.type) {
    case 'register': {
      const keepHealth = before !== undefined && sameActiveCheck(before.spec, m.spec);
      // Re-registering with the same active check keeps the probed health, so periodic re-registration never flaps.
      const health = keepHealth ? before.health : m.health;
      return {
        service: m.service,
        spec: m.spec,
        health,
        healthSince: keepHealth || before?.health === health ? (before?.healthSince ?? m.at) : m.at,
        lastHeartbeat: m.at,
        maintenance: before?.maintenance ?? false,
        ...(before?.maintenanceReason === undefined ? {} : { maintenanceReason: before.maintenanceReason }),
        registeredAt: before?.registeredAt ?? m.at,
      };
    }
    case 'deregister':
      return undefined;
    case 'heartbeat': {
      if (before === undefined) return undefined;
      if (m.status === 'fail') return withHealth({ ...before, lastHeartbeat: m.at }, before, 'unhealthy', m.note ?? 'heartbeat reported failure', m.at);
      // A passing heartbeat revives a TTL-based instance; an actively checked one keeps what its probe said.
      const health = isTtlBased(before.spec) ? 'healthy' : before.health;
      const note = isTtlBased(before.spec) ? m.note : before.note;
      return withHealth({ ...before, lastHeartbeat: m.at }, before, health, note, m.at);
    }
    case 'set-health':
      if (before === undefined) return undefined;
      if (before.health === m.health && before.note === m.note) return before;
      return withHealth({ ...before }, before, m.health, m.note, m.at);
    case 'set-maintenance': {
      if (before === undefined) return undefined;
      const reason = m.enabled ? m.reason : undefined;
      if (before.maintenance === m.enabled && before.maintenanceReason === reason) return before;
      const { maintenanceReason: _dropped, ...rest } = before;
      return reason === undefined ? { ...rest, maintenance: m.enabled } : { ...rest, maintenance: m.enabled, maintenanceReason: reason };
    }
    case 'sync':
      return m.record;
  }
  // Unreachable for well-typed input; `config` is part of the signature so TTL-dependent transitions can use it.
  void config;
  return before;
}

function withHealth(next: InstanceRecord, before: InstanceRecord, health: HealthStatus, note: string | undefined, at: number): InstanceRecord {
  const { note: _old, ...rest } = next;
  const healthSince = before.health === health ? before.healthSince : at;
  return note === undefined ? { ...rest, health, healthSince } : { ...rest, health, healthSince, note };
}

function sameActiveCheck(a: InstanceSpec, b: InstanceSpec): boolean {
  if (a.check === undefined || b.check === undefined || a.check.type === 'ttl') return false;
  return JSON.stringify(a.check) === JSON.stringify(b.check);
}

/** A copy of a record in the seed's ServiceInstance shape, with its current health. */
export function toServiceInstance(record: InstanceRecord): ServiceInstance {
  const { spec } = record;
  const instance = new ServiceInstance(spec.id, spec.address, spec.port)
    .withTags(spec.tags)
    .withWeight(spec.weight)
    .withPriority(spec.priority)
    .withProtocol(spec.protocol)
    .withHealth(record.health);
  instance.metadata = { ...spec.metadata };
  if (spec.host !== undefined) instance.host = spec.host;
  if (spec.ttlMs !== undefined) instance.ttlMs = spec.ttlMs;
  if (spec.check !== undefined) instance.check = spec.check;
  return instance;
}
