import { foldAscii } from '../ascii.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { InstanceRecord, Protocol } from '../registry/types.js';
import { LapseWatch, type DueInstance } from './lapse-watch.js';
import type { DnsChange, DnsInstance, DnsInstanceChange, DnsView } from './view.js';

/** What the view needs to know of circuits: the SmartLoadBalancer, or a mirror of it in a DNS worker. */
export interface CircuitView {
  /** Whether DNS may hand out this instance now (circuit closed, or half-open with a free trial slot). */
  admits(record: InstanceRecord): boolean;
  /** Subscribe to circuit changes (of instance `id` when given, else of any in `service`); returns the unsubscribe function. */
  onCircuitChange(listener: (change: { readonly service: string; readonly id?: string }) => void): () => void;
}

/** One registered instance: its record, and its DNS form while it is eligible. */
interface Slot {
  readonly record: InstanceRecord;
  readonly instance: DnsInstance | undefined;
}

/** The instances of one (service, protocol) in registration order, and the array `eligible()` hands out. */
interface Group {
  readonly byId: Map<string, Slot>;
  /** How many slots hold an eligible instance. */
  eligible: number;
  /** Built on the first read after a change; kept (the same array) until the next change. */
  list: readonly DnsInstance[] | undefined;
}

const NO_INSTANCES: readonly DnsInstance[] = Object.freeze([]);

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
  const listeners = new Set<(change: DnsChange) => void>();
  const groups = new Map<string, Group>();
  const counts = new Map<string, number>();
  const presence = new Map<string, ServiceKey>();
  let serviceList: ServiceKey[] | undefined;

  /** Count one instance of `record`'s service and protocol in (+1) or out (-1); true when presence flipped. */
  const count = (record: InstanceRecord, delta: 1 | -1): boolean => {
    const key = memoKey(record.service, record.spec.protocol);
    const next = (counts.get(key) ?? 0) + delta;
    if (next > 0) counts.set(key, next);
    else counts.delete(key);
    if (next > 0 === presence.has(key)) return false;
    if (next > 0) presence.set(key, { service: record.service, protocol: record.spec.protocol });
    else presence.delete(key);
    serviceList = undefined;
    return true;
  };

  const isEligible = (record: InstanceRecord): boolean =>
    registry.isServable(record, registry.clock.now()) && (balancer === undefined || balancer.admits(record));

  /**
   * Bring the slot of (service, protocol, id) in line with `record` (undefined: not registered under that
   * protocol) and append what DNS sees changed to `out`. Idempotent: a nested call (a circuit settling while
   * `admits` is asked) leaves nothing for the outer one to do twice, so the slot is read after `admits`.
   */
  const evaluate = (service: string, protocol: Protocol, id: string, record: InstanceRecord | undefined, out: DnsInstanceChange[]): void => {
    const key = memoKey(service, protocol);
    const eligible = record !== undefined && isEligible(record);
    let group = groups.get(key);
    const previous = group?.byId.get(id)?.instance;
    if (record === undefined) {
      if (group === undefined || !group.byId.delete(id)) return;
      if (group.byId.size === 0) groups.delete(key);
    } else if (!eligible) {
      group?.byId.set(id, { record, instance: undefined });
      if (group === undefined) groups.set(key, { byId: new Map([[id, { record, instance: undefined }]]), eligible: 0, list: undefined });
    } else {
      const slot = group?.byId.get(id);
      if (slot !== undefined && previous !== undefined && (slot.record === record || slot.record.spec === record.spec)) {
        // Same spec (a renewal, a health note): DNS sees the same instance; keep the record current quietly.
        group!.byId.set(id, { record, instance: previous });
        return;
      }
      const instance = toDnsInstance(record);
      if (group === undefined) {
        group = { byId: new Map(), eligible: 0, list: undefined };
        groups.set(key, group);
      }
      group.byId.set(id, { record, instance });
      if (previous === undefined) group.eligible += 1;
      group.list = undefined;
      const lapse = registry.lapseAt(record);
      if (lapse !== undefined) lapses.watch(service, id, lapse);
      out.push(previous === undefined ? { service, protocol, id: foldAscii(id), after: instance } : { service, protocol, id: foldAscii(id), before: previous, after: instance });
      return;
    }
    if (previous === undefined) return;
    lapses.unwatch(service, id);
    // It left the eligible set (a left group object is unreachable; its counters no longer matter).
    group!.eligible -= 1;
    group!.list = undefined;
    out.push({ service, protocol, id: foldAscii(id), before: previous });
  };

  const announce = (service: string, enumeration: boolean, instances: readonly DnsInstanceChange[]): void => {
    const change: DnsChange = { services: [service], enumeration, instances };
    for (const listener of listeners) listener(change);
  };

  /** Deadlines passed: drop the instances that really lapsed (heartbeats may have renewed the others). */
  const onDue = (due: readonly DueInstance[]): void => {
    const byService = new Map<string, DnsInstanceChange[]>();
    for (const { service, id } of due) {
      const record = registry.serviceRecords(service)?.get(id);
      if (record === undefined) continue;
      const out = byService.get(service) ?? [];
      const before = out.length;
      evaluate(service, record.spec.protocol, id, record, out);
      if (out.length > before) byService.set(service, out);
      else if (groups.get(memoKey(service, record.spec.protocol))?.byId.get(id)?.instance !== undefined) {
        const lapse = registry.lapseAt(record);
        if (lapse !== undefined) lapses.watch(service, id, lapse); // renewed: watch its new deadline
      }
    }
    for (const [service, instances] of byService) announce(service, false, instances);
  };
  const lapses = new LapseWatch(() => registry.clock.now(), onDue);

  for (const record of registry.records()) {
    count(record, 1);
    evaluate(record.service, record.spec.protocol, record.spec.id, record, []);
  }

  const stopRegistry = registry.onChange((event) => {
    const { before, after } = event;
    const instances: DnsInstanceChange[] = [];
    let enumeration = false;
    if (before !== undefined && after !== undefined && before.spec.protocol === after.spec.protocol) {
      evaluate(event.service, after.spec.protocol, event.id, after, instances); // counted where it was
    } else {
      // Both run: a record that moved protocol leaves one count (and eligible set) and joins the other.
      if (before !== undefined) {
        enumeration = count(before, -1) || enumeration;
        evaluate(event.service, before.spec.protocol, event.id, undefined, instances);
      }
      if (after !== undefined) {
        enumeration = count(after, 1) || enumeration;
        evaluate(event.service, after.spec.protocol, event.id, after, instances);
      }
    }
    announce(event.service, enumeration, instances);
  });

  const stopBalancer = balancer?.onCircuitChange((change) => {
    const instances: DnsInstanceChange[] = [];
    const records = change.id === undefined
      ? [...(registry.serviceRecords(change.service)?.values() ?? [])]
      : [registry.serviceRecords(change.service)?.get(change.id)].filter((r): r is InstanceRecord => r !== undefined);
    for (const record of records) evaluate(record.service, record.spec.protocol, record.spec.id, record, instances);
    if (instances.length > 0) announce(change.service, false, instances);
  });

  return {
    eligible(service, protocol) {
      const group = groups.get(memoKey(service, protocol));
      if (group === undefined || group.eligible === 0) return NO_INSTANCES;
      if (group.list === undefined) {
        const list: DnsInstance[] = [];
        for (const slot of group.byId.values()) if (slot.instance !== undefined) list.push(slot.instance);
        group.list = list;
      }
      return group.list;
    },
    instance(service, protocol, foldedId) {
      const record = registry.getFolded(service, foldedId);
      if (record === undefined || record.spec.protocol !== protocol) return undefined;
      return groups.get(memoKey(record.service, protocol))?.byId.get(record.spec.id)?.instance;
    },
    services() {
      serviceList ??= [...presence.values()];
      return serviceList;
    },
    hasService(service, protocol) {
      return presence.has(memoKey(service, protocol));
    },
    hasInstance(service, protocol, id) {
      // Instance names compare ignoring ASCII case (RFC 4343 §3): one lookup in the registry's folded-id index.
      return registry.getFolded(service, id)?.spec.protocol === protocol;
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
      groups.clear();
    },
  };
}


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
