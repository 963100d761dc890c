import { isActiveCheck } from './liveness.js';
import type { Mutation } from './mutations.js';
import type { HealthStatus, InstanceRecord, InstanceSpec } from './types.js';

/**
 * The pure transition function of the registry's state machine: the record a mutation leaves behind.
 * Returns `before` itself when nothing changes, so callers can compare by identity.
 */
export function reduce(before: InstanceRecord | undefined, m: Mutation): InstanceRecord | undefined {
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
      // A passing heartbeat revives a heartbeat (TTL) instance; an actively checked one keeps what its probe said.
      const active = isActiveCheck(before.spec.check);
      const health = active ? before.health : 'healthy';
      const note = active ? before.note : m.note;
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
}

/** Whether only the heartbeat time differs between two records (a TTL renewal). */
export function onlyHeartbeatMoved(before: InstanceRecord | undefined, after: InstanceRecord | undefined): boolean {
  if (before === undefined || after === undefined) return false;
  return before.spec === after.spec && before.health === after.health && before.note === after.note
    && before.healthSince === after.healthSince && before.maintenance === after.maintenance
    && before.maintenanceReason === after.maintenanceReason && before.registeredAt === after.registeredAt;
}

function withHealth(next: InstanceRecord, before: InstanceRecord, health: HealthStatus, note: string | undefined, at: number): InstanceRecord {
  const { note: _old, ...rest } = next;
  const healthSince = before.health === health ? before.healthSince : at;
  return note === undefined ? { ...rest, health, healthSince } : { ...rest, health, healthSince, note };
}

function sameActiveCheck(a: InstanceSpec, b: InstanceSpec): boolean {
  if (!isActiveCheck(a.check) || b.check === undefined) return false;
  return JSON.stringify(a.check) === JSON.stringify(b.check);
}
