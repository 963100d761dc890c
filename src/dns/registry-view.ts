import { foldCase } from '../registry/record.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { InstanceRecord, Protocol } from '../registry/types.js';
import type { DnsChange, DnsInstance, DnsView } from './view.js';

/** What the view needs to know of circuits: the SmartLoadBalancer, or a mirror of it in a DNS worker. */
export interface CircuitView {
  /** Whether DNS may hand out this instance now (circuit closed, or half-open with a free trial slot). */
  admits(record: InstanceRecord): boolean;
  /** Subscribe to circuit changes; returns the unsubscribe function. */
  onCircuitChange(listener: (change: { readonly service: string }) => void): () => void;
}

/**
 * Adapt the registry (and, when given, the load balancer's circuits) to the DnsView the DNS layer reads.
 * Eligible = healthy, TTL not passed, not in maintenance, circuit closed or half-open with a free trial slot.
 * A half-open instance is answered in DNS so that clients can send it the trial calls that may close it.
 */
export function createRegistryView(registry: ServiceRegistry, balancer?: CircuitView): DnsView & { dispose(): void } {
  const listeners = new Set<(change: DnsChange) => void>();
  // Eligible sets are memoised per (service, protocol) until that service changes, so repeated cache misses
  // and the DNS layer's own diffing read the same array; the enumeration list is kept incrementally, so a
  // change costs the size of its service, not of the registry.
  const memo = new Map<string, readonly DnsInstance[]>();
  const presence = new Map<string, ServiceKey>();
  let serviceList: ServiceKey[] | undefined;

  /** Re-read which protocols `service` has; true when the enumeration list changed. */
  const refreshPresence = (service: string): boolean => {
    const records = registry.serviceRecords(service);
    let changed = false;
    for (const protocol of PROTOCOLS) {
      const key = memoKey(service, protocol);
      let present = false;
      for (const record of records?.values() ?? []) if (record.spec.protocol === protocol) { present = true; break; }
      if (present === presence.has(key)) continue;
      if (present) presence.set(key, { service, protocol });
      else presence.delete(key);
      serviceList = undefined;
      changed = true;
    }
    return changed;
  };
  for (const service of registry.listServices()) refreshPresence(service);

  const announce = (service: string): void => {
    for (const protocol of PROTOCOLS) memo.delete(memoKey(service, protocol));
    const enumeration = refreshPresence(service);
    const change: DnsChange = { services: [service], enumeration };
    for (const listener of listeners) listener(change);
  };
  const lapses = new LapseTimer(registry, announce);
  const stopRegistry = registry.onChange((event) => announce(event.service));
  const stopBalancer = balancer?.onCircuitChange((change) => announce(change.service));

  const read = (service: string, protocol: Protocol): readonly DnsInstance[] => {
    const records = registry.serviceRecords(service);
    if (records === undefined) return [];
    const now = registry.clock.now();
    const out: DnsInstance[] = [];
    let earliestLapse = Infinity;
    for (const record of records.values()) {
      if (record.spec.protocol !== protocol || !registry.isServable(record, now)) continue;
      if (balancer !== undefined && !balancer.admits(record)) continue;
      out.push(toDnsInstance(record));
      earliestLapse = Math.min(earliestLapse, registry.deadlineOf(record) ?? Infinity);
    }
    // What is read here stays true only until the first answered instance's TTL lapses.
    if (earliestLapse !== Infinity) lapses.watch(service, earliestLapse);
    return out;
  };

  return {
    eligible(service, protocol) {
      const key = memoKey(service, protocol);
      let instances = memo.get(key);
      if (instances === undefined) {
        instances = read(service, protocol);
        if (registry.serviceRecords(service) !== undefined) memo.set(key, instances);
      }
      return instances;
    },
    services() {
      serviceList ??= [...presence.values()];
      return serviceList;
    },
    hasService(service, protocol) {
      return presence.has(memoKey(service, protocol));
    },
    hasInstance(service, protocol, id) {
      const records = registry.serviceRecords(service);
      if (records === undefined) return false;
      const exact = records.get(id);
      if (exact !== undefined) return exact.spec.protocol === protocol;
      const folded = foldCase(id);
      for (const record of records.values()) if (record.spec.protocol === protocol && foldCase(record.spec.id) === folded) return true;
      return false;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      lapses.dispose();
      stopRegistry();
      stopBalancer?.();
      listeners.clear();
      memo.clear();
    },
  };
}

const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];

type ServiceKey = { readonly service: string; readonly protocol: Protocol };

function memoKey(service: string, protocol: Protocol): string {
  return `${service}/${protocol}`;
}

function toDnsInstance(record: InstanceRecord): DnsInstance {
  const { spec } = record;
  const base = {
    service: record.service,
    protocol: spec.protocol,
    id: spec.id,
    address: spec.address,
    port: spec.port,
    priority: spec.priority,
    weight: spec.weight,
    tags: spec.tags,
    metadata: spec.metadata,
  };
  return spec.host === undefined ? base : { ...base, host: spec.host };
}

/**
 * Announces a service when an instance DNS answered with misses its TTL. A missed TTL takes an instance out
 * of DNS at once (docs/ARCHITECTURE.md, 'Registry semantics'), but nothing in the registry changes at that moment (the reaper writes it down
 * later, and not at all while the store refuses writes), so the view keeps one timer at the earliest lapse
 * of anything it handed out. Heartbeats move deadlines silently: when the timer fires, a service whose
 * instances were all renewed is re-armed instead of announced.
 */
class LapseTimer {
  private readonly deadlines = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Infinity;

  constructor(private readonly registry: ServiceRegistry, private readonly announce: (service: string) => void) {}

  /** Remember that `service`'s answers are valid until `deadline` (ms). */
  watch(service: string, deadline: number): void {
    const known = this.deadlines.get(service);
    if (known !== undefined && known <= deadline) return;
    this.deadlines.set(service, deadline);
    if (deadline < this.armedFor) this.arm(deadline);
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.deadlines.clear();
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timer = setTimeout(() => this.fire(), Math.max(0, deadline - this.registry.clock.now()));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.registry.clock.now();
    for (const [service, deadline] of [...this.deadlines]) {
      if (deadline > now) continue;
      this.deadlines.delete(service);
      const next = this.nextLapse(service, now);
      if (next === 'lapsed') this.announce(service); // re-read by DNS, which watches the new earliest lapse
      else if (next !== undefined) this.deadlines.set(service, next);
    }
    let earliest = Infinity;
    for (const deadline of this.deadlines.values()) earliest = Math.min(earliest, deadline);
    if (earliest !== Infinity) this.arm(earliest);
  }

  /** 'lapsed' if a still-healthy instance of `service` has passed its TTL; else its earliest future lapse. */
  private nextLapse(service: string, now: number): 'lapsed' | number | undefined {
    let earliest: number | undefined;
    for (const record of this.registry.serviceRecords(service)?.values() ?? []) {
      if (record.health !== 'healthy' || record.maintenance) continue;
      const deadline = this.registry.deadlineOf(record);
      if (deadline === undefined) continue;
      if (deadline <= now) return 'lapsed';
      earliest = Math.min(earliest ?? Infinity, deadline);
    }
    return earliest;
  }
}
