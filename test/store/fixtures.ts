import type { InstanceRecord, InstanceSpec } from '../../src/registry/types.js';

/** A complete instance record with sensible defaults, for store tests. */
export function makeRecord(service: string, id: string, overrides: Partial<Omit<InstanceRecord, 'spec'>> & { spec?: Partial<InstanceSpec> } = {}): InstanceRecord {
  const { spec, ...rest } = overrides;
  return {
    service,
    spec: {
      id,
      address: '10.0.0.1',
      port: 8080,
      tags: ['primary'],
      metadata: { version: '1.2.3' },
      weight: 1,
      priority: 0,
      protocol: 'tcp',
      ...spec,
    },
    health: 'healthy',
    healthSince: 1_000,
    lastHeartbeat: 1_000,
    maintenance: false,
    registeredAt: 1_000,
    ...rest,
  };
}

/** Sort records by service then id, so comparisons do not depend on a backend's order. */
export function sorted(records: readonly InstanceRecord[]): InstanceRecord[] {
  return [...records].sort((a, b) => (a.service === b.service ? compare(a.spec.id, b.spec.id) : compare(a.service, b.service)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
