import type { SmartLoadBalancer } from '../balancer/smart-load-balancer.js';
import { foldCase } from '../registry/record.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { InstanceRecord, Protocol } from '../registry/types.js';
import type { DnsChange, DnsInstance, DnsView } from './view.js';

/**
 * Adapt the registry (and, when given, the load balancer's circuits) to the DnsView the DNS layer reads.
 * Eligible = healthy, TTL not passed, not in maintenance, circuit closed or half-open with a free trial slot.
 * A half-open instance is answered in DNS so that clients can send it the trial calls that may close it.
 */
export function createRegistryView(registry: ServiceRegistry, balancer?: SmartLoadBalancer): DnsView & { dispose(): void } {
  const listeners = new Set<(change: DnsChange) => void>();
  const announce = (service: string): void => {
    const change: DnsChange = { services: [service] };
    for (const listener of listeners) listener(change);
  };
  const stopRegistry = registry.onChange((event) => announce(event.service));
  const stopBalancer = balancer?.onCircuitChange((change) => announce(change.service));

  const matches = (record: InstanceRecord, protocol: Protocol): boolean => record.spec.protocol === protocol;

  return {
    eligible(service, protocol) {
      const records = registry.serviceRecords(service);
      if (records === undefined) return [];
      const now = registry.clock.now();
      const out: DnsInstance[] = [];
      for (const record of records.values()) {
        if (!matches(record, protocol) || !registry.isServable(record, now)) continue;
        if (balancer !== undefined && !balancer.admits(record)) continue;
        out.push(toDnsInstance(record));
      }
      return out;
    },
    services() {
      const seen = new Map<string, { service: string; protocol: Protocol }>();
      for (const record of registry.records()) {
        const key = `${record.service}/${record.spec.protocol}`;
        if (!seen.has(key)) seen.set(key, { service: record.service, protocol: record.spec.protocol });
      }
      return [...seen.values()];
    },
    hasService(service, protocol) {
      const records = registry.serviceRecords(service);
      if (records === undefined) return false;
      for (const record of records.values()) if (matches(record, protocol)) return true;
      return false;
    },
    hasInstance(service, protocol, id) {
      const records = registry.serviceRecords(service);
      if (records === undefined) return false;
      const exact = records.get(id);
      if (exact !== undefined) return matches(exact, protocol);
      const folded = foldCase(id);
      for (const record of records.values()) if (matches(record, protocol) && foldCase(record.spec.id) === folded) return true;
      return false;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      stopRegistry();
      stopBalancer?.();
      listeners.clear();
    },
  };
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
