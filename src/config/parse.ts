/**
 * Parsers of setting values. Each takes what a user wrote (a string from a flag or the environment, any
 * JSON value from the config file) and returns the typed value or throws an InvalidConfigurationError
 * naming the setting.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { InvalidConfigurationError } from '../errors.js';
import { isHostName } from '../registry/validate.js';

/** A host and port to listen on. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** What a parser knows besides the value: the setting's name (for errors) and the base of relative paths. */
export interface ParseContext {
  readonly name: string;
  readonly cwd: string;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
const DURATION_EXAMPLE = 'e.g. 500ms, 10s, 1m30s, 1h';

/**
 * Parse a duration written with units: `500ms`, `10s`, `2m`, `1h`, `1.5s`, or a compound of them in
 * descending order as Go and Consul write it (`1m30s`, `1h15m`). A bare number is refused wherever it comes
 * from (flag, environment, config file): `--ttl 10` read as milliseconds expired instances at once, so
 * the unit is never guessed. Zero, negative and malformed values throw InvalidConfigurationError naming
 * the setting; a zero TTL or check interval would expire or probe instances without pause.
 */
export function parseDuration(value: unknown, field = 'duration'): number {
  if (typeof value === 'number' || (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value))) {
    throw new InvalidConfigurationError(`${field}: a duration needs a unit, got ${JSON.stringify(value)} (${DURATION_EXAMPLE})`, field);
  }
  if (typeof value !== 'string') throw new InvalidConfigurationError(`${field}: not a duration: ${JSON.stringify(value)} (${DURATION_EXAMPLE})`, field);
  const ms = sumDurationParts(value.trim());
  if (ms === undefined) {
    if (/^\s*-/.test(value)) throw new InvalidConfigurationError(`${field}: must be greater than zero, got ${JSON.stringify(value)}`, field);
    throw new InvalidConfigurationError(`${field}: not a duration: ${JSON.stringify(value)} (${DURATION_EXAMPLE})`, field);
  }
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidConfigurationError(`${field}: must be greater than zero, got ${JSON.stringify(value)}`, field);
  if (ms > 2_147_483_647) throw new InvalidConfigurationError(`${field}: too long (at most about 24 days)`, field);
  return Math.round(ms) || 1;
}

/** The milliseconds of `1h2m3s4ms`-style text, or undefined when it is not such text (units must descend). */
function sumDurationParts(text: string): number | undefined {
  if (text === '') return undefined;
  const order = ['h', 'm', 's', 'ms'];
  let total = 0;
  let lastRank = -1;
  let at = 0;
  DURATION_PART.lastIndex = 0;
  for (let match = DURATION_PART.exec(text); match; match = DURATION_PART.exec(text)) {
    const unit = match[2] ?? '';
    const rank = order.indexOf(unit);
    if (rank <= lastRank) return undefined;
    lastRank = rank;
    total += Number(match[1]) * (DURATION_UNITS[unit] ?? Number.NaN);
    at = DURATION_PART.lastIndex;
  }
  return at === text.length ? total : undefined;
}

/** A DNS TTL in whole seconds (at least 1), written like every other duration (`5s`, `1m`). */
export function parseTtlSeconds(value: unknown, field: string): number {
  return Math.max(1, Math.round(parseDuration(value, field) / 1000));
}

/** Parse a positive integer (`5`, `"5"`) or throw InvalidConfigurationError. */
export function parsePositiveInt(value: unknown, field: string, max = 2 ** 31 - 1): number {
  return parseIntInRange(value, field, 1, max);
}

/** A whole number from 0 to `max` (a JSON number or its decimal string). */
export function parseNonNegativeInt(value: unknown, field: string, max = 2 ** 31 - 1): number {
  return parseIntInRange(value, field, 0, max);
}

function parseIntInRange(value: unknown, field: string, min: number, max: number): number {
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new InvalidConfigurationError(`${field}: must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}`, field);
  }
  return n;
}

/** `true`, `1`, `yes`, `on` / `false`, `0`, `no`, `off`, empty (any case), or a JSON boolean. */
export function parseBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  }
  throw new InvalidConfigurationError(`${field}: not a boolean: ${JSON.stringify(value)}`, field);
}

/** A comma-separated string or a JSON array of strings; blanks are dropped. */
export function parseList(value: unknown, field: string): string[] {
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v: string) => v.trim()).filter(Boolean);
  if (typeof value === 'string') return value.split(',').map((v) => v.trim()).filter(Boolean);
  throw new InvalidConfigurationError(`${field}: expected a comma-separated list, got ${JSON.stringify(value)}`, field);
}

/**
 * Parse `host:port`, `[v6]:port` or a bare `port` (host defaults to `defaultHost`). Port 0 asks the OS for a
 * free port (useful in tests); the daemon reports the port it got.
 */
export function parseListenAddress(value: string, field: string, defaultHost = '127.0.0.1'): ListenAddress {
  const text = value.trim();
  let host = defaultHost;
  let portText = text;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1] ?? '';
    portText = v6[2] ?? '';
  } else if (text.includes(':')) {
    const at = text.lastIndexOf(':');
    host = text.slice(0, at);
    portText = text.slice(at + 1);
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new InvalidConfigurationError(`${field}: bad port in ${JSON.stringify(value)} (0..65535)`, field);
  }
  if (host === '' || (isIP(host) === 0 && !isHostName(host))) {
    throw new InvalidConfigurationError(`${field}: bad host in ${JSON.stringify(value)}`, field);
  }
  return { host, port: Number(portText) };
}

/** One or more listen addresses (a list, see parseList); at least one. */
export function parseListenList(value: unknown, field: string): ListenAddress[] {
  const addresses = parseList(value, field).map((v) => parseListenAddress(v, field));
  if (addresses.length === 0) throw new InvalidConfigurationError(`${field}: at least one address is needed`, field);
  return addresses;
}

/** A DNS zone apex, lower-cased, with its trailing dot. */
export function parseDomain(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidConfigurationError(`${field}: must be a non-empty name`, field);
  const domain = value.trim().toLowerCase();
  const withDot = domain.endsWith('.') ? domain : `${domain}.`;
  if (!/^([a-z0-9_-]([a-z0-9_-]{0,61}[a-z0-9_-])?\.)+$/.test(withDot)) {
    throw new InvalidConfigurationError(`${field}: not a valid DNS name: ${JSON.stringify(value)}`, field);
  }
  return withDot;
}

/** A trimmed, non-empty string. */
export function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidConfigurationError(`${field}: must be a non-empty string`, field);
  return value.trim();
}

/** A file or directory path, resolved against the working directory. */
export function parsePath(value: unknown, context: ParseContext): string {
  return path.resolve(context.cwd, nonEmptyString(value, context.name));
}

/** `a, b or c`: a list as help and error messages spell it. */
export function orList(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

/** A parser accepting exactly one of `choices`. */
export function oneOf<const T extends string>(choices: readonly T[]): (value: unknown, context: ParseContext) => T {
  return (value, { name }) => {
    const text = nonEmptyString(value, name);
    if (!(choices as readonly string[]).includes(text)) {
      throw new InvalidConfigurationError(`${name}: must be ${orList(choices)}, got ${JSON.stringify(text)}`, name);
    }
    return text as T;
  };
}
