import { foldAscii } from '../ascii.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { ChangeEvent } from '../registry/mutations.js';
import type { InstanceRecord, Protocol } from '../registry/types.js';
import { type DueInstance, LapseWatch } from './lapse-watch.js';
import type { DnsChange, DnsInstance, DnsInstanceChange, DnsRegistration, DnsView } from './view.js';

/** What the view needs to know of circuits: the SmartLoadBalancer, or a mirror of it in a DNS worker. */
export interface CircuitView {
  /** Whether DNS may hand out this instance now (circuit closed, or half-open with a free trial slot). */
  admits(record: InstanceRecord): boolean;
  /** Subscribe to circuit changes (of instance `id` when given, else of any in `service`); returns the unsubscribe function. */
  onCircuitChange(listener: (change: { readonly service: string; readonly id?: string }) => void): () => void;
}

/**
 * One registered instance: its DNS form while it is eligible, else null (kept so that it keeps its place in
 * registration order). No record beside it: one object fewer per instance, and the DNS form tells whether a
 * record changes anything DNS sees (sameSpec).
 */
type Slot = DnsInstance | null;

/** The instances of one (service, protocol) in registration order, and the array `eligible()` hands out. */
interface Group {
  readonly byId: Map<string, Slot>;
  /** How many slots hold an eligible instance. */
  eligible: number;
  /** Built on the first read after a change; kept (the same array) until the next change. */
  list: readonly DnsInstance[] | undefined;
}

const NO_INSTANCES: readonly DnsInstance[] = Object.freeze([]);
const NO_REGISTRATIONS: readonly DnsRegistration[] = Object.freeze([]);

/**
 * Adapt the registry (and, when given, the load balancer's circuits) to the DnsView the DNS layer reads.
 * Eligible = healthy, TTL not passed, not in maintenance, circuit closed or half-open with a free trial slot.
 * A half-open instance is answered in DNS so that clients can send it the trial calls that may close it.
 *
 * Eligible sets are kept per (service, protocol) and updated per change event: a write re-evaluates the one
 * instance it changed, and its DnsChange names that instance (`instances`), so nothing downstream re-reads
 * the service either. The array `eligible()` returns is rebuilt lazily, on the first read after a change:
 * at most once per batch of writes, and only for services DNS is asked about; it lists instances in
 * registration order. The enumeration list is kept from per-protocol instance counts.
 */
export function createRegistryView(registry: ServiceRegistry, balancer?: CircuitView): DnsView & { dispose(): void } {
  return new RegistryView(registry, balancer);
}

/** The incremental DnsView over a registry (see createRegistryView). */
class RegistryView implements DnsView {
  private readonly listeners = new Set<(change: DnsChange) => void>();
  private readonly groups = new Map<string, Group>();
  /** Registered instances per (service, protocol), eligible or not: the enumeration list follows them. */
  private readonly counts = new Map<string, number>();
  private readonly presence = new Map<string, ServiceKey>();
  private serviceList: ServiceKey[] | undefined;
  private readonly lapses: LapseWatch<DnsInstance>;
  private readonly stopRegistry: () => void;
  private readonly stopBalancer: (() => void) | undefined;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly balancer: CircuitView | undefined,
  ) {
    this.lapses = new LapseWatch(() => registry.clock.now(), (due) => this.onDue(due));
    for (const record of registry.records()) {
      this.count(record, 1);
      this.evaluate(record.service, record.spec.protocol, record.spec.id, record, []);
    }
    this.stopRegistry = registry.onChange((event) => this.onRegistryChange(event));
    this.stopBalancer = balancer?.onCircuitChange((change) => this.onCircuitChange(change));
  }

  eligible(service: string, protocol: Protocol): readonly DnsInstance[] {
    const group = this.groups.get(memoKey(service, protocol));
    if (group === undefined || group.eligible === 0) return NO_INSTANCES;
    if (group.list === undefined) {
      const list: DnsInstance[] = [];
      for (const slot of group.byId.values()) if (slot !== null) list.push(slot);
      group.list = list;
    }
    return group.list;
  }

  instance(service: string, protocol: Protocol, foldedId: string): DnsInstance | undefined {
    const record = this.registry.getFolded(service, foldedId);
    if (record === undefined || record.spec.protocol !== protocol) return undefined;
    return this.groups.get(memoKey(record.service, protocol))?.byId.get(record.spec.id) ?? undefined;
  }

  services(): readonly ServiceKey[] {
    this.serviceList ??= [...this.presence.values()];
    return this.serviceList;
  }

  hasService(service: string, protocol: Protocol): boolean {
    return this.presence.has(memoKey(service, protocol));
  }

  hasInstance(service: string, protocol: Protocol, id: string): boolean {
    // Instance names compare ignoring ASCII case (RFC 4343 §3): one lookup in the registry's folded-id index.
    return this.registry.getFolded(service, id)?.spec.protocol === protocol;
  }

  onChange(listener: (change: DnsChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    this.lapses.dispose();
    this.stopRegistry();
    this.stopBalancer?.();
    this.listeners.clear();
    this.groups.clear();
  }

  /** A registry write: re-evaluate the one instance it changed, and announce what DNS sees changed. */
  private onRegistryChange(event: ChangeEvent): void {
    const { before, after } = event;
    const instances: DnsInstanceChange[] = [];
    const registrations: DnsRegistration[] = [];
    let enumeration = false;
    if (before !== undefined && after !== undefined && before.spec.protocol === after.spec.protocol) {
      this.evaluate(event.service, after.spec.protocol, event.id, after, instances); // counted where it was
    } else {
      // Both run: a record that moved protocol leaves one count (and eligible set) and joins the other.
      const id = foldAscii(event.id);
      if (before !== undefined) {
        enumeration = this.count(before, -1) || enumeration;
        this.evaluate(event.service, before.spec.protocol, event.id, undefined, instances);
        registrations.push({ service: event.service, protocol: before.spec.protocol, id });
      }
      if (after !== undefined) {
        enumeration = this.count(after, 1) || enumeration;
        this.evaluate(event.service, after.spec.protocol, event.id, after, instances);
        registrations.push({ service: event.service, protocol: after.spec.protocol, id });
      }
    }
    this.announce(event.service, enumeration, instances, registrations);
  }

  /** A circuit changed (of one instance, or of any in a service): re-evaluate the instances it concerns. */
  private onCircuitChange(change: { readonly service: string; readonly id?: string }): void {
    const instances: DnsInstanceChange[] = [];
    const records = change.id === undefined
      ? [...(this.registry.serviceRecords(change.service)?.values() ?? [])]
      : [this.registry.serviceRecords(change.service)?.get(change.id)].filter((r): r is InstanceRecord => r !== undefined);
    for (const record of records) this.evaluate(record.service, record.spec.protocol, record.spec.id, record, instances);
    if (instances.length > 0) this.announce(change.service, false, instances);
  }

  /** Deadlines passed: drop the instances that really lapsed (heartbeats may have renewed the others). */
  private onDue(due: readonly DueInstance<DnsInstance>[]): void {
    const byService = new Map<string, DnsInstanceChange[]>();
    for (const { instance: { id }, service } of due) {
      const record = this.registry.serviceRecords(service)?.get(id);
      if (record === undefined) continue;
      const out = byService.get(service) ?? [];
      const before = out.length;
      this.evaluate(service, record.spec.protocol, id, record, out);
      if (out.length > before) byService.set(service, out);
      else {
        const current = this.groups.get(memoKey(service, record.spec.protocol))?.byId.get(id) ?? undefined;
        const lapse = this.registry.lapseAt(record);
        if (current !== undefined && lapse !== undefined) this.lapses.watch(current, service, lapse); // renewed: watch its new deadline
      }
    }
    for (const [service, instances] of byService) this.announce(service, false, instances);
  }

  /** Tell the listeners; `registrations` lists the instance names that appeared or went (none by default). */
  private announce(service: string, enumeration: boolean, instances: readonly DnsInstanceChange[], registrations: readonly DnsRegistration[] = NO_REGISTRATIONS): void {
    const change: DnsChange = { services: [service], enumeration, instances, registrations };
    for (const listener of this.listeners) listener(change);
  }

  /** Count one instance of `record`'s service and protocol in (+1) or out (-1); true when presence flipped. */
  private count(record: InstanceRecord, delta: 1 | -1): boolean {
    const key = memoKey(record.service, record.spec.protocol);
    const next = (this.counts.get(key) ?? 0) + delta;
    if (next > 0) this.counts.set(key, next);
    else this.counts.delete(key);
    if (next > 0 === this.presence.has(key)) return false;
    if (next > 0) this.presence.set(key, { service: record.service, protocol: record.spec.protocol });
    else this.presence.delete(key);
    this.serviceList = undefined;
    return true;
  }

  private isEligible(record: InstanceRecord): boolean {
    return this.registry.isServable(record, this.registry.clock.now()) && (this.balancer === undefined || this.balancer.admits(record));
  }

  /**
   * Bring the slot of (service, protocol, id) in line with `record` (undefined: not registered under that
   * protocol) and append what DNS sees changed to `out`. Idempotent: a nested call (a circuit settling while
   * `admits` is asked) leaves nothing for the outer one to do twice, so the slot is read after `admits`.
   */
  private evaluate(service: string, protocol: Protocol, id: string, record: InstanceRecord | undefined, out: DnsInstanceChange[]): void {
    const key = memoKey(service, protocol);
    const eligible = record !== undefined && this.isEligible(record);
    const group = this.groups.get(key);
    const previous = group?.byId.get(id) ?? undefined;
    if (record === undefined) {
      if (group === undefined || !group.byId.delete(id)) return;
      if (group.byId.size === 0) this.groups.delete(key);
    } else if (!eligible) {
      group?.byId.set(id, null);
      if (group === undefined) this.groups.set(key, { byId: new Map([[id, null]]), eligible: 0, list: undefined });
    } else {
      this.admit(service, protocol, id, record, out);
      return;
    }
    if (previous === undefined) return;
    this.lapses.unwatch(previous);
    // It left the eligible set (a left group object is unreachable; its counters no longer matter).
    group!.eligible -= 1;
    group!.list = undefined;
    out.push({ service, protocol, id: foldAscii(id), before: previous });
  }

  /** `evaluate` for an eligible `record`: put its DNS form in its group, watch its lapse, note what DNS sees. */
  private admit(service: string, protocol: Protocol, id: string, record: InstanceRecord, out: DnsInstanceChange[]): void {
    const key = memoKey(service, protocol);
    let group = this.groups.get(key);
    const previous = group?.byId.get(id) ?? undefined;
    // Same spec (a renewal, a health note): DNS sees the same instance, nothing to do.
    if (previous !== undefined && sameSpec(previous, record)) return;
    const instance = toDnsInstance(record);
    if (group === undefined) {
      group = { byId: new Map(), eligible: 0, list: undefined };
      this.groups.set(key, group);
    }
    group.byId.set(id, instance);
    if (previous === undefined) group.eligible += 1;
    else this.lapses.unwatch(previous);
    group.list = undefined;
    const lapse = this.registry.lapseAt(record);
    if (lapse !== undefined) this.lapses.watch(instance, service, lapse);
    out.push(previous === undefined ? { service, protocol, id: foldAscii(id), after: instance } : { service, protocol, id: foldAscii(id), before: previous, after: instance });
  }
}

type ServiceKey = { readonly service: string; readonly protocol: Protocol };

function memoKey(service: string, protocol: Protocol): string {
  return `${service}/${protocol}`;
}

/**
 * The DNS form of a record: its spec itself, which holds every field DNS reads and is frozen and kept
 * across the record's heartbeats and health changes (a copy was one more object per instance, about 96
 * octets). Laid out for reading by compactSpec (registry/compact-spec.ts).
 */
function toDnsInstance(record: InstanceRecord): DnsInstance {
  return record.spec;
}

/**
 * Whether `instance` is the DNS form of `record`'s spec: the same object, or every field DNS reads equal (a
 * re-registration with the same data keeps the object DNS has memoised). Tags and metadata compare
 * by identity: the instance shares them with the spec it was made from; every validated spec has metadata of
 * its own, and shares a frozen tag list only with specs whose tags are equal (registry/compact-spec.ts).
 */
function sameSpec(instance: DnsInstance, record: InstanceRecord): boolean {
  const { spec } = record;
  if (instance === spec) return true;
  return instance.metadata === spec.metadata && instance.tags === spec.tags
    && instance.id === spec.id && instance.address === spec.address && instance.port === spec.port
    && instance.priority === spec.priority && instance.weight === spec.weight && instance.host === spec.host
    && instance.protocol === spec.protocol;
}
