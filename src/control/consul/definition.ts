/**
 * Consul's service definition (the body of `PUT /v1/agent/service/register`, and the `{"service": {...}}`
 * shape of an agent's service files) turned into Beacon's registration input. Field names are matched the way
 * Consul's decoder matches them: letter case and underscores do not matter (`Name`, `name`;
 * `DeregisterCriticalServiceAfter`, `deregister_critical_service_after`). See docs/api.md, 'Consul
 * compatibility', for what each field becomes.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { CheckDefinition, HealthStatus } from '../../registry/types.js';
import { MAX_DURATION_MS, type InstanceInput } from '../../registry/validate.js';

/** A Consul registration as Beacon will carry it out. */
export interface ConsulRegistration {
  /** Beacon service name (Consul `Name`). */
  readonly service: string;
  /** Beacon instance id (Consul `ID`, `Name` when absent). */
  readonly instance: InstanceInput & { id: string };
  /** Whether the check's initial Status was given (otherwise a re-registration keeps the current health). */
  readonly statusGiven: boolean;
  /** Consul `DeregisterCriticalServiceAfter` in ms, when given (Beacon applies its registry-wide setting). */
  readonly deregisterCriticalAfterMs?: number;
}

/** Address recorded when a registration names none: Consul uses the agent's address, and Beacon's agent is this host. */
export const DEFAULT_SERVICE_ADDRESS = '127.0.0.1';

/** Consul check status to Beacon health: `warning` is Beacon's `unknown` (docs/api.md, 'Health states'). */
export const HEALTH_OF_STATUS: Readonly<Record<string, HealthStatus>> = { passing: 'healthy', warning: 'unknown', critical: 'unhealthy' };

// Go's time.ParseDuration units (Consul durations are Go durations: "10s", "1m30s", "500ms").
const GO_UNITS_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const GO_DURATION = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h)/;

/** Parse a Go duration string ("10s", "1m30s", "1.5h") to whole milliseconds (at least 1 when not zero). */
export function parseGoDuration(value: unknown, field: string): number {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError(`${field} must be a duration string such as "10s"`, field);
  let rest = value;
  let ms = 0;
  while (rest.length > 0) {
    const match = GO_DURATION.exec(rest);
    if (!match) throw new InvalidArgumentError(`${field}: not a duration: ${JSON.stringify(value)} (use e.g. 10s, 1m30s, 500ms)`, field);
    const unit = /(ns|us|µs|μs|ms|s|m|h)$/.exec(match[0])?.[1] ?? 's';
    ms += Number(match[0].slice(0, -unit.length)) * (GO_UNITS_MS[unit] ?? 0);
    rest = rest.slice(match[0].length);
  }
  if (ms > MAX_DURATION_MS) throw new InvalidArgumentError(`${field} is longer than Beacon allows (one week)`, field);
  return ms === 0 ? 0 : Math.max(1, Math.round(ms));
}

/** Canonical form of a field name for Consul-style matching: lower case, no underscores. */
const fold = (key: string): string => key.replace(/_/g, '').toLowerCase();

/** Look up a field case- and underscore-insensitively. */
function field(object: Record<string, unknown>, name: string): unknown {
  const wanted = fold(name);
  for (const [key, value] of Object.entries(object)) if (fold(key) === wanted) return value;
  return undefined;
}

function asObject(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentError(`${name} must be an object`, name);
  return value as Record<string, unknown>;
}

function optionalString(object: Record<string, unknown>, name: string): string | undefined {
  const value = field(object, name);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentError(`${name} must be a string`, name);
  return value;
}

/** `host:port` of a Consul TCP check (`[::1]:80` for IPv6). */
function parseHostPort(value: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`Check.TCP must be host:port, got ${JSON.stringify(value)}`, 'Check.TCP');
  return { host: match[1], port };
}

/** One Consul check definition as Beacon's check, and its initial health. */
function convertCheck(raw: unknown): { check: CheckDefinition; health: HealthStatus; statusGiven: boolean } {
  const check = asObject(raw, 'Check');
  const durationOf = (name: string): number | undefined => {
    const value = field(check, name);
    if (value === undefined || value === '') return undefined;
    const ms = parseGoDuration(value, `Check.${name}`);
    if (ms === 0) throw new InvalidArgumentError(`Check.${name} must be greater than zero`, `Check.${name}`);
    return ms;
  };
  const status = optionalString(check, 'Status');
  if (status !== undefined && HEALTH_OF_STATUS[status] === undefined) throw new InvalidArgumentError('Check.Status must be passing, warning or critical', 'Check.Status');
  const ttl = durationOf('TTL');
  const http = optionalString(check, 'HTTP');
  const tcp = optionalString(check, 'TCP');
  const kinds = [ttl, http, tcp].filter((kind) => kind !== undefined).length;
  if (kinds !== 1) throw new InvalidArgumentError('a check needs exactly one of TTL, HTTP or TCP (script, gRPC, Docker and alias checks are not supported)', 'Check');
  const interval = durationOf('Interval');
  const timeout = durationOf('Timeout');
  const timing = { ...(interval === undefined ? {} : { intervalMs: interval }), ...(timeout === undefined ? {} : { timeoutMs: timeout }) };
  // Consul starts a check critical unless Status says otherwise; Beacon starts an active check unknown until its first probe.
  const health = HEALTH_OF_STATUS[status ?? 'critical'] ?? 'unhealthy';
  const statusGiven = status !== undefined;
  if (ttl !== undefined) return { check: { type: 'ttl', ttlMs: ttl }, health, statusGiven };
  if (http !== undefined) return { check: { type: 'http', url: http, ...timing }, health, statusGiven };
  return { check: { type: 'tcp', ...parseHostPort(tcp as string), ...timing }, health, statusGiven };
}

/** Strings of a string array field. */
function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new InvalidArgumentError(`${name} must be an array of strings`, name);
  return value as string[];
}

/**
 * Convert a Consul service definition. Throws InvalidArgumentError naming the field for anything Beacon
 * cannot carry (no Name, no Port, more than one check); Beacon's registry validates the rest.
 */
export function fromConsulService(raw: unknown): ConsulRegistration {
  const body = asObject(raw, 'service');
  const name = optionalString(body, 'Name');
  if (name === undefined) throw new InvalidArgumentError('Name is required', 'Name');
  const id = optionalString(body, 'ID') ?? name;
  const port = field(body, 'Port');
  if (port === undefined || port === 0) throw new InvalidArgumentError('Port is required: Beacon publishes every instance as an SRV record, which needs one', 'Port');
  const tags = stringList(field(body, 'Tags'), 'Tags');
  const meta = field(body, 'Meta');
  const weights = field(body, 'Weights');
  const passingWeight = weights === undefined || weights === null ? undefined : field(asObject(weights, 'Weights'), 'Passing');
  const checks = [
    ...(field(body, 'Check') === undefined || field(body, 'Check') === null ? [] : [field(body, 'Check')]),
    ...((): unknown[] => {
      const list = field(body, 'Checks');
      if (list === undefined || list === null) return [];
      if (!Array.isArray(list)) throw new InvalidArgumentError('Checks must be an array', 'Checks');
      return list;
    })(),
  ];
  if (checks.length > 1) throw new InvalidArgumentError('Beacon keeps one health check per instance: give at most one of Check and Checks', 'Checks');
  const converted = checks.length === 1 ? convertCheck(checks[0]) : undefined;
  const deregisterAfter = checks.length === 1 ? field(asObject(checks[0], 'Check'), 'DeregisterCriticalServiceAfter') : undefined;
  const instance: InstanceInput & { id: string } = {
    id,
    address: optionalString(body, 'Address') ?? DEFAULT_SERVICE_ADDRESS,
    port,
    ...(tags === undefined ? {} : { tags }),
    ...(meta === undefined || meta === null ? {} : { metadata: asObject(meta, 'Meta') as Record<string, string> }),
    ...(passingWeight === undefined ? {} : { weight: passingWeight as number }),
    // Without a check a Consul service stays until deregistered; Beacon's nearest is its longest TTL (one week).
    ...(converted === undefined ? { ttlMs: MAX_DURATION_MS, health: 'healthy' as const } : { check: converted.check, health: converted.health }),
  };
  return {
    service: name,
    instance,
    statusGiven: converted?.statusGiven ?? false,
    ...(deregisterAfter === undefined ? {} : { deregisterCriticalAfterMs: parseGoDuration(deregisterAfter, 'Check.DeregisterCriticalServiceAfter') }),
  };
}

/** Unwrap a service-definition file: `{"service": {...}}` (Consul's agent shape) or the service object itself. */
export function unwrapServiceDefinition(raw: unknown): unknown {
  const object = asObject(raw, 'service definition');
  const inner = field(object, 'service');
  return inner !== undefined && typeof inner === 'object' && inner !== null ? inner : object;
}
