/**
 * Pure encoding rules of the etcd store: where an instance lives in the key space, how its record is
 * serialised, and how long its lease lives. No I/O here, so every rule is unit-tested without etcd.
 */
import { StoreCorruptError } from '../errors.js';
import { isActiveCheck, ttlOf } from '../registry/liveness.js';
import { HEALTH_STATUSES, type InstanceRecord } from '../registry/types.js';

/** Default root of Beacon's keys; the `v1` segment lets a future layout live beside this one. */
export const DEFAULT_ETCD_ROOT = '/beacon/v1/';
/** Default prefix of the instance keys (`<root>instances/`). */
export const DEFAULT_ETCD_PREFIX = `${DEFAULT_ETCD_ROOT}instances/`;

/** Where Beacon's keys live under `root`: instances under a prefix, the change index in one key beside it. */
export function etcdLayout(root: string): { prefix: string; indexKey: string } {
  if (!root.startsWith('/') || !root.endsWith('/')) throw new RangeError(`etcd root must start and end with '/': ${root}`);
  return { prefix: `${root}instances/`, indexKey: `${root}index` };
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

/** The stored value of an instance: its record as JSON. */
export function encodeRecord(record: InstanceRecord): string {
  return JSON.stringify(record);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parse and check a stored value. Throws StoreCorruptError when it is not a record, or when it does not
 * belong under `key` (service/id mismatch): a node must never serve data it cannot trust.
 */
export function decodeRecord(key: string, value: string, expected: { service: string; id: string }): InstanceRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (cause) {
    throw new StoreCorruptError(`etcd key ${key}: value is not JSON`, { cause });
  }
  const fail = (why: string): never => {
    throw new StoreCorruptError(`etcd key ${key}: ${why}`);
  };
  if (!isObject(parsed)) return fail('value is not an object');
  const spec = parsed.spec;
  if (!isObject(spec)) return fail('spec missing');
  if (typeof parsed.service !== 'string' || parsed.service !== expected.service) fail('service does not match the key');
  if (typeof spec.id !== 'string' || spec.id !== expected.id) fail('instance id does not match the key');
  if (typeof spec.address !== 'string') fail('spec.address is not a string');
  if (typeof spec.port !== 'number' || !Number.isInteger(spec.port)) fail('spec.port is not an integer');
  if (!Array.isArray(spec.tags) || !isObject(spec.metadata)) fail('spec.tags/metadata malformed');
  if (typeof parsed.health !== 'string' || !(HEALTH_STATUSES as readonly string[]).includes(parsed.health)) fail('health is not a health status');
  for (const field of ['healthSince', 'lastHeartbeat', 'registeredAt'] as const) {
    if (typeof parsed[field] !== 'number') fail(`${field} is not a number`);
  }
  if (typeof parsed.maintenance !== 'boolean') fail('maintenance is not a boolean');
  return parsed as unknown as InstanceRecord;
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
