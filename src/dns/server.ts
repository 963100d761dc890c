/**
 * The authoritative DNS-SD server: UDP and TCP transports (IPv4 and IPv6) around one request handler.
 *
 * UDP: one datagram in, at most one out; source port 0 and responses are dropped (docs/ARCHITECTURE.md,
 * "Protocol duties").
 * TCP (RFC 7766): tcp-transport.ts, with its per-client limit, message deadline, idle timeout and a global
 * cap that evicts the longest-waiting connection for a new one.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { type Logger, silentLogger, moduleLogger } from '../log.js';
import { InvalidConfigurationError } from '../errors.js';
import { type DnsView } from './view.js';
import { Authority, parseDomain } from './authority.js';
import { DnsRequestHandler } from './handler.js';
import { UpdateResponder, type UpdateResponderOptions } from './update/responder.js';
import { DnsCounters, type DnsStats } from './stats.js';
import { type ZoneData, loadZoneDirectory } from './zonefile.js';
import { ZoneSerial } from './zone-serial.js';
import type { DynamicZone } from './dynamic-zone.js';
import { namesEqual } from './name.js';
import { bindBatchedUdp, chooseUdpTransport, sumUdpBatchCounters, type BatchedUdpListener, type UdpBatchAddon, type UdpBatchCounters, type UdpTransport, type UdpTransportChoice } from './udp-batched.js';
import { TcpTransport, type TcpLimits, resolveTcpLimits, DEFAULT_TCP_LIMITS } from './tcp-transport.js';

export type { DnsStats } from './stats.js';
export type { ZoneData } from './zonefile.js';
export type { UdpBatchCounters, UdpTransport, UdpTransportChoice } from './udp-batched.js';
export type { TcpLimits } from './tcp-transport.js';

/**
 * Answer TTL default: 5 s. A client (or a caching resolver) may keep handing out an instance for up to one
 * TTL after it turns unhealthy; 5 s bounds that staleness while still absorbing bursts of lookups.
 */
export const DEFAULT_ANSWER_TTL = 5;
/**
 * Negative TTL default (SOA minimum, RFC 2308 §4): 5 s, so a service that registers just after a client
 * asked for it becomes visible as fast as a health change does.
 */
export const DEFAULT_NEGATIVE_TTL = 5;
/** TCP idle timeout default: 10 s (RFC 7766 §6.2.3 asks for seconds, not minutes, on a busy server). */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = DEFAULT_TCP_LIMITS.idleTimeoutMs;
/** Open TCP connections allowed at once; at the cap the longest-waiting one is closed for a new one. */
export const DEFAULT_MAX_TCP_CONNECTIONS = DEFAULT_TCP_LIMITS.maxConnections;
/** Default listener. */
export const DEFAULT_LISTEN = Object.freeze([{ host: '127.0.0.1', port: 8053 }]);
/** The shipped zones directory (`zones/` next to `src/` and `dist/`), loaded when no zones are given. */
export const DEFAULT_ZONES_DIR = fileURLToPath(new URL('../../zones/', import.meta.url));

/** How to start the server. */
export interface DnsServerOptions {
  /** The only thing the server reads the registry through. */
  view: DnsView;
  /** DNS-SD domain; default `local.`. */
  domain?: string;
  /** Addresses to listen on, UDP and TCP on the same port; port 0 picks one free for both. */
  listen?: { host: string; port: number }[];
  /** Static zones, or a directory of `*.zone` master files; default: the shipped `zones/` directory. */
  zones?: ZoneData | string;
  /** TTL of registry-derived records, seconds (default 5). */
  answerTtl?: number;
  /** Negative TTL = generated SOA minimum, seconds (default 5). */
  negativeTtl?: number;
  /** Close a TCP connection idle this long (default 10 s); `tcp.idleTimeoutMs` wins when both are given. */
  tcpIdleTimeoutMs?: number;
  /** Open TCP connections allowed (default 256); `tcp.maxConnections` wins when both are given. */
  maxTcpConnections?: number;
  /** TCP limits (RFC 7766 §6.2.3, §10): see tcp-transport.ts; every field has a default. */
  tcp?: Partial<TcpLimits>;
  /** Cached questions kept at most (default 100,000). */
  cacheEntries?: number;
  /** Encoded reply bytes the cache keeps at most (default 32 MiB). */
  cacheBytes?: number;
  /**
   * At most this many SRV/A/AAAA/PTR records per answer (like Consul's `a_record_limit`), successive answers
   * rotating through all of them; 0 or undefined = no limit (TCP still cuts an RRset to what fits in 64 KiB).
   */
  maxAnswers?: number;
  /**
   * Bind exclusively (default true). `false` lets node:cluster workers share the primary's UDP socket and TCP
   * listener (the kernel spreads packets over the workers); outside a cluster worker it changes nothing.
   */
  exclusive?: boolean;
  /**
   * UDP transport (default `auto`): `batched` reads and answers datagrams in batches through the native addon
   * (Linux; with `exclusive: false` each cluster worker opens its own SO_REUSEPORT socket); `dgram` uses
   * node:dgram; `auto` takes batched where the addon loads, else dgram. TCP is node:net either way.
   */
  udpTransport?: UdpTransportChoice;
  /**
   * Called before each batch of datagrams the batched transport answers, from its readable event or `serve`
   * (loop-turn.ts notes that the turn is busy). Not called on the dgram transport.
   */
  onUdpBatch?: () => void;
  /**
   * Accept DNS UPDATE (RFC 2136) for the domain, applied through `writer` (dns/update/responder.ts); absent:
   * UPDATE gets NOTIMP. UDP replies to an UPDATE are sent later, so updates use the dgram transport (`auto`
   * picks it; `batched` is refused).
   */
  update?: Omit<UpdateResponderOptions, 'domain' | 'view' | 'zoneData' | 'logger' | 'onOutcome'>;
  /**
   * Hand UPDATE messages to another process instead (a DNS worker forwards them to its daemon, which holds
   * the write path): resolves with the reply to send, or undefined for none. Like `update`, it needs dgram.
   */
  forwardUpdate?: (msg: Buffer, remote: string) => Promise<Buffer | undefined>;
  /**
   * The domain's SOA serial (zone-serial.ts); default: one starting at the current unix time. Unless
   * `serialFollowsView` is false (a DNS worker adopts the serials its daemon publishes), every change of the
   * view bumps it.
   */
  serial?: ZoneSerial;
  serialFollowsView?: boolean;
  /**
   * Dynamic zone data (dynamic-zone.ts), served at host names; with `update`, records of an UPDATE that
   * describe no instance are written through `update.zoneWriter` and land here.
   */
  zoneData?: DynamicZone;
  logger?: Logger;
}

/** A running server. */
export interface DnsServer {
  /** The bound addresses, in `listen` order. */
  readonly addresses: { udp: AddressInfo[]; tcp: AddressInfo[] };
  /** Counters: queries by qtype and rcode, cache hits/misses, dropped, truncated, TCP connections. */
  stats(): DnsStats;
  /** The request handler (for in-process use and fuzzing). */
  readonly handler: DnsRequestHandler;
  /** The domain's SOA serial. */
  readonly serial: ZoneSerial;
  /** The UDP transport running. */
  readonly udpTransport: UdpTransport;
  /** Why `auto` fell back to dgram (absent when it did not). */
  readonly udpTransportReason?: string;
  /** The batched transport's counters (received, sent, batches, sendErrors, drops); undefined on dgram. */
  udpCounters(): UdpBatchCounters | undefined;
  /**
   * Answer the UDP queries waiting now, within about `budgetUs` per socket, without waiting for the event
   * loop to poll for them (batched transport only; 0 on dgram). Returns the queries read.
   */
  serveWaiting(budgetUs: number): number;
  /** Stop listening, close every connection, stop following the view. */
  close(): Promise<void>;
}

function checkSeconds(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new InvalidConfigurationError(`${field} must be a whole number of seconds in 0..2147483647, got ${value}`, field);
  }
  return value;
}

function resolveZones(zones: ZoneData | string | undefined): ZoneData {
  if (typeof zones === 'string') return loadZoneDirectory(zones);
  if (zones) return zones;
  return existsSync(DEFAULT_ZONES_DIR) ? loadZoneDirectory(DEFAULT_ZONES_DIR) : [];
}

/** Start serving `view` as DNS. Resolves once every listener is bound. */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const log = moduleLogger(options.logger ?? silentLogger, 'dns-server');
  const domain = parseDomain(options.domain ?? 'local.');
  const answerTtl = checkSeconds(options.answerTtl ?? DEFAULT_ANSWER_TTL, 'answerTtl');
  const negativeTtl = checkSeconds(options.negativeTtl ?? DEFAULT_NEGATIVE_TTL, 'negativeTtl');
  const idleMs = options.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
  const maxTcp = options.maxTcpConnections ?? DEFAULT_MAX_TCP_CONNECTIONS;
  if (!(idleMs > 0)) throw new InvalidConfigurationError('tcpIdleTimeoutMs must be > 0', 'tcpIdleTimeoutMs');
  if (!(maxTcp >= 1)) throw new InvalidConfigurationError('maxTcpConnections must be >= 1', 'maxTcpConnections');
  const tcpLimits = resolveTcpLimits({ idleTimeoutMs: Math.ceil(idleMs), maxConnections: maxTcp, ...options.tcp });
  const listen = options.listen ?? DEFAULT_LISTEN.map((l) => ({ ...l }));
  const nameServerAddresses = listen.map((l) => l.host).filter((h) => net.isIP(h) !== 0 && h !== '0.0.0.0' && h !== '::');
  const zones = resolveZones(options.zones);
  const serial = options.serial ?? ZoneSerial.startAfter(undefined);
  // A zone file's own serial for the domain is a floor: the served serial never goes below what it said.
  const fileSoa = zones.find((z) => namesEqual(z.apex, domain))?.records.find((r) => r.data.kind === 'SOA' && namesEqual(r.name, domain));
  if (fileSoa?.data.kind === 'SOA') serial.adopt(fileSoa.data.serial);
  const { view, cacheEntries, cacheBytes, logger, zoneData } = options;
  const authority = new Authority({ domain, answerTtl, negativeTtl, zones, nameServerAddresses, serial, ...(zoneData ? { zoneData } : {}) });
  const counters = new DnsCounters();
  const maxAnswers = options.maxAnswers ?? 0;
  if (!Number.isInteger(maxAnswers) || maxAnswers < 0) {
    throw new InvalidConfigurationError(`maxAnswers must be a whole number >= 0, got ${maxAnswers}`, 'maxAnswers');
  }
  const handler = new DnsRequestHandler({ authority, view, domain, cacheEntries, cacheBytes, logger, counters, maxAnswers, serial, ...(zoneData ? { zoneData } : {}) });

  const updates = options.update !== undefined || options.forwardUpdate !== undefined;
  if (updates && options.udpTransport === 'batched') throw new InvalidConfigurationError('DNS UPDATE needs the dgram UDP transport, not batched', 'udpTransport');
  if (options.update) {
    const responder = new UpdateResponder(handler, { ...options.update, domain, view, ...(zoneData ? { zoneData } : {}), onOutcome: (outcome) => counters.update(outcome), ...(logger ? { logger } : {}) });
    handler.setUpdater((msg, remote) => responder.respond(msg, remote));
  } else if (options.forwardUpdate) {
    handler.setUpdater(options.forwardUpdate);
  }
  // Every change the zone sees moves the serial (docs/ARCHITECTURE.md, "SOA serial"): registrations,
  // deregistrations, health, circuit and TTL changes that alter answers all arrive as view changes, and
  // dynamic zone data changes from the zone data.
  const follow = options.serialFollowsView !== false;
  const stopView = follow ? view.onChange(() => serial.changed()) : () => undefined;
  const stopZone = follow && zoneData ? zoneData.onChange(() => serial.changed()) : () => undefined;
  const stopSerial = (): void => {
    stopView();
    stopZone();
  };
  const exclusive = options.exclusive ?? true;
  const udp = chooseUdpTransport(updates ? 'dgram' : (options.udpTransport ?? 'auto'), listen, !exclusive);
  const udpSockets: UdpListener[] = [];
  const tcpServers: net.Server[] = [];
  const tcp = new TcpTransport(handler, counters, tcpLimits, log);
  const addresses = { udp: [] as AddressInfo[], tcp: [] as AddressInfo[] };
  const onTcpConnection = (socket: net.Socket): void => tcp.accept(socket);

  try {
    for (const { host, port } of listen) {
      const bound = await bindPair(host, port, exclusive, udp.addon, handler, counters, onTcpConnection, log, options.onUdpBatch);
      udpSockets.push(bound.udp);
      tcpServers.push(bound.tcp);
      addresses.udp.push(bound.udp.address());
      addresses.tcp.push(bound.tcp.address() as AddressInfo);
    }
  } catch (err) {
    for (const s of udpSockets) void s.close();
    for (const s of tcpServers) s.close();
    stopSerial();
    handler.close();
    throw err;
  }
  log.info({ addresses, domain: options.domain ?? 'local.', udpTransport: udp.transport, udpTransportReason: udp.reason }, 'DNS server listening');

  let closed: Promise<void> | undefined;
  return {
    addresses,
    handler,
    serial,
    udpTransport: udp.transport,
    udpTransportReason: udp.reason,
    stats: () => handler.stats(),
    udpCounters: () => (udp.transport === 'batched' ? sumUdpBatchCounters(udpSockets.flatMap((s) => (s.counters ? [s.counters()] : []))) : undefined),
    serveWaiting(budgetUs) {
      let read = 0;
      for (const s of udpSockets) read += s.serveWaiting?.(budgetUs) ?? 0;
      return read;
    },
    close() {
      closed ??= (async () => {
        stopSerial();
        handler.close();
        tcp.closeAll();
        await Promise.all([
          ...udpSockets.map((s) => s.close()),
          ...tcpServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
        ]);
      })();
      return closed;
    },
  };
}

/** A bound UDP socket of either transport. */
interface UdpListener {
  address(): AddressInfo;
  close(): Promise<void>;
  counters?(): UdpBatchCounters;
  serveWaiting?(budgetUs: number): number;
}

/** Bind one UDP socket: batched through the addon when given, else node:dgram. */
async function bindUdpListener(
  host: string,
  port: number,
  exclusive: boolean,
  addon: UdpBatchAddon | undefined,
  handler: DnsRequestHandler,
  counters: DnsCounters,
  log: Logger,
  onBatch: (() => void) | undefined,
): Promise<UdpListener> {
  if (addon) {
    // Not exclusive = shared with sibling workers: each holds its own SO_REUSEPORT socket on the port.
    const batched: BatchedUdpListener = await bindBatchedUdp(addon, host, port, handler, counters, { reusePort: !exclusive, ...(onBatch === undefined ? {} : { onBatch }) });
    return { address: () => batched.address(), counters: () => batched.counters(), serveWaiting: (budgetUs) => batched.serveWaiting(budgetUs), close: async () => batched.close() };
  }
  const socket = await bindUdp(host, port, exclusive, handler, counters, log);
  return { address: () => socket.address(), close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

/** Bind UDP and TCP on the same port (clients retry a truncated UDP answer over TCP on the same port). */
async function bindPair(
  host: string,
  port: number,
  exclusive: boolean,
  addon: UdpBatchAddon | undefined,
  handler: DnsRequestHandler,
  counters: DnsCounters,
  onTcp: (s: net.Socket) => void,
  log: Logger,
  onUdpBatch: (() => void) | undefined,
): Promise<{ udp: UdpListener; tcp: net.Server }> {
  const attempts = port === 0 ? 20 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const udp = await bindUdpListener(host, port, exclusive, addon, handler, counters, log, onUdpBatch);
    const chosen = udp.address().port;
    try {
      const tcp = await bindTcp(host, chosen, exclusive, onTcp, log);
      return { udp, tcp };
    } catch (err) {
      lastError = err;
      await udp.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw lastError;
}

function bindUdp(host: string, port: number, exclusive: boolean, handler: DnsRequestHandler, counters: DnsCounters, log: Logger): Promise<dgram.Socket> {
  const type = net.isIPv6(host) ? 'udp6' : 'udp4';
  // Reply to IP literals without a resolver call and its extra tick per packet (measured: ~1.4x the
  // throughput of the default lookup); host names (only ever the bind address) still go through dns.lookup.
  const family = type === 'udp6' ? 6 : 4;
  const lookup = (address: string, _opts: dns.LookupOneOptions, cb: (err: Error | null, address: string, family: number) => void): void => {
    if (net.isIP(address) !== 0) cb(null, address, family);
    else dns.lookup(address, { family }, (err, resolved, fam) => cb(err, resolved, fam));
  };
  const socket = dgram.createSocket({ type, lookup } as dgram.SocketOptions);
  socket.on('message', (msg, rinfo) => {
    if (rinfo.port === 0) {
      counters.dropped(); // replying to port 0 throws in node and is never legitimate
      return;
    }
    const pending = handler.update(msg, rinfo.address);
    if (pending) {
      // UPDATE waits for the write path; its reply goes out when the write is acknowledged.
      void pending.then((reply) => {
        if (reply) socket.send(reply, rinfo.port, rinfo.address);
      });
      return;
    }
    const reply = handler.handle(msg, 'udp');
    // No callback: a send error surfaces as the socket's 'error' event (logged below), and the
    // callback-less path costs less per packet.
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive }, () => {
      socket.off('error', reject);
      socket.on('error', (err) => log.warn({ err }, 'UDP socket error'));
      resolve(socket);
    });
  });
}

function bindTcp(host: string, port: number, exclusive: boolean, onTcp: (s: net.Socket) => void, log: Logger): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, onTcp);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive, ipv6Only: net.isIPv6(host) }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.warn({ err }, 'TCP server error'));
      resolve(server);
    });
  });
}
