import { InstanceNotFoundError, NameConflictError, ServiceNotFoundError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { foldAscii } from '../ascii.js';
import { textHash } from '../text-hash.js';
import { Selector } from '../balancer/selector.js';
import type { RandomSource } from '../balancer/strategies.js';
import { compactSpec } from './compact-spec.js';
import { DeadlineHeap } from './deadline-heap.js';
import { InstanceTable } from './instance-table.js';
import { isActiveCheck, ttlLapseAt } from './liveness.js';
import { mutationId, type ChangeEvent, type ChangeListener, type Mutation } from './mutations.js';
import { onlyHeartbeatMoved, reduce } from './transitions.js';
import { ServiceInstance, type HealthStatus, type InstanceRecord, type InstanceSpec, type RegistryConfig, type RegistryStats, type ResolveOptions } from './types.js';
import { validateHealth, validateInstance, validateInstanceId, validateRegistryConfig, validateServiceName, type InstanceInput } from './validate.js';

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
 * The registry holds data and its state machine; choosing among instances is its Selector's job (balancer/),
 * and durability is the write path's (write-path.ts). See docs/ARCHITECTURE.md, "Registry semantics".
 */
export class ServiceRegistry {
  /** Validated configuration. */
  readonly config: RegistryConfig;
  /** The time source. */
  readonly clock: Clock;
  /** Chooses among instances for `resolve*` and the SmartLoadBalancer (round-robin positions, in-flight counts). */
  readonly selector: Selector;
  private readonly logger: Logger;
  private readonly externalTtl: boolean;
  private readonly table = new InstanceTable();
  /**
   * Every record's `deadlineOf`, kept as records are stored (the reaper's next wake-up without a scan). Keyed
   * by the record's spec: a record keeps its spec across heartbeats and health changes and a re-registration
   * brings a new one, so the key needs no string built per instance.
   */
  private readonly deadlines = new DeadlineHeap<undefined, InstanceSpec>((spec) => textHash(spec.id));
  /** Instance counts for `stats()`, adjusted by every store (a scan costs tens of ms at 100,000 instances). */
  private readonly tally = { total: 0, healthy: 0, unhealthy: 0, unknown: 0, maintenance: 0 };
  private readonly listeners = new Set<ChangeListener>();
  private currentIndex = 0;

  constructor(config: Partial<RegistryConfig> = {}, options: RegistryOptions = {}) {
    this.config = validateRegistryConfig(config);
    this.clock = options.clock ?? systemClock;
    this.selector = new Selector(options.random ?? Math.random);
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
    const record = this.selector.pick(foldAscii(service), this.candidates(service, options), options.strategy);
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
    return [...this.table.serviceNames()].sort();
  }

  /** Counts by health (seed: RegistryStats), plus maintenance and the change index. O(1): kept as records are stored. */
  stats(): RegistryStats {
    const t = this.tally;
    return {
      totalServices: this.table.serviceCount,
      totalInstances: t.total,
      healthyInstances: t.healthy,
      unhealthyInstances: t.unhealthy,
      unknownInstances: t.unknown,
      maintenanceInstances: t.maintenance,
      index: this.currentIndex,
    };
  }

  // ---- reads for the other modules ----

  /** The record of one instance (exact id), or undefined. */
  get(service: string, id: string): InstanceRecord | undefined {
    return this.table.get(foldAscii(service), id);
  }

  /** The record whose id equals `id` up to ASCII case (one DNS name), or undefined: a map lookup. */
  getFolded(service: string, id: string): InstanceRecord | undefined {
    const name = foldAscii(service);
    const registered = this.table.idFolding(name, id);
    return registered === undefined ? undefined : this.table.get(name, registered);
  }

  /** All records, or those of one service, in registration order. */
  records(service?: string): InstanceRecord[] {
    if (service !== undefined) return [...(this.table.service(foldAscii(service))?.values() ?? [])];
    return [...this.table.records()];
  }

  /** Live view of one service's records (no copy): for hot read paths. Do not keep it across calls. */
  serviceRecords(service: string): ReadonlyMap<string, InstanceRecord> | undefined {
    return this.table.service(service);
  }

  /**
   * When this record's heartbeat TTL lapses, as this registry enforces it: undefined for actively checked
   * instances, and for every instance when TTLs are enforced by the store (`externalTtl`).
   */
  lapseAt(record: InstanceRecord): number | undefined {
    return this.externalTtl ? undefined : ttlLapseAt(record, this.config.defaultTtlMs);
  }

  /** Whether a record may be handed out by healthy-only resolution and DNS at time `now` (circuits aside). */
  isServable(record: InstanceRecord, now = this.clock.now()): boolean {
    if (record.health !== 'healthy' || record.maintenance) return false;
    // A TTL that has passed counts at once, even before the reaper has written it down.
    const lapse = this.lapseAt(record);
    return lapse === undefined || lapse > now;
  }

  /** Candidates for a resolution: the service's records filtered by tags (all must match) and health. */
  candidates(service: string, options: ResolveOptions = {}): InstanceRecord[] {
    const instances = this.table.service(foldAscii(service));
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

  /** Count an in-flight request against an instance (least-connections); call the returned function when done. */
  acquire(service: string, id: string): () => void {
    return this.selector.acquire(foldAscii(service), id);
  }

  /** In-flight requests currently counted against an instance. */
  inFlight(service: string, id: string): number {
    return this.selector.inFlight(foldAscii(service), id);
  }

  // ---- the state machine ----

  /** Validate a registration and turn it into a mutation (nothing changes). */
  prepareRegister(service: string, instance: ServiceInstance | InstanceInput): Mutation {
    const name = validateServiceName(service);
    const spec = compactSpec(validateInstance(instance));
    // One lookup in the folded-id index, however large the service (RFC 4343 §3: DNS folds ASCII case).
    const holder = this.table.idFolding(name, spec.id);
    if (holder !== undefined && holder !== spec.id) {
      throw new NameConflictError(`instance ${JSON.stringify(spec.id)} differs only in letter case from ${JSON.stringify(holder)}; DNS names cannot tell them apart`);
    }
    // An instance with an active check enters DNS only after its first passing probe (docs/ARCHITECTURE.md, "Registry semantics").
    const requested = instance.health === undefined ? 'healthy' : validateHealth(instance.health);
    return { type: 'register', service: this.table.name(name), spec, health: isActiveCheck(spec.check) ? 'unknown' : requested, at: this.clock.now() };
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
    const before = this.table.get(m.service, mutationId(m));
    const after = reduce(before, m);
    return { before, after, changed: before !== after, visible: before !== after && !this.silentRenewal(before, after) };
  }

  /**
   * Apply one mutation: the only function that changes state. Returns the ChangeEvent it announced, or
   * undefined when nothing visible changed (a heartbeat that only renews the TTL). Throws, changing nothing,
   * when the mutation names an instance that does not exist (other than register and sync).
   */
  apply(m: Mutation): ChangeEvent | undefined {
    const id = mutationId(m);
    const before = this.table.get(m.service, id);
    if (before === undefined && m.type !== 'register' && m.type !== 'sync') {
      if (this.table.service(m.service) === undefined) throw new ServiceNotFoundError(m.service);
      throw new InstanceNotFoundError(m.service, id);
    }
    const after = reduce(before, m);
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
    for (const record of this.table.records()) {
      const id = record.spec.id;
      if (record.health === 'unhealthy') {
        if (record.healthSince + critical <= now) out.push({ type: 'deregister', service: record.service, id, reason: 'expired', at: now });
        continue;
      }
      const deadline = this.lapseAt(record);
      if (deadline === undefined || deadline > now) continue;
      // The instance has been critical since its deadline, not since we noticed: one late sweep still removes it.
      if (deadline + critical <= now) out.push({ type: 'deregister', service: record.service, id, reason: 'expired', at: now });
      else out.push({ type: 'set-health', service: record.service, id, health: 'unhealthy', note: 'TTL expired', at: deadline });
    }
    return out;
  }

  /** When this record next needs the reaper (TTL deadline or deregistration deadline), or undefined if never. */
  deadlineOf(record: InstanceRecord): number | undefined {
    if (record.health === 'unhealthy') return record.healthSince + this.config.deregisterCriticalAfterMs;
    return this.lapseAt(record);
  }

  /** The earliest deadline over all records: a look at the first of each of the heap's shards (deadline-heap.ts). */
  nextDeadline(): number | undefined {
    return this.deadlines.peek()?.deadline;
  }

  /**
   * Replace the whole state with records restored from a store, without events. Every instance gets a fresh
   * heartbeat grace period (heartbeat times are not persisted), and unhealthy ones a fresh critical period.
   */
  load(records: readonly InstanceRecord[], index: number): void {
    const now = this.clock.now();
    this.table.clear();
    this.deadlines.clear();
    Object.assign(this.tally, { total: 0, healthy: 0, unhealthy: 0, unknown: 0, maintenance: 0 });
    for (const record of records) {
      // Laid out as a registration lays it out (tag lists shared, one literal per shape): a store decodes
      // each record's spec on its own.
      const spec = compactSpec(record.spec);
      const loaded = { ...record, service: this.table.name(record.service), spec, lastHeartbeat: now, healthSince: record.health === 'unhealthy' ? now : record.healthSince };
      // A second record of one instance replaces the first, deadline and counts included.
      const previous = this.table.get(loaded.service, spec.id);
      if (previous !== undefined) {
        this.count(previous, -1);
        this.deadlines.delete(previous.spec);
      }
      this.table.set(loaded);
      this.count(loaded, 1);
      this.deadlines.set(spec, this.deadlineOf(loaded), undefined);
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
    if (record.health !== 'healthy' || record.maintenance) return false;
    const lapse = this.lapseAt(record);
    return lapse !== undefined && lapse <= at;
  }

  private mustApply(m: Mutation): ChangeEvent {
    const event = this.apply(m);
    // Register and deregister always change something visible; this keeps the seed API's return type simple.
    if (event === undefined) throw new Error(`internal: ${m.type} produced no change`);
    return event;
  }

  private requireInstance(service: string, id: string): InstanceRecord {
    const name = typeof service === 'string' ? foldAscii(service) : '';
    validateInstanceId(id);
    const instances = this.table.service(name);
    if (instances === undefined) throw new ServiceNotFoundError(String(service));
    const record = instances.get(id);
    if (record === undefined) throw new InstanceNotFoundError(name, id);
    return record;
  }

  private store(service: string, id: string, record: InstanceRecord | undefined): void {
    const previous = this.table.get(service, id);
    if (previous !== undefined) this.count(previous, -1);
    if (record !== undefined) this.count(record, 1);
    if (previous !== undefined && previous.spec !== record?.spec) this.deadlines.delete(previous.spec);
    if (record !== undefined) {
      this.table.set(record);
      this.deadlines.set(record.spec, this.deadlineOf(record), undefined);
      return;
    }
    // Empty services disappear, and so does their selection state (bounded memory).
    if (this.table.delete(service, id)) this.selector.forget(service);
  }

  private count(record: InstanceRecord, delta: 1 | -1): void {
    const t = this.tally;
    t.total += delta;
    if (record.health === 'healthy') t.healthy += delta;
    else if (record.health === 'unhealthy') t.unhealthy += delta;
    else t.unknown += delta;
    if (record.maintenance) t.maintenance += delta;
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
