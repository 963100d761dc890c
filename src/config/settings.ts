/**
 * The daemon's settings, each defined once. An entry gives a setting's help text, value placeholder,
 * default and parser; its other spellings are derived from its name, so they cannot drift apart:
 *
 *   name (and config-file key)  dnsListen
 *   command-line flag           --dns-listen        (`beacon serve`, built in src/cli/serve.ts)
 *   environment variable        BEACON_DNS_LISTEN
 *
 * Sources and precedence (flags > environment > config file > defaults) are in sources.ts and
 * src/config.ts, which also turns the parsed values into a BeaconConfig. To add a setting: add an entry
 * here, a field to BeaconConfig and its line in `toConfig`. The flag, the variable, the file key and the
 * help line follow; test/cli/settings.test.ts does not compile until the setting has sample values, then
 * fails until a value set by each source reaches the BeaconConfig.
 */
import { InvalidConfigurationError } from '../errors.js';
import { parseKeyScope, parseTsigKey } from '../dns/update/tsig.js';
import { parseCidr } from '../dns/update/cidr.js';
import {
  nonEmptyString,
  oneOf,
  orList,
  parseBoolean,
  parseDomain,
  parseDuration,
  parseList,
  parseListenAddress,
  parseListenList,
  parseNonNegativeInt,
  parsePath,
  parsePositiveInt,
  parseTtlSeconds,
  type ParseContext,
} from './parse.js';

/** How one setting is documented, defaulted and parsed. */
export interface SettingSpec<T> {
  /** Help text of the flag; ` (default …)` is appended from `default` or `defaultHelp`. */
  readonly description: string;
  /** Placeholder of the flag's value, e.g. `<duration>`; absent for an on/off switch. */
  readonly arg?: `<${string}>`;
  /** The flag may be repeated; its values form a list (the environment and the file use a comma list). */
  readonly repeatable?: true;
  /** The only values accepted; the command line checks them too and lists them in help. */
  readonly choices?: readonly string[];
  /** The value when no source sets the setting, written as a user would write it. */
  readonly default?: string | number | boolean;
  /** How help states the default when `default` cannot (computed or someone else's default). */
  readonly defaultHelp?: string;
  /** Validate and convert a raw value; throws InvalidConfigurationError naming the setting. */
  readonly parse: (value: unknown, context: ParseContext) => T;
}

const STORES = ['sqlite', 'memory', 'etcd'] as const;
const UDP_TRANSPORTS = ['auto', 'batched', 'dgram'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const duration = (value: unknown, { name }: ParseContext): number => parseDuration(value, name);
const count = (value: unknown, { name }: ParseContext): number => parsePositiveInt(value, name);

/** Every daemon setting, in the order `beacon serve --help` lists them. */
export const SETTING_TABLE = {
  dataDir: { arg: '<dir>', description: 'data directory: SQLite database and control socket', default: './.beacon', parse: parsePath },
  ephemeral: { description: 'keep the registry in memory only (no database)', default: false, parse: (v, c) => parseBoolean(v, c.name) },
  store: { arg: '<kind>', description: 'storage backend', choices: STORES, default: 'sqlite', parse: oneOf(STORES) },
  etcdEndpoints: {
    arg: '<list>',
    description: 'etcd endpoints for --store etcd, comma-separated',
    defaultHelp: 'none: required with --store etcd',
    parse: (v, c) => parseList(v, c.name),
  },
  storeWait: {
    arg: '<duration>',
    description: 'at start, how long to keep retrying (with backoff) a shared store that does not answer before giving up',
    defaultHelp: 'retry until it answers',
    parse: duration,
  },
  domain: { arg: '<name>', description: 'DNS-SD domain', default: 'local.', parse: (v, c) => parseDomain(v, c.name) },
  dnsListen: { arg: '<host:port>', description: 'DNS listen address, UDP and TCP; repeatable', repeatable: true, default: '127.0.0.1:8053', parse: (v, c) => parseListenList(v, c.name) },
  zones: { arg: '<dir>', description: 'directory of static zone files (*.zone)', parse: parsePath },
  answerTtl: { arg: '<duration>', description: 'TTL of answers', defaultHelp: '5s', parse: (v, c) => parseTtlSeconds(v, c.name) },
  maxAnswers: {
    arg: '<n>',
    description: 'at most this many SRV/A/AAAA/PTR records per answer, rotated so every instance is handed out in turn (0: as many as fit)',
    default: 0,
    parse: (v, c) => parseNonNegativeInt(v, c.name),
  },
  negativeTtl: { arg: '<duration>', description: 'TTL of negative answers', defaultHelp: '5s', parse: (v, c) => parseTtlSeconds(v, c.name) },
  socket: { arg: '<path>', description: 'control socket', defaultHelp: '<data dir>/beacon.sock', parse: parsePath },
  http: { arg: '<host:port>', description: 'also serve the control API on TCP (needs --token)', parse: (v, c) => parseListenAddress(String(v), c.name) },
  token: { arg: '<token>', description: 'bearer token for the TCP control API', parse: parseToken },
  readToken: { arg: '<token>', description: 'read-only token for the TCP control API: GET requests, /metrics and the dashboard without its actions', parse: parseToken },
  ttl: { arg: '<duration>', description: 'default heartbeat TTL', default: '30s', parse: duration },
  checkInterval: { arg: '<duration>', description: 'default active check interval', default: '10s', parse: duration },
  deregisterCriticalAfter: { arg: '<duration>', description: 'remove instances unhealthy for this long', default: '90s', parse: duration },
  breakerFailures: { arg: '<n>', description: 'consecutive failures that open a circuit', default: 5, parse: count },
  breakerSuccesses: { arg: '<n>', description: 'half-open successes that close it', default: 2, parse: count },
  breakerOpenTimeout: { arg: '<duration>', description: 'how long a circuit stays open', default: '30s', parse: duration },
  breakerHalfOpenCalls: { arg: '<n>', description: 'trial calls admitted while half-open', default: 1, parse: count },
  workers: {
    arg: '<n>',
    description: 'DNS worker processes sharing the DNS sockets',
    default: 1,
    defaultHelp: '1: answer in the main process',
    parse: (v, c) => parsePositiveInt(v, c.name, 64),
  },
  dnsThread: {
    description: 'answer DNS from a worker thread of this process, on an event loop of its own apart from the control API and the write path (one DNS server; not with --workers N)',
    default: false,
    parse: (v, c) => parseBoolean(v, c.name),
  },
  heapGrowth: {
    arg: '<percent>',
    description: 'let the JS heap grow at most this many percent past what the last full garbage collection kept, 10 to 300 (0: V8 decides, up to 4x on hosts with 8 GB or more); a --heap-growing-percent node flag wins',
    default: 30,
    parse: (v, c) => {
      // Below 10 collects more often than V8 itself ever does (its floor is 1.1); above 300, V8's own choice.
      const percent = parseNonNegativeInt(v, c.name, 300);
      if (percent !== 0 && percent < 10) throw new InvalidConfigurationError(`${c.name}: must be 0 or from 10 to 300, got ${JSON.stringify(v)}`, c.name);
      return percent;
    },
  },
  dnsTcpMaxConnections: { arg: '<n>', description: 'DNS TCP connections open at most; when full, the longest-waiting one makes room', default: 256, parse: count },
  dnsTcpMaxPerClient: { arg: '<n>', description: 'DNS TCP connections per client address (IPv6: per /64)', default: 16, parse: count },
  dnsTcpMessageDeadline: { arg: '<duration>', description: 'a DNS TCP message must be complete this long after the connection opened or it began', default: '5s', parse: duration },
  dnsTcpIdleTimeout: { arg: '<duration>', description: 'a DNS TCP connection with nothing in progress is closed after this long', default: '10s', parse: duration },
  udpTransport: {
    arg: '<kind>',
    description: 'UDP I/O: batched (recvmmsg/sendmmsg through the native addon), dgram (node:dgram), or auto (batched where the addon loads)',
    choices: UDP_TRANSPORTS,
    default: 'auto',
    parse: oneOf(UDP_TRANSPORTS),
  },
  mdns: {
    arg: '<interfaces>',
    description: 'also publish eligible instances over multicast DNS under local. on these interfaces ("all": every non-loopback IPv4 interface); repeatable',
    repeatable: true,
    defaultHelp: 'off',
    parse: (v, c) => parseList(v, c.name),
  },
  tsigKey: {
    arg: '<name:algorithm:base64>',
    description: 'a TSIG key (RFC 8945) DNS UPDATE may be signed with; algorithm hmac-sha256 or hmac-sha512; repeatable',
    repeatable: true,
    defaultHelp: 'none: DNS UPDATE is off unless --allow-update-from is given',
    parse: (v, c) => parseList(v, c.name).map((text) => {
      try {
        return parseTsigKey(text);
      } catch (err) {
        throw new InvalidConfigurationError(`${c.name}: ${(err as Error).message}`, c.name);
      }
    }),
  },
  tsigKeyServices: {
    arg: '<key=service>',
    description: 'limit a TSIG key to DNS UPDATEs of names under a service (printer: _printer._tcp and _printer._udp; _printer._tcp: that protocol); repeatable; an update touching any other name is REFUSED',
    repeatable: true,
    defaultHelp: 'none: every key may update the whole zone',
    parse: (v, c) => parseList(v, c.name).map((text) => {
      try {
        return parseKeyScope(text);
      } catch (err) {
        throw new InvalidConfigurationError(`${c.name}: ${(err as Error).message}`, c.name);
      }
    }),
  },
  allowUpdateFrom: {
    arg: '<cidr>',
    description: 'accept unsigned DNS UPDATE from these networks (e.g. 127.0.0.1/32); repeatable',
    repeatable: true,
    defaultHelp: 'none',
    parse: (v, c) => parseList(v, c.name).map((text) => {
      if (!parseCidr(text)) throw new InvalidConfigurationError(`${c.name}: ${JSON.stringify(text)} is not an address or CIDR`, c.name);
      return text;
    }),
  },
  updateLease: {
    arg: '<duration>',
    description: 'lease (instance TTL) of a DNS UPDATE registration that asks for none (RFC 9664)',
    default: '2h',
    parse: duration,
  },
  updateMaxRecordSets: {
    arg: '<n>',
    description: 'at most this many RRsets of dynamic zone data (records DNS UPDATE keeps at host names); an update over it is REFUSED',
    default: 10_000,
    parse: count,
  },
  updateMaxRecords: {
    arg: '<n>',
    description: 'at most this many records in one RRset of dynamic zone data; an update over it is REFUSED',
    default: 100,
    parse: count,
  },
  logLevel: { arg: '<level>', description: orList(LOG_LEVELS), default: 'info', parse: oneOf(LOG_LEVELS) },
  pretty: { description: 'human-readable logs', default: false, defaultHelp: 'when stdout is a terminal', parse: (v, c) => parseBoolean(v, c.name) },
} as const satisfies Record<string, SettingSpec<unknown>>;

/** A bearer token: at least 8 characters, so that a placeholder is not mistaken for a secret. */
function parseToken(value: unknown, { name }: ParseContext): string {
  const token = nonEmptyString(value, name);
  if (token.length < 8) throw new InvalidConfigurationError(`${name}: use at least 8 characters`, name);
  return token;
}

/** A setting's name, which is also its config-file key. */
export type SettingName = keyof typeof SETTING_TABLE;

/** Every setting name, in table order. */
export const SETTING_NAMES = Object.keys(SETTING_TABLE) as readonly SettingName[];

type ValueOf<S> = S extends { readonly parse: (value: unknown, context: ParseContext) => infer T } ? (S extends { readonly default: unknown } ? T : T | undefined) : never;

/** Parsed setting values: settings without a default may be undefined. */
export type SettingValues = { readonly [K in SettingName]: ValueOf<(typeof SETTING_TABLE)[K]> };

/** Raw setting values as they come from flags, env or a file (strings, numbers, booleans, lists). */
export type RawSettings = Partial<Record<SettingName, unknown>>;

/** A setting's entry, seen through the common SettingSpec shape. */
export function specOf(name: SettingName): SettingSpec<unknown> {
  return SETTING_TABLE[name];
}

/** The setting's command-line flag: `dnsListen` -> `--dns-listen`. */
export function flagOf(name: SettingName): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The setting's environment variable: `dnsListen` -> `BEACON_DNS_LISTEN`. */
export function envOf(name: SettingName): string {
  return `BEACON_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** How help states a setting's default, if it has one worth stating. */
export function defaultHelpOf(name: SettingName): string | undefined {
  const spec = specOf(name);
  if (spec.defaultHelp !== undefined) return spec.defaultHelp;
  return spec.default === undefined || spec.default === false ? undefined : String(spec.default);
}

/** The config-file path is not a setting (a file cannot name itself); its flag and variable. */
export const CONFIG_FILE = { flag: '--config', env: 'BEACON_CONFIG' } as const;

/** Every setting name, with its environment variable. The config file uses the same (camelCase) names. */
export const SETTINGS: Readonly<Record<SettingName, string>> = Object.freeze(
  Object.fromEntries(SETTING_NAMES.map((name) => [name, envOf(name)])) as Record<SettingName, string>,
);

/** The defaults (before precedence), as raw values. */
export const DEFAULT_SETTINGS: Readonly<RawSettings> = Object.freeze(
  Object.fromEntries(SETTING_NAMES.flatMap((name) => {
    const value = specOf(name).default;
    return value === undefined ? [] : [[name, value]];
  })) as RawSettings,
);

/** Parse every setting of `raw` (an absent one takes its default) in table order; the first bad value throws. */
export function parseSettings(raw: RawSettings, cwd: string): SettingValues {
  const values: Partial<Record<SettingName, unknown>> = {};
  for (const name of SETTING_NAMES) {
    const spec = specOf(name);
    const value = raw[name] !== undefined ? raw[name] : spec.default;
    values[name] = value === undefined ? undefined : spec.parse(value, { name, cwd });
  }
  // Each value came from its own entry's parser, which is what SettingValues says of it.
  return values as SettingValues;
}
