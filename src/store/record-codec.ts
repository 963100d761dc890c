import { HEALTH_STATUSES, type HealthStatus, type InstanceRecord } from '../registry/types.js';

/**
 * The one decoder of instance records read back from storage: SQLite rows, etcd values and snapshot files
 * are all checked by `decodeRecord`, field by field. Stores must never hand the registry something that
 * merely looks like a record: a value that fails here is reported by the caller as corrupt (store) or
 * invalid (snapshot). Semantic checks (port ranges, name rules) stay with the registry's own validation.
 */

/** Why a stored value is not an instance record; `path` says where (e.g. `spec.port`). */
export class RecordShapeError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'RecordShapeError';
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireObject(value: unknown, path: string): Json {
  if (!isObject(value)) throw new RecordShapeError(path, 'expected an object');
  return value;
}

function requireString(value: unknown, path: string, nonEmpty = false): string {
  if (typeof value !== 'string') throw new RecordShapeError(path, 'expected a string');
  if (nonEmpty && value.length === 0) throw new RecordShapeError(path, 'must not be empty');
  return value;
}

function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : requireString(value, path);
}

function requireFiniteNumber(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RecordShapeError(path, 'expected a finite number');
  return value;
}

function requireInteger(value: unknown, path: string): number {
  const n = requireFiniteNumber(value, path);
  if (!Number.isInteger(n)) throw new RecordShapeError(path, 'expected an integer');
  return n;
}

function optionalNumber(value: unknown, path: string): number | undefined {
  return value === undefined ? undefined : requireFiniteNumber(value, path);
}

function requireBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new RecordShapeError(path, 'expected a boolean');
  return value;
}

function requireHealth(value: unknown, path: string): HealthStatus {
  if (!HEALTH_STATUSES.includes(value as HealthStatus)) throw new RecordShapeError(path, `expected one of ${HEALTH_STATUSES.join(', ')}`);
  return value as HealthStatus;
}

function checkCheck(value: unknown, path: string): void {
  const check = requireObject(value, path);
  switch (check['type']) {
    case 'http':
      requireString(check['url'], `${path}.url`, true);
      break;
    case 'tcp':
      optionalString(check['host'], `${path}.host`);
      optionalNumber(check['port'], `${path}.port`);
      break;
    case 'ttl':
      optionalNumber(check['ttlMs'], `${path}.ttlMs`);
      break;
    default:
      throw new RecordShapeError(`${path}.type`, 'expected http, tcp or ttl');
  }
  optionalNumber(check['intervalMs'], `${path}.intervalMs`);
  optionalNumber(check['timeoutMs'], `${path}.timeoutMs`);
}

function checkSpec(value: unknown, path: string): void {
  const spec = requireObject(value, path);
  requireString(spec['id'], `${path}.id`, true);
  requireString(spec['address'], `${path}.address`, true);
  requireInteger(spec['port'], `${path}.port`);
  const tags = spec['tags'];
  if (!Array.isArray(tags)) throw new RecordShapeError(`${path}.tags`, 'expected an array');
  tags.forEach((tag, i) => requireString(tag, `${path}.tags[${i}]`));
  const metadata = requireObject(spec['metadata'], `${path}.metadata`);
  for (const [key, entry] of Object.entries(metadata)) requireString(entry, `${path}.metadata.${key}`);
  requireInteger(spec['weight'], `${path}.weight`);
  requireInteger(spec['priority'], `${path}.priority`);
  if (spec['protocol'] !== 'tcp' && spec['protocol'] !== 'udp') throw new RecordShapeError(`${path}.protocol`, 'expected tcp or udp');
  optionalString(spec['host'], `${path}.host`);
  optionalNumber(spec['ttlMs'], `${path}.ttlMs`);
  if (spec['check'] !== undefined) checkCheck(spec['check'], `${path}.check`);
}

/** Check that `value` has the shape of an InstanceRecord; throws RecordShapeError naming the first bad field. */
export function decodeRecord(value: unknown): InstanceRecord {
  const record = requireObject(value, 'record');
  requireString(record['service'], 'service', true);
  checkSpec(record['spec'], 'spec');
  requireHealth(record['health'], 'health');
  optionalString(record['note'], 'note');
  requireFiniteNumber(record['healthSince'], 'healthSince');
  requireFiniteNumber(record['lastHeartbeat'], 'lastHeartbeat');
  requireBoolean(record['maintenance'], 'maintenance');
  optionalString(record['maintenanceReason'], 'maintenanceReason');
  requireFiniteNumber(record['registeredAt'], 'registeredAt');
  // The checks above prove every required field; optional ones are absent or well typed.
  return record as unknown as InstanceRecord;
}

/**
 * Parse a stored record (JSON text) with `decodeRecord` and check that it is the record of the instance it
 * is stored under (`key`: a SQLite row's columns, an etcd key). Throws RecordShapeError.
 */
export function decodeStoredRecord(text: string, key: { readonly service: string; readonly id: string }): InstanceRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RecordShapeError('record', `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const record = decodeRecord(value);
  if (record.service !== key.service || record.spec.id !== key.id) {
    throw new RecordShapeError('record', `it is the record of ${describeKey(record.service, record.spec.id)}, stored under ${describeKey(key.service, key.id)}`);
  }
  return record;
}

/** Serialise a record for storage (JSON; `undefined` optional fields disappear, as they would in any store). */
export function encodeRecord(record: InstanceRecord): string {
  return JSON.stringify(record);
}

/** A stable printable key for one instance, for messages: `service/id` with the id JSON-quoted. */
export function describeKey(service: string, id: string): string {
  return `${service}/${JSON.stringify(id)}`;
}
