/**
 * Daemon configuration. Every setting comes from, in this order of precedence: command-line flags,
 * the environment (`BEACON_*`), an optional JSON config file (`--config FILE` / `BEACON_CONFIG`), then
 * defaults. Defaults work with no root and no config: DNS on 127.0.0.1:8053, data in `./.beacon`.
 * Values are validated here, once; a bad value is an InvalidConfigurationError naming the setting.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { InvalidConfigurationError } from './errors.js';

/** A host and port to listen on. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Which durable store backs the registry. */
export type StoreKind = 'sqlite' | 'memory' | 'etcd';

/** The fully resolved, validated daemon configuration. Durations are milliseconds. */
export interface BeaconConfig {
  /** Directory for the SQLite database and the control socket. */
  readonly dataDir: string;
  /** Store backend (`--ephemeral` selects `memory`). */
  readonly store: StoreKind;
  /** etcd endpoints, for `--store etcd`. */
  readonly etcdEndpoints: readonly string[];
  /** DNS zone apex, with a trailing dot. */
  readonly domain: string;
  /** Where DNS listens (UDP and TCP on each). */
  readonly dnsListen: readonly ListenAddress[];
  /** Directory of static zone files, if any. */
  readonly zonesDir?: string;
  /** TTL (seconds) of positive DNS answers, if set (else the DNS server's default). */
  readonly answerTtlSeconds?: number;
  /** TTL (seconds) of negative DNS answers, if set. */
  readonly negativeTtlSeconds?: number;
  /** Path of the control API's Unix socket. */
  readonly socketPath: string;
  /** Optional TCP listener for the control API (needs `token`). */
  readonly httpListen?: ListenAddress;
  /** Bearer token required on the TCP control listener. */
  readonly token?: string;
  /** Registry: default heartbeat TTL. */
  readonly defaultTtlMs: number;
  /** Registry: default active check interval. */
  readonly healthCheckIntervalMs: number;
  /** Registry: unhealthy for longer than this removes an instance. */
  readonly deregisterCriticalAfterMs: number;
  /** Circuit breaker: consecutive failures that open a circuit. */
  readonly breakerFailureThreshold: number;
  /** Circuit breaker: successes in half-open that close it. */
  readonly breakerSuccessThreshold: number;
  /** Circuit breaker: how long a circuit stays open before half-open. */
  readonly breakerOpenTimeoutMs: number;
  /** Circuit breaker: calls admitted while half-open. */
  readonly breakerHalfOpenMaxCalls: number;
  /** pino log level. */
  readonly logLevel: string;
  /** DNS worker processes (node:cluster) sharing the DNS sockets; 1 = answer in the main process. */
  readonly dnsWorkers: number;
  /** Human-readable logs. */
  readonly pretty: boolean;
}

/** Raw setting values as they come from flags, env or a file (strings, numbers, booleans, lists). */
export type RawSettings = Partial<Record<SettingName, unknown>>;

type SettingName =
  | 'dataDir' | 'ephemeral' | 'store' | 'etcdEndpoints' | 'domain' | 'dnsListen' | 'zones' | 'answerTtl'
  | 'negativeTtl' | 'socket' | 'http' | 'token' | 'ttl' | 'checkInterval' | 'deregisterCriticalAfter'
  | 'breakerFailures' | 'breakerSuccesses' | 'breakerOpenTimeout' | 'breakerHalfOpenCalls' | 'logLevel' | 'pretty' | 'workers';

/** Every setting name, with its environment variable. The config file uses the same (camelCase) names. */
export const SETTINGS: Readonly<Record<SettingName, string>> = Object.freeze({
  dataDir: 'BEACON_DATA_DIR',
  ephemeral: 'BEACON_EPHEMERAL',
  store: 'BEACON_STORE',
  etcdEndpoints: 'BEACON_ETCD_ENDPOINTS',
  domain: 'BEACON_DOMAIN',
  dnsListen: 'BEACON_DNS_LISTEN',
  zones: 'BEACON_ZONES',
  answerTtl: 'BEACON_ANSWER_TTL',
  negativeTtl: 'BEACON_NEGATIVE_TTL',
  socket: 'BEACON_SOCKET',
  http: 'BEACON_HTTP',
  token: 'BEACON_TOKEN',
  ttl: 'BEACON_TTL',
  checkInterval: 'BEACON_CHECK_INTERVAL',
  deregisterCriticalAfter: 'BEACON_DEREGISTER_CRITICAL_AFTER',
  breakerFailures: 'BEACON_BREAKER_FAILURES',
  breakerSuccesses: 'BEACON_BREAKER_SUCCESSES',
  breakerOpenTimeout: 'BEACON_BREAKER_OPEN_TIMEOUT',
  breakerHalfOpenCalls: 'BEACON_BREAKER_HALF_OPEN_CALLS',
  logLevel: 'BEACON_LOG_LEVEL',
  pretty: 'BEACON_PRETTY',
  workers: 'BEACON_WORKERS',
});

const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** The defaults (before precedence). */
export const DEFAULT_SETTINGS: Readonly<RawSettings> = Object.freeze({
  dataDir: './.beacon',
  ephemeral: false,
  store: 'sqlite',
  etcdEndpoints: '127.0.0.1:2379',
  domain: 'local.',
  dnsListen: '127.0.0.1:8053',
  ttl: '30s',
  checkInterval: '10s',
  deregisterCriticalAfter: '90s',
  breakerFailures: 5,
  breakerSuccesses: 2,
  breakerOpenTimeout: '30s',
  breakerHalfOpenCalls: 1,
  logLevel: 'info',
  pretty: false,
  workers: 1,
});

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parse a duration: `500ms`, `10s`, `2m`, `1h`, `1.5s`, or a bare number of milliseconds.
 * Zero, negative and malformed values throw InvalidConfigurationError (seed mutant A).
 */
export function parseDuration(value: unknown, field = 'duration'): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const match = /^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (!match) throw new InvalidConfigurationError(`${field}: not a duration: ${JSON.stringify(value)} (use e.g. 500ms, 10s, 2m)`, field);
    ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1);
  } else {
    throw new InvalidConfigurationError(`${field}: not a duration: ${JSON.stringify(value)}`, field);
  }
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidConfigurationError(`${field}: must be greater than zero, got ${JSON.stringify(value)}`, field);
  if (ms > 2_147_483_647) throw new InvalidConfigurationError(`${field}: too long (at most about 24 days)`, field);
  return Math.round(ms) || 1;
}

/** Parse a positive integer (`5`, `"5"`) or throw InvalidConfigurationError. */
export function parsePositiveInt(value: unknown, field: string, max = 2 ** 31 - 1): number {
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > max) {
    throw new InvalidConfigurationError(`${field}: must be an integer between 1 and ${max}, got ${JSON.stringify(value)}`, field);
  }
  return n;
}

function parseBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  }
  throw new InvalidConfigurationError(`${field}: not a boolean: ${JSON.stringify(value)}`, field);
}

function parseList(value: unknown, field: string): string[] {
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
  if (host === '' || (isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host))) {
    throw new InvalidConfigurationError(`${field}: bad host in ${JSON.stringify(value)}`, field);
  }
  return { host, port: Number(portText) };
}

function normaliseDomain(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidConfigurationError('domain: must be a non-empty name', 'domain');
  const domain = value.trim().toLowerCase();
  const withDot = domain.endsWith('.') ? domain : `${domain}.`;
  if (!/^([a-z0-9_-]([a-z0-9_-]{0,61}[a-z0-9_-])?\.)+$/.test(withDot)) {
    throw new InvalidConfigurationError(`domain: not a valid DNS name: ${JSON.stringify(value)}`, 'domain');
  }
  return withDot;
}

function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidConfigurationError(`${field}: must be a non-empty string`, field);
  return value.trim();
}

/** Read the settings found in the environment (`BEACON_*`). Unset and empty variables are ignored. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const out: RawSettings = {};
  for (const name of SETTING_NAMES) {
    const value = env[SETTINGS[name]];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** Read a JSON config file: an object whose keys are setting names. Unknown keys are an error (typos). */
export function settingsFromFile(file: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new InvalidConfigurationError(`config file ${file}: cannot read it (${(cause as Error).message})`, 'config');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new InvalidConfigurationError(`config file ${file}: not valid JSON (${(cause as Error).message})`, 'config');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidConfigurationError(`config file ${file}: expected a JSON object`, 'config');
  }
  const out: RawSettings = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(SETTING_NAMES as string[]).includes(key)) {
      throw new InvalidConfigurationError(`config file ${file}: unknown setting ${JSON.stringify(key)} (known: ${SETTING_NAMES.join(', ')})`, key);
    }
    out[key as SettingName] = value;
  }
  return out;
}

/** Inputs of `loadConfig`. */
export interface ConfigSources {
  /** Settings given as command-line flags (undefined values are ignored). */
  readonly flags?: RawSettings;
  /** Environment; defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Config file path; when absent, `BEACON_CONFIG` from `env` is used, if set. */
  readonly configFile?: string;
  /** Base for relative paths; defaults to `process.cwd()`. */
  readonly cwd?: string;
}

function defined(settings: RawSettings | undefined): RawSettings {
  const out: RawSettings = {};
  for (const [key, value] of Object.entries(settings ?? {})) if (value !== undefined) out[key as SettingName] = value;
  return out;
}

/** Resolve the configuration: flags > environment > config file > defaults, then validate every value. */
export function loadConfig(sources: ConfigSources = {}): BeaconConfig {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const configFile = sources.configFile ?? (env.BEACON_CONFIG || undefined);
  const fromFile = configFile === undefined ? {} : settingsFromFile(path.resolve(cwd, configFile));
  const raw: RawSettings = { ...DEFAULT_SETTINGS, ...defined(fromFile), ...settingsFromEnv(env), ...defined(sources.flags) };
  return validateSettings(raw, cwd);
}

/** Turn merged raw settings into a validated BeaconConfig. */
export function validateSettings(raw: RawSettings, cwd: string): BeaconConfig {
  const dataDir = path.resolve(cwd, nonEmptyString(raw.dataDir, 'dataDir'));
  const ephemeral = parseBoolean(raw.ephemeral ?? false, 'ephemeral');
  const storeName = nonEmptyString(raw.store, 'store');
  if (storeName !== 'sqlite' && storeName !== 'memory' && storeName !== 'etcd') {
    throw new InvalidConfigurationError(`store: must be sqlite, memory or etcd, got ${JSON.stringify(storeName)}`, 'store');
  }
  const store: StoreKind = ephemeral ? 'memory' : storeName;
  const dnsListen = parseList(raw.dnsListen, 'dnsListen').map((v) => parseListenAddress(v, 'dnsListen'));
  if (dnsListen.length === 0) throw new InvalidConfigurationError('dnsListen: at least one address is needed', 'dnsListen');
  const httpListen = raw.http === undefined ? undefined : parseListenAddress(String(raw.http), 'http');
  const token = raw.token === undefined ? undefined : nonEmptyString(raw.token, 'token');
  if (httpListen && token === undefined) {
    throw new InvalidConfigurationError('http: a TCP control listener needs a bearer token (--token or BEACON_TOKEN)', 'token');
  }
  if (token !== undefined && token.length < 8) throw new InvalidConfigurationError('token: use at least 8 characters', 'token');
  const logLevel = nonEmptyString(raw.logLevel, 'logLevel');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new InvalidConfigurationError(`logLevel: unknown level ${JSON.stringify(logLevel)}`, 'logLevel');
  }
  const config: BeaconConfig = {
    dataDir,
    store,
    etcdEndpoints: parseList(raw.etcdEndpoints, 'etcdEndpoints'),
    domain: normaliseDomain(raw.domain),
    dnsListen,
    ...(raw.zones === undefined ? {} : { zonesDir: path.resolve(cwd, nonEmptyString(raw.zones, 'zones')) }),
    ...(raw.answerTtl === undefined ? {} : { answerTtlSeconds: Math.max(1, Math.round(parseDuration(secondsDefault(raw.answerTtl), 'answerTtl') / 1000)) }),
    ...(raw.negativeTtl === undefined ? {} : { negativeTtlSeconds: Math.max(1, Math.round(parseDuration(secondsDefault(raw.negativeTtl), 'negativeTtl') / 1000)) }),
    socketPath: path.resolve(cwd, raw.socket === undefined ? path.join(dataDir, 'beacon.sock') : nonEmptyString(raw.socket, 'socket')),
    ...(httpListen ? { httpListen } : {}),
    ...(token === undefined ? {} : { token }),
    defaultTtlMs: parseDuration(raw.ttl, 'ttl'),
    healthCheckIntervalMs: parseDuration(raw.checkInterval, 'checkInterval'),
    deregisterCriticalAfterMs: parseDuration(raw.deregisterCriticalAfter, 'deregisterCriticalAfter'),
    breakerFailureThreshold: parsePositiveInt(raw.breakerFailures, 'breakerFailures'),
    breakerSuccessThreshold: parsePositiveInt(raw.breakerSuccesses, 'breakerSuccesses'),
    breakerOpenTimeoutMs: parseDuration(raw.breakerOpenTimeout, 'breakerOpenTimeout'),
    breakerHalfOpenMaxCalls: parsePositiveInt(raw.breakerHalfOpenCalls, 'breakerHalfOpenCalls'),
    logLevel,
    pretty: parseBoolean(raw.pretty, 'pretty'),
    dnsWorkers: parsePositiveInt(raw.workers, 'workers', 64),
  };
  return config;
}

/** DNS TTLs are in seconds: a bare number means seconds there, unlike other durations. */
function secondsDefault(value: unknown): unknown {
  if (typeof value === 'number') return value * 1000;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  return value;
}
