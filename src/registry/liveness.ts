import type { ActiveCheck, CheckDefinition, InstanceRecord, InstanceSpec } from './types.js';

/**
 * How an instance proves it is alive, the one definition for the whole code base (see docs/ARCHITECTURE.md,
 * "Registry semantics"): an instance with an active (HTTP/TCP) check is probed by its owner; every other
 * instance lives on heartbeats, and its TTL lapses `ttlOf` after its last one.
 */

/** Whether `check` is one the daemon runs itself (HTTP or TCP), as opposed to a heartbeat TTL. */
export function isActiveCheck(check: CheckDefinition | undefined): check is ActiveCheck {
  return check !== undefined && (check.type === 'http' || check.type === 'tcp');
}

/** The heartbeat TTL (ms) that applies to an instance: its own, its TTL check's, or `defaultTtlMs`. */
export function ttlOf(spec: InstanceSpec, defaultTtlMs: number): number {
  if (spec.ttlMs !== undefined) return spec.ttlMs;
  if (spec.check?.type === 'ttl' && spec.check.ttlMs !== undefined) return spec.check.ttlMs;
  return defaultTtlMs;
}

/**
 * When a heartbeat instance's TTL lapses (ms): its last heartbeat plus its TTL. Undefined for an actively
 * checked instance, whose liveness is its probe's business. The instance is out of DNS from that moment on,
 * before the reaper writes anything down.
 */
export function ttlLapseAt(record: InstanceRecord, defaultTtlMs: number): number | undefined {
  if (isActiveCheck(record.spec.check)) return undefined;
  return record.lastHeartbeat + ttlOf(record.spec, defaultTtlMs);
}
