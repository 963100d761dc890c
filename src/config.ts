/**
 * Daemon configuration. Every setting comes from, in this order of precedence: command-line flags,
 * the environment (`BEACON_*`), an optional JSON config file (`--config FILE` / `BEACON_CONFIG`), then
 * defaults. Defaults work with no root and no config: DNS on 127.0.0.1:8053, data in `./.beacon`.
 * The settings are defined once, in config/settings.ts; values are validated there, once, and a bad value
 * is an InvalidConfigurationError naming the setting. This module merges the sources and shapes the result.
 */
import path from 'node:path';
import { InvalidConfigurationError } from './errors.js';
import type { ListenAddress } from './config/parse.js';
import type { KeyScopeEntry, TsigKey } from './dns/update/tsig.js';
import { nameKey, nameToPresentation } from './dns/name.js';
import { CONFIG_FILE, envOf, flagOf, parseSettings, type RawSettings, type SettingValues } from './config/settings.js';
import { settingsFromEnv, settingsFromFile } from './config/sources.js';

export { parseDuration, parseListenAddress, parsePositiveInt, type ListenAddress } from './config/parse.js';
export { DEFAULT_SETTINGS, SETTING_TABLE, SETTINGS, type RawSettings, type SettingName } from './config/settings.js';
export { settingsFromEnv, settingsFromFile, settingsFromFlags } from './config/sources.js';

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
  /** At start, give up on a shared store that has not answered for this long; undefined: retry until it does. */
  readonly storeWaitMs?: number;
  /** DNS zone apex, with a trailing dot. */
  readonly domain: string;
  /** Where DNS listens (UDP and TCP on each). */
  readonly dnsListen: readonly ListenAddress[];
  /** Directory of static zone files, if any. */
  readonly zonesDir?: string;
  /** TTL (seconds) of positive DNS answers, if set (else the DNS server's default). */
  readonly answerTtlSeconds?: number;
  /** Most SRV/A/AAAA/PTR records in one answer, rotated through the whole set; 0 = as many as fit. */
  readonly maxAnswers: number;
  /** TTL (seconds) of negative DNS answers, if set. */
  readonly negativeTtlSeconds?: number;
  /** Path of the control API's Unix socket. */
  readonly socketPath: string;
  /** Optional TCP listener for the control API (needs `token`). */
  readonly httpListen?: ListenAddress;
  /** Bearer token required on the TCP control listener. */
  readonly token?: string;
  /** Read-only token for the TCP control listener (GET and HEAD only). */
  readonly readToken?: string;
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
  /** Answer DNS from one worker thread of this process instead of the main event loop (dns-workers.ts). */
  readonly dnsThread: boolean;
  /** Percent the JS heap may grow past what the last full collection kept (daemon/heap-growth.ts); 0: V8 decides. */
  readonly heapGrowthPercent: number;
  /** Human-readable logs. */
  readonly pretty: boolean;
  /** DNS over TCP limits (RFC 7766 §6.2.3, §10). */
  readonly dnsTcp: { readonly maxConnections: number; readonly maxPerClient: number; readonly messageDeadlineMs: number; readonly idleTimeoutMs: number };
  /** How DNS reads and answers UDP: `auto` picks the batched addon where it loads, else node:dgram. */
  readonly udpTransport: 'auto' | 'batched' | 'dgram';
  /** Interfaces to publish on over multicast DNS (empty: every non-loopback IPv4 one); undefined: off. */
  readonly mdnsInterfaces?: readonly string[];
  /** TSIG keys DNS UPDATE may be signed with. */
  readonly tsigKeys: readonly TsigKey[];
  /** Networks (CIDR) whose unsigned DNS UPDATEs are accepted. */
  readonly allowUpdateFrom: readonly string[];
  /** Lease of a DNS UPDATE registration that asks for none, ms. */
  readonly updateLeaseMs: number;
  /** At most this many RRsets of dynamic zone data (DNS UPDATE refuses more). */
  readonly updateMaxRecordSets: number;
  /** At most this many records in one RRset of dynamic zone data. */
  readonly updateMaxRecords: number;
}

/** The control socket's path when none is configured: `beacon.sock` in the data directory. */
export function defaultSocketPath(dataDir: string): string {
  return path.join(dataDir, 'beacon.sock');
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
  return Object.fromEntries(Object.entries(settings ?? {}).filter(([, value]) => value !== undefined));
}

/** Resolve the configuration: flags > environment > config file > defaults, then validate every value. */
export function loadConfig(sources: ConfigSources = {}): BeaconConfig {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const configFile = sources.configFile ?? (env[CONFIG_FILE.env] || undefined);
  const fromFile = configFile === undefined ? {} : settingsFromFile(path.resolve(cwd, configFile));
  return validateSettings({ ...defined(fromFile), ...settingsFromEnv(env), ...defined(sources.flags) }, cwd);
}

/** Turn merged raw settings (absent ones take their defaults) into a validated BeaconConfig. */
export function validateSettings(raw: RawSettings, cwd: string): BeaconConfig {
  return toConfig(parseSettings(raw, cwd));
}

/** Shape parsed settings as a BeaconConfig, applying the rules that involve more than one setting. */
function toConfig(v: SettingValues): BeaconConfig {
  if (v.http && v.token === undefined) {
    throw new InvalidConfigurationError(`http: a TCP control listener needs a bearer token (${flagOf('token')} or ${envOf('token')})`, 'token');
  }
  if (v.readToken !== undefined && v.readToken === v.token) {
    throw new InvalidConfigurationError(`readToken: must differ from the token, or reads could write`, 'readToken');
  }
  // A guessed endpoint would make a node serve from (or wait for) some other cluster, or none, without a word.
  if (v.store === 'etcd' && !v.ephemeral && (v.etcdEndpoints === undefined || v.etcdEndpoints.length === 0)) {
    throw new InvalidConfigurationError(`etcdEndpoints: ${flagOf('store')} etcd needs ${flagOf('etcdEndpoints')} (or ${envOf('etcdEndpoints')}), e.g. http://10.0.0.1:2379,http://10.0.0.2:2379`, 'etcdEndpoints');
  }
  // `store` defaults to sqlite, so etcd here was asked for: memory would silently drop the cluster.
  if (v.ephemeral && v.store === 'etcd') {
    throw new InvalidConfigurationError(`ephemeral: ${flagOf('ephemeral')} keeps the registry in memory and cannot be combined with ${flagOf('store')} etcd`, 'ephemeral');
  }
  // --workers N already answers DNS apart from the main event loop, N times; one thread is the single-server form.
  if (v.dnsThread && v.workers > 1) {
    throw new InvalidConfigurationError(`dnsThread: ${flagOf('dnsThread')} runs one DNS server in a thread; ${flagOf('workers')} ${v.workers} already runs DNS in worker processes`, 'dnsThread');
  }
  // DNS UPDATE replies wait for the write path: the batched UDP transport cannot send late (see README,
  // 'Registration through DNS UPDATE'). DNS workers forward UPDATE to the daemon, which holds the write path.
  const updates = (v.tsigKey?.length ?? 0) > 0 || (v.allowUpdateFrom?.length ?? 0) > 0;
  if (updates && v.udpTransport === 'batched') {
    throw new InvalidConfigurationError(`udpTransport: DNS UPDATE (${flagOf('tsigKey')}, ${flagOf('allowUpdateFrom')}) needs ${flagOf('udpTransport')} auto or dgram`, 'udpTransport');
  }
  const tsigKeys = scopedKeys(v.tsigKey ?? [], v.tsigKeyServices ?? []);
  return {
    dataDir: v.dataDir,
    store: v.ephemeral ? 'memory' : v.store,
    etcdEndpoints: v.etcdEndpoints ?? [],
    ...(v.storeWait === undefined ? {} : { storeWaitMs: v.storeWait }),
    domain: v.domain,
    dnsListen: v.dnsListen,
    ...(v.zones === undefined ? {} : { zonesDir: v.zones }),
    ...(v.answerTtl === undefined ? {} : { answerTtlSeconds: v.answerTtl }),
    maxAnswers: v.maxAnswers,
    ...(v.negativeTtl === undefined ? {} : { negativeTtlSeconds: v.negativeTtl }),
    socketPath: v.socket ?? defaultSocketPath(v.dataDir),
    ...(v.http === undefined ? {} : { httpListen: v.http }),
    ...(v.token === undefined ? {} : { token: v.token }),
    ...(v.readToken === undefined ? {} : { readToken: v.readToken }),
    defaultTtlMs: v.ttl,
    healthCheckIntervalMs: v.checkInterval,
    deregisterCriticalAfterMs: v.deregisterCriticalAfter,
    breakerFailureThreshold: v.breakerFailures,
    breakerSuccessThreshold: v.breakerSuccesses,
    breakerOpenTimeoutMs: v.breakerOpenTimeout,
    breakerHalfOpenMaxCalls: v.breakerHalfOpenCalls,
    logLevel: v.logLevel,
    pretty: v.pretty,
    dnsWorkers: v.workers,
    dnsThread: v.dnsThread,
    heapGrowthPercent: v.heapGrowth,
    udpTransport: v.udpTransport,
    dnsTcp: {
      maxConnections: v.dnsTcpMaxConnections,
      maxPerClient: v.dnsTcpMaxPerClient,
      messageDeadlineMs: v.dnsTcpMessageDeadline,
      idleTimeoutMs: v.dnsTcpIdleTimeout,
    },
    ...(v.mdns === undefined ? {} : { mdnsInterfaces: v.mdns.filter((name) => name !== 'all') }),
    tsigKeys,
    allowUpdateFrom: v.allowUpdateFrom ?? [],
    updateLeaseMs: v.updateLease,
    updateMaxRecordSets: v.updateMaxRecordSets,
    updateMaxRecords: v.updateMaxRecords,
  };
}

/** The keys with the services each is limited to (`tsigKeyServices`); a scope naming no configured key is refused. */
function scopedKeys(keys: readonly TsigKey[], entries: readonly KeyScopeEntry[]): TsigKey[] {
  const known = new Set(keys.map((k) => nameKey(k.name)));
  for (const entry of entries) {
    if (!known.has(nameKey(entry.keyName))) {
      throw new InvalidConfigurationError(`tsigKeyServices: no ${flagOf('tsigKey')} is named ${nameToPresentation(entry.keyName)}`, 'tsigKeyServices');
    }
  }
  return keys.map((k) => {
    const scope = entries.filter((e) => nameKey(e.keyName) === nameKey(k.name)).map((e) => e.scope);
    return scope.length > 0 ? { ...k, scope } : k;
  });
}
