import { isIP } from 'node:net';
import { foldAscii } from '../ascii.js';
import { InvalidArgumentError, InvalidConfigurationError } from '../errors.js';
import {
  DEFAULT_REGISTRY_CONFIG,
  HEALTH_STATUSES,
  type CheckDefinition,
  type HealthStatus,
  type InstanceSpec,
  type RegistryConfig,
  type ServiceInstance,
} from './types.js';

/** Longest duration Beacon accepts anywhere (one week): longer values are typos, not intentions. */
export const MAX_DURATION_MS = 7 * 24 * 3600 * 1000;
/** RFC 1035 §2.3.4: a label is at most 63 octets. DNS-SD instance names share the limit (RFC 6763 §4.1.1). */
export const MAX_LABEL_OCTETS = 63;
/** RFC 6763 §6.1: each TXT key=value string is at most 255 octets; we cap the whole TXT RDATA at 8 KiB. */
export const MAX_TXT_STRING_OCTETS = 255;
/** Upper bound for all metadata of one instance, encoded as TXT (RFC 6763 §6.2 recommends < 1300 bytes total; 8 KiB still fits TCP). */
export const MAX_METADATA_OCTETS = 8192;
/** At most this many tags per instance. */
export const MAX_TAGS = 32;

const octets = (s: string): number => Buffer.byteLength(s, 'utf8');
// Control characters never belong in names: they break logs, terminals and zone files.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
// RFC 6335 §5.1 service names: letters, digits, hyphens; start with a letter or digit, no double or trailing hyphen.
// (RFC 6335 caps them at 15 characters; we accept up to 63 so existing names fit, lower-cased.)
const SERVICE_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,62}$/;
// A host name: labels of letters, digits, hyphens (RFC 1123 §2.1), optional trailing dot.
const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** Validate one duration (ms): a finite integer in (0, MAX_DURATION_MS]. Seed mutant A: zero or negative is refused. */
export function validateDuration(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value)) {
    throw new InvalidConfigurationError(`${field} must be a whole number of milliseconds, got ${String(value)}`, field);
  }
  if (value <= 0) throw new InvalidConfigurationError(`${field} must be greater than zero, got ${value} ms`, field);
  if (value > MAX_DURATION_MS) throw new InvalidConfigurationError(`${field} must be at most ${MAX_DURATION_MS} ms (one week), got ${value} ms`, field);
  return value;
}

/** Fill defaults and validate a registry configuration. */
export function validateRegistryConfig(config: Partial<RegistryConfig> = {}): RegistryConfig {
  const merged = { ...DEFAULT_REGISTRY_CONFIG, ...stripUndefined(config) };
  return Object.freeze({
    defaultTtlMs: validateDuration(merged.defaultTtlMs, 'defaultTtlMs'),
    healthCheckIntervalMs: validateDuration(merged.healthCheckIntervalMs, 'healthCheckIntervalMs'),
    deregisterCriticalAfterMs: validateDuration(merged.deregisterCriticalAfterMs, 'deregisterCriticalAfterMs'),
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Normalise and validate a service name: lower case, a DNS label usable as `_name._tcp`. */
export function validateServiceName(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError('service name must be a non-empty string', 'service');
  const name = foldAscii(value);
  if (!SERVICE_NAME.test(name)) {
    throw new InvalidArgumentError(
      `invalid service name ${JSON.stringify(value)}: use 1-63 letters, digits and single hyphens, starting and ending with a letter or digit`,
      'service',
    );
  }
  return name;
}

/** Validate an instance id: a DNS-SD instance name (UTF-8, 1..63 octets, no control characters). */
export function validateInstanceId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError('instance id must be a non-empty string', 'id');
  // The common case, printable ASCII, passes every check below by construction (no control characters,
  // already NFC, one octet per character): one regex test instead of an encode and a normalisation.
  if (value.length <= MAX_LABEL_OCTETS && PRINTABLE_ASCII.test(value)) return value;
  if (octets(value) > MAX_LABEL_OCTETS) throw new InvalidArgumentError(`instance id is ${octets(value)} octets; a DNS label holds at most ${MAX_LABEL_OCTETS}`, 'id');
  if (CONTROL_CHARS.test(value)) throw new InvalidArgumentError('instance id must not contain control characters', 'id');
  if (value !== value.normalize('NFC')) throw new InvalidArgumentError('instance id must be in Unicode NFC form (RFC 6763 §4.1.3)', 'id');
  return value;
}

/**
 * Whether `value` is a syntactically valid host name (RFC 1123 §2.1), at most 253 octets. The top label
 * is never all digits ("at least the highest-level component label will be alphabetic"), so a mistyped
 * address such as `999.1.1.1` or `10.0.0.256` is not taken for a name.
 */
export function isHostName(value: string): boolean {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) return false;
  return labels.every((label) => HOST_LABEL.test(label));
}

/** Validate an address: an IPv4/IPv6 literal or a host name. */
export function validateAddress(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError('address must be a non-empty string', 'address');
  if (isIP(value) !== 0) return value;
  if (isHostName(value)) return foldAscii(value);
  const numeric = /^[0-9.]+$/.test(value) ? ' (a host name\'s last label is never all digits, RFC 1123 §2.1; is it a mistyped IPv4 address?)' : '';
  throw new InvalidArgumentError(`address ${JSON.stringify(value)} is neither an IP address nor a host name${numeric}`, 'address');
}

function validateInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${field} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`, field);
  }
  return value;
}

/** Validate tags: strings of 1..63 octets without control characters, at most MAX_TAGS, duplicates removed. */
export function validateTags(value: unknown): string[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError('tags must be an array of strings', 'tags');
  if (value.length > MAX_TAGS) throw new InvalidArgumentError(`at most ${MAX_TAGS} tags, got ${value.length}`, 'tags');
  const tags: string[] = [];
  for (const tag of value) {
    if (typeof tag !== 'string' || tag.length === 0) throw new InvalidArgumentError('each tag must be a non-empty string', 'tags');
    if (octets(tag) > MAX_LABEL_OCTETS) throw new InvalidArgumentError(`tag ${JSON.stringify(tag)} exceeds ${MAX_LABEL_OCTETS} octets (it is a DNS-SD subtype label)`, 'tags');
    if (CONTROL_CHARS.test(tag)) throw new InvalidArgumentError('tags must not contain control characters', 'tags');
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/** Validate metadata: each `key=value` fits one TXT string (255 octets), keys are printable ASCII without '=' (RFC 6763 §6.4). */
export function validateMetadata(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentError('metadata must be an object of string values', 'metadata');
  const out: Record<string, string> = {};
  let total = 0;
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (typeof raw !== 'string') throw new InvalidArgumentError(`metadata value for ${JSON.stringify(key)} must be a string`, 'metadata');
    // RFC 6763 §6.4: keys are printable US-ASCII (0x20-0x7E) excluding '=', at least one character.
    if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(key)) throw new InvalidArgumentError(`metadata key ${JSON.stringify(key)} must be printable ASCII without '='`, 'metadata');
    // The key is ASCII (just checked): one octet per character.
    const size = key.length + 1 + octets(raw);
    if (size > MAX_TXT_STRING_OCTETS) throw new InvalidArgumentError(`metadata ${JSON.stringify(key)} is ${size} octets as key=value; one TXT string holds ${MAX_TXT_STRING_OCTETS}`, 'metadata');
    total += size + 1;
    out[key] = raw;
  }
  if (total > MAX_METADATA_OCTETS) throw new InvalidArgumentError(`metadata totals ${total} octets; at most ${MAX_METADATA_OCTETS}`, 'metadata');
  return out;
}

/** Validate a health status value. */
export function validateHealth(value: unknown): HealthStatus {
  if (typeof value !== 'string' || !(HEALTH_STATUSES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`health must be one of ${HEALTH_STATUSES.join(', ')}, got ${JSON.stringify(value)}`, 'health');
  }
  return value as HealthStatus;
}

/** Validate an active check definition. */
export function validateCheck(value: unknown): CheckDefinition {
  if (value === null || typeof value !== 'object') throw new InvalidArgumentError('check must be an object', 'check');
  const check = value as Record<string, unknown>;
  const optionalDuration = (field: string): number | undefined => {
    const v = check[field];
    if (v === undefined) return undefined;
    try {
      return validateDuration(v, `check.${field}`);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message, `check.${field}`);
    }
  };
  switch (check.type) {
    case 'http': {
      const url = check.url;
      let parsed: URL | undefined;
      try {
        parsed = typeof url === 'string' ? new URL(url) : undefined;
      } catch {
        parsed = undefined;
      }
      if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
        throw new InvalidArgumentError('check.url must be an http:// or https:// URL', 'check.url');
      }
      return withoutUndefined({ type: 'http', url: parsed.toString(), intervalMs: optionalDuration('intervalMs'), timeoutMs: optionalDuration('timeoutMs') });
    }
    case 'tcp': {
      const host = check.host === undefined ? undefined : validateAddress(check.host);
      const port = check.port === undefined ? undefined : validateInteger(check.port, 'check.port', 1, 65535);
      return withoutUndefined({ type: 'tcp', host, port, intervalMs: optionalDuration('intervalMs'), timeoutMs: optionalDuration('timeoutMs') });
    }
    case 'ttl':
      return withoutUndefined({ type: 'ttl', ttlMs: optionalDuration('ttlMs') });
    default:
      throw new InvalidArgumentError(`check.type must be http, tcp or ttl, got ${JSON.stringify(check.type)}`, 'check.type');
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return stripUndefined(value) as T;
}

/** Input accepted for registration: a ServiceInstance or any object of the same shape (JSON from the control API). */
export type InstanceInput = Partial<Omit<ServiceInstance, 'id' | 'address' | 'port'>> & { id: unknown; address: unknown; port: unknown };

/** Validate and normalise an instance into its frozen plain-data spec. Throws InvalidArgumentError naming the field. */
export function validateInstance(input: InstanceInput): InstanceSpec {
  if (input === null || typeof input !== 'object') throw new InvalidArgumentError('instance must be an object', 'instance');
  const protocol = input.protocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') throw new InvalidArgumentError(`protocol must be tcp or udp, got ${JSON.stringify(protocol)}`, 'protocol');
  let host: string | undefined;
  if (input.host !== undefined) {
    if (typeof input.host !== 'string' || !isHostName(input.host)) throw new InvalidArgumentError(`host ${JSON.stringify(input.host)} is not a valid host name`, 'host');
    host = foldAscii(input.host).replace(/\.$/, '');
  }
  let ttlMs: number | undefined;
  if (input.ttlMs !== undefined) {
    try {
      ttlMs = validateDuration(input.ttlMs, 'ttlMs');
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message, 'ttlMs');
    }
  }
  // Built field by field, optional ones only when present (every registration takes this path: no
  // intermediate object and no entries round trip). Validation order and key order are those of the spec.
  const spec: { -readonly [K in keyof InstanceSpec]: InstanceSpec[K] } = {
    id: validateInstanceId(input.id),
    address: validateAddress(input.address),
    port: validateInteger(input.port, 'port', 1, 65535),
    tags: Object.freeze(validateTags(input.tags ?? [])),
    metadata: Object.freeze(validateMetadata(input.metadata ?? {})),
    weight: validateInteger(input.weight ?? 1, 'weight', 0, 65535),
    priority: validateInteger(input.priority ?? 0, 'priority', 0, 65535),
    protocol,
  };
  const check = input.check === undefined ? undefined : Object.freeze(validateCheck(input.check));
  if (host !== undefined) spec.host = host;
  if (ttlMs !== undefined) spec.ttlMs = ttlMs;
  if (check !== undefined) spec.check = check;
  return Object.freeze(spec);
}
