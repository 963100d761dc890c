/**
 * The daemon's account of what happened to instances: one info line per registration, deregistration,
 * expiry, health flip, maintenance change and circuit change, each naming the service and the instance.
 * Written here only, from the registry's change events and the balancer's circuit events, so every path
 * that changes an instance (API, checker, reaper, restore, another node through a shared store) is logged
 * the same way and exactly once.
 */
import type { CircuitChange } from '../balancer/smart-load-balancer.js';
import type { Logger } from '../log.js';
import type { ChangeEvent, ChangeListener } from '../registry/mutations.js';

/** One log line: its message and fields. */
export interface ChangeLine {
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** The log line for a change, or undefined for one worth no line (e.g. a heartbeat that changed nothing visible). */
export function describeChange(event: ChangeEvent): ChangeLine | undefined {
  const { before, after, mutation } = event;
  const base = { service: event.service, instance: event.id, index: event.index, ...(mutation.type === 'sync' ? { origin: 'store' } : {}) };
  if (!before && after) {
    return { msg: 'instance registered', fields: { ...base, address: after.spec.address, port: after.spec.port, health: after.health } };
  }
  if (before && !after) {
    const expired = mutation.type === 'deregister' && mutation.reason === 'expired';
    return { msg: expired ? 'instance expired' : 'instance deregistered', fields: { ...base, health: before.health } };
  }
  if (!before || !after) return undefined;
  if (mutation.type === 'register') {
    return { msg: 'instance re-registered', fields: { ...base, address: after.spec.address, port: after.spec.port, health: after.health } };
  }
  if (before.health !== after.health) {
    return { msg: 'instance health changed', fields: { ...base, from: before.health, to: after.health, ...(after.note ? { note: after.note } : {}) } };
  }
  if (before.maintenance !== after.maintenance) {
    return { msg: after.maintenance ? 'instance in maintenance' : 'instance out of maintenance', fields: { ...base, ...(after.maintenanceReason ? { reason: after.maintenanceReason } : {}) } };
  }
  return undefined;
}

/** A registry change listener that logs each change at info (see describeChange). */
export function changeLogger(log: Logger): ChangeListener {
  return (event) => {
    // Below info (the default is info; load tests run at warn) the line is not even built.
    if (!log.isLevelEnabled('info')) return;
    const line = describeChange(event);
    if (line) log.info(line.fields, line.msg);
  };
}

/** A circuit listener that logs each transition at info, naming the service and the instance. */
export function circuitLogger(log: Logger): (change: CircuitChange) => void {
  return ({ service, id, from, to }) => log.info({ service, instance: id, from, to }, 'circuit changed');
}
