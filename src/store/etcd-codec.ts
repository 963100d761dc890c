/**
 * Pure encoding rules of the etcd store: where an instance lives in the key space, how its value is
 * decoded (by the one strict record decoder, record-codec.ts, as for SQLite), and how long its lease
 * lives. No I/O here, so every rule is unit-tested without etcd.
 */
import { StoreCorruptError } from '../errors.js';
import { isActiveCheck, ttlOf } from '../registry/liveness.js';
import type { InstanceRecord } from '../registry/types.js';
import { decodeStoredRecord } from './record-codec.js';

/** Default root of Beacon's keys; the `v1` segment lets a future layout live beside this one. */
export const DEFAULT_ETCD_ROOT = '/beacon/v1/';
/** Default prefix of the instance keys (`<root>instances/`). */
export const DEFAULT_ETCD_PREFIX = `${DEFAULT_ETCD_ROOT}instances/`;

/** Where Beacon's keys live under `root`: instances under a prefix, the change index in one key beside it. */
export function etcdLayout(root: string): { prefix: string; indexKey: string; zonePrefix: string } {
  if (!root.startsWith('/') || !root.endsWith('/')) throw new RangeError(`etcd root must start and end with '/': ${root}`);
  return { prefix: `${root}instances/`, indexKey: `${root}index`, zonePrefix: `${root}zone/` };
}

/**
 * etcd's smallest lease TTL with its default timing (3/2 x election ticks x heartbeat = 1.5 s, rounded up).
 * etcd silently raises shorter TTLs; asking for the floor ourselves keeps our idea of the TTL honest.
 */
export const MIN_LEASE_TTL_SECONDS = 2;

/**
 * The key of one instance: `<prefix><service>/<id>`, both segments percent-encoded so that `/`, `%` and
 * any UTF-8 in a DNS-SD instance name cannot change the key's shape.
 */
export function instanceKey(prefix: string, service: string, id: string): string {
  return `${prefix}${encodeURIComponent(service)}/${encodeURIComponent(id)}`;
}

/** Inverse of `instanceKey`; undefined when the key is not an instance key under `prefix`. */
export function parseInstanceKey(prefix: string, key: string): { service: string; id: string } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const parts = key.slice(prefix.length).split('/');
  if (parts.length !== 2) return undefined;
  const [service, id] = parts as [string, string];
  if (service === '' || id === '') return undefined;
  try {
    return { service: decodeURIComponent(service), id: decodeURIComponent(id) };
  } catch {
    return undefined; // malformed percent-encoding: not one of ours
  }
}

/**
 * Decode the value stored under an instance key. Throws StoreCorruptError when it is not a record, or when
 * it does not belong under `key` (service/id mismatch): a node must never serve data it cannot trust.
 */
export function decodeInstanceValue(key: string, value: string, expected: { service: string; id: string }): InstanceRecord {
  try {
    return decodeStoredRecord(value, expected);
  } catch (cause) {
    throw new StoreCorruptError(`etcd key ${key}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Lease TTL in whole seconds for an instance.
 * - Heartbeat (TTL) instances: their own TTL (`spec.ttlMs`, else a `ttl` check's `ttlMs`, else the default),
 *   rounded up, at least MIN_LEASE_TTL_SECONDS. Only heartbeats (`keepAlive`) renew the lease.
 * - Actively checked instances: `checkLeaseTtlMs`; their owner renews the lease while it lives, so they
 *   vanish that long after their owner dies.
 */
export function leaseTtlSeconds(record: InstanceRecord, defaultTtlMs: number, checkLeaseTtlMs: number): number {
  const ttlMs = isActiveCheck(record.spec.check) ? checkLeaseTtlMs : ttlOf(record.spec, defaultTtlMs);
  return Math.max(MIN_LEASE_TTL_SECONDS, Math.ceil(ttlMs / 1000));
}
