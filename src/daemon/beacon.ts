/**
 * The composition root: `startBeacon(config)` wires store -> durable registry -> balancer -> DNS view ->
 * DNS server, the health checker and TTL reaper (writing through the durable registry), and the control
 * API. `close()` shuts down in the reverse order: stop accepting control requests and finish those in
 * flight, stop checks and the reaper, close DNS, then flush and close the store.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SmartLoadBalancer } from '../balancer/smart-load-balancer.js';
import type { BeaconConfig } from '../config.js';
import { ChangeFeed } from '../control/watch.js';
import { Metrics, type DnsMetrics } from '../control/metrics.js';
import { consulRoutes } from '../control/consul/index.js';
import { dashboardRoutes } from '../control/routes/dashboard.js';
import { startControlServer, type ControlServer } from '../control/server.js';
import type { WritePort } from '../control/ports.js';
import type { ChangeEvent } from '../registry/mutations.js';
import { createRegistryView } from '../dns/registry-view.js';
import { startDnsServer, type DnsServer, type DnsServerOptions, type DnsStats } from '../dns/server.js';
import { startDnsWorkers, type DnsWorkerPool } from './dns-workers.js';
import { startMdnsResponder } from '../mdns/index.js';
import { DnsFirst } from './dns-first.js';
import { TurnPacer } from '../control/turn-pacer.js';
import { LoopStallMonitor } from './loop-stall.js';
import { heapGrowthNodeFlags } from './heap-growth.js';
import { DEFAULT_LOOP_TURN_BUDGET_MS, LoopTurn } from '../loop-turn.js';
import { loadUdpBatchAddon } from '../dns/udp-batched.js';
import { HealthChecker } from '../health/checker.js';
import { Reaper } from '../health/reaper.js';
import { moduleLogger, silentLogger, type Logger } from '../log.js';
import { ServiceRegistry } from '../registry/registry.js';
import { DurableRegistry } from '../registry/write-path.js';
import { observeWrites } from '../store/observed.js';
import { makePrivateDirectory } from '../store/sqlite.js';
import { StoreFailureEpisodes } from '../store/store-episodes.js';
import { changeLogger, circuitLogger } from './change-log.js';
import { healthProblems } from './health.js';
import { openWhenReachable } from './store-wait.js';
import { openStore, type DaemonStore } from './store.js';
import { openZoneData } from './zone-data.js';
import { zonePort } from './zone-port.js';
import { snapshotPort } from './snapshot-port.js';
import type { DynamicRRset } from '../dns/dynamic-zone.js';
import { parseDomain } from '../dns/authority.js';
import { persistSerial, readSerial } from './serial-file.js';
import { ZoneSerial } from '../dns/zone-serial.js';

import { BEACON_VERSION } from './version.js';

export { BEACON_VERSION };

/** A running Beacon. */
export interface Beacon {
  readonly config: BeaconConfig;
  readonly registry: ServiceRegistry;
  readonly durable: DurableRegistry;
  readonly balancer: SmartLoadBalancer;
  /** The DNS server, or the pool of DNS worker processes with `--workers N`. */
  readonly dns: Pick<DnsServer, 'addresses' | 'stats' | 'close'>;
  readonly control: ControlServer;
  readonly checker: HealthChecker;
  readonly reaper: Reaper;
  /** Facts for `/v1/info` and the startup log line. */
  info(): BeaconInfo;
  /** Clean shutdown; idempotent. */
  close(): Promise<void>;
}

/** What a running Beacon tells about itself. */
export interface BeaconInfo {
  readonly version: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly store: string;
  readonly domain: string;
  readonly dns: { readonly udp: string[]; readonly tcp: string[]; readonly udpTransport?: string; readonly udpTransportReason?: string };
  /** Multicast DNS, when published (`--mdns`): the interface addresses joined. */
  readonly mdns?: { readonly interfaces: readonly string[] };
  readonly control: { readonly socket: string; readonly tcp?: string };
}

const hostPort = (a: AddressInfo): string => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);

/** Adapt the DNS server's counters to what `/metrics` renders. */
export function dnsMetricsFrom(stats: DnsStats): DnsMetrics {
  return {
    queriesByType: stats.queriesByType,
    responsesByRcode: stats.responsesByRcode,
    cacheHits: stats.cacheHits,
    cacheMisses: stats.cacheMisses,
    cacheEntries: stats.cacheEntries,
    cacheBytes: stats.cacheBytes,
    cacheInvalidations: stats.cacheInvalidations,
    dropped: stats.dropped,
    truncated: stats.truncated,
    internalErrors: stats.internalErrors,
    tcpConnections: stats.tcpConnections,
    tcpOpen: stats.tcpOpen,
    tcpRejected: stats.tcpRejected,
    ...(stats.answerLatency ? { answerLatency: stats.answerLatency } : {}),
    ...(stats.updatesByOutcome ? { updates: stats.updatesByOutcome } : {}),
    tcpClosed: {
      'evicted-idle': stats.tcpEvictedIdle,
      'evicted-stalled': stats.tcpEvictedStalled,
      deadline: stats.tcpDeadlineClosed,
      idle: stats.tcpIdleClosed,
      dropped: stats.tcpDropClosed,
    },
  };
}

/**
 * A writer whose calls resolve only once every DNS worker has applied the change they made (`synced(index)`
 * of the call's own event); calls that changed nothing visible (a TTL renewal) do not wait.
 */
function writerSyncedWith(writer: WritePort, synced: (index: number) => Promise<void>): WritePort {
  const after = async (result: Promise<ChangeEvent | undefined>): Promise<ChangeEvent | undefined> => {
    const event = await result;
    if (event) await synced(event.index);
    return event;
  };
  return {
    register: (service, instance) => after(writer.register(service, instance)),
    deregister: (service, id) => after(writer.deregister(service, id)),
    heartbeat: (service, id, status, note) => after(writer.heartbeat(service, id, status, note)),
    updateHealth: (service, id, health, note) => after(writer.updateHealth(service, id, health, note)),
    setMaintenance: (service, id, enabled, reason) => after(writer.setMaintenance(service, id, enabled, reason)),
  };
}

/** Undo steps of a start, run in reverse order on shutdown or when a later step fails. */
class Teardown {
  private readonly steps: (() => Promise<void> | void)[] = [];

  constructor(private readonly log: Logger) {}

  /** Run `step` on teardown, after every step pushed later. */
  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  /** Replace the newest step (a part handed over to one that closes it). */
  replaceLast(step: () => Promise<void> | void): void {
    this.steps.pop();
    this.steps.push(step);
  }

  /** Run every step, newest first; a failing step is logged and the others still run. */
  async run(): Promise<void> {
    while (this.steps.length) {
      try {
        await this.steps.pop()!();
      } catch (error) {
        this.log.warn({ err: error }, 'cleanup after failed start');
      }
    }
  }
}

/** The registry loaded from its store, behind the one write path. */
async function openRegistry(config: BeaconConfig, logger: Logger, teardown: Teardown, dnsFirst: DnsFirst, turn: LoopTurn) {
  if (config.store === 'sqlite') makePrivateDirectory(config.dataDir);
  const registry = new ServiceRegistry(
    { defaultTtlMs: config.defaultTtlMs, healthCheckIntervalMs: config.healthCheckIntervalMs, deregisterCriticalAfterMs: config.deregisterCriticalAfterMs },
    // On etcd, leases enforce heartbeat TTLs: a node never sees the heartbeats other nodes receive.
    { logger: moduleLogger(logger, 'registry'), externalTtl: config.store === 'etcd' },
  );
  const storeEpisodes = new StoreFailureEpisodes(moduleLogger(logger, 'store'));
  const store = observeWrites(await openStore(config, moduleLogger(logger, 'store')), storeEpisodes);
  teardown.push(() => store.close());
  const durable = await openWhenReachable(() => DurableRegistry.open(registry, store, { logger: moduleLogger(logger, 'durable'), beforeApply: () => dnsFirst.step(), turnSpent: () => turn.remainingMs() <= 0 }), {
    log: moduleLogger(logger, 'store'),
    ...(config.storeWaitMs === undefined ? {} : { waitMs: config.storeWaitMs }),
  });
  teardown.replaceLast(() => durable.close()); // closing the write path closes its store
  return { registry, store, storeEpisodes, durable };
}

/** What the DNS server (or each worker's) starts with. */
function dnsOptionsOf(config: BeaconConfig) {
  return {
    domain: config.domain,
    listen: config.dnsListen.map((l) => ({ host: l.host, port: l.port })),
    ...(config.zonesDir === undefined ? {} : { zones: config.zonesDir }),
    ...(config.answerTtlSeconds === undefined ? {} : { answerTtl: config.answerTtlSeconds }),
    ...(config.negativeTtlSeconds === undefined ? {} : { negativeTtl: config.negativeTtlSeconds }),
    udpTransport: config.udpTransport,
    tcp: { ...config.dnsTcp },
    ...(config.maxAnswers > 0 ? { maxAnswers: config.maxAnswers } : {}),
  };
}

/**
 * With workers, DNS UPDATE is applied here: a server with no listeners answers what the workers forward (its
 * writes acknowledged once every worker applied them, like the control API's), and its update counters join
 * the workers' in the pool's stats.
 */
async function answerForwardedUpdates(
  workers: DnsWorkerPool,
  options: DnsServerOptions,
  update: NonNullable<DnsServerOptions['update']>,
  durable: DurableRegistry,
): Promise<DnsWorkerPool> {
  const writer = writerSyncedWith(durable, (index) => workers.synced(index));
  // The serial is the workers' pool's to move (once per batch it streams), not this server's.
  const updates = await startDnsServer({ ...options, listen: [], update: { ...update, writer }, serialFollowsView: false });
  workers.answerUpdates((msg, remote) => updates.handler.update(msg, remote) ?? Promise.resolve(undefined));
  return {
    ...workers,
    stats: () => {
      const outcomes = updates.stats().updatesByOutcome;
      return { ...workers.stats(), ...(outcomes ? { updatesByOutcome: outcomes } : {}) };
    },
    close: async () => {
      await workers.close();
      await updates.close();
    },
  };
}

/** DNS in this process, in a thread of it (`--dns-thread`) or in `--workers N` processes, and the mDNS responder when asked for. */
async function startDns(config: BeaconConfig, registry: ServiceRegistry, balancer: SmartLoadBalancer, durable: DurableRegistry, store: DaemonStore, logger: Logger, teardown: Teardown, turn: LoopTurn) {
  const dnsOptions = dnsOptionsOf(config);
  // DNS UPDATE is on when a key or an unsigned source is configured; it writes through the one write path,
  // from the process that holds it: workers hold read-only replicas and forward UPDATE messages here.
  const updatesOn = config.tsigKeys.length > 0 || config.allowUpdateFrom.length > 0;
  // The SOA serial, published from this process (docs/ARCHITECTURE.md, "SOA serial"): it starts above the
  // last one stored, and the workers adopt what it publishes. A memory store (--ephemeral) writes no file:
  // the registry it serves starts empty anyway, and unix time keeps the serial ahead across restarts.
  const durableSerial = config.store !== 'memory';
  const serial = ZoneSerial.startAfter(durableSerial ? readSerial(config.dataDir, moduleLogger(logger, 'dns')) : undefined);
  if (durableSerial) {
    const stored = persistSerial(serial, config.dataDir, moduleLogger(logger, 'dns'));
    teardown.push(() => stored.close());
  }
  // Dynamic zone data (records UPDATE keeps that describe no instance), loaded from the store and following it.
  const zoneData = await openZoneData(store, parseDomain(config.domain));
  teardown.push(() => zoneData.close());
  // With --workers N, N processes answer DNS from replicas of the registry; with --dns-thread, one thread of
  // this process does. Writes wait until they applied.
  const workerKind = config.dnsWorkers > 1 ? 'process' : config.dnsThread ? 'thread' : undefined;
  const workers = workerKind
    ? await startDnsWorkers({ count: config.dnsWorkers, kind: workerKind, registry, balancer, serial, zone: zoneData.zone, dns: { ...dnsOptions, ...(updatesOn ? { forwardUpdates: true } : {}) }, nodeFlags: heapGrowthNodeFlags(config.heapGrowthPercent), logger: moduleLogger(logger, 'dns-workers') })
    : undefined;
  // The in-process view exists only when this process answers DNS itself (workers build their own), answers
  // the UPDATEs workers forward (prerequisites read the authoritative registry), or publishes over multicast
  // DNS (one responder per host, so never in the workers).
  const needsView = workers === undefined || updatesOn || config.mdnsInterfaces !== undefined;
  const view = needsView ? createRegistryView(registry, balancer) : undefined;
  if (view) teardown.push(() => view.dispose());
  const update = updatesOn
    ? {
        writer: durable as WritePort,
        keys: config.tsigKeys,
        allowFrom: config.allowUpdateFrom,
        defaultLeaseSeconds: Math.max(1, Math.round(config.updateLeaseMs / 1000)),
        zoneWriter: (sets: readonly DynamicRRset[]) => zoneData.write(sets),
        zoneExclusive: <T>(task: () => Promise<T>) => zoneData.exclusive(task),
        zoneDataLimits: { maxRRsets: config.updateMaxRecordSets, maxRecordsPerRRset: config.updateMaxRecords },
      }
    : undefined;
  // Each batch of queries opens the loop's turn if none is open: the poll phase's first work under DNS load.
  const local = workers === undefined && view ? await startDnsServer({ view, ...dnsOptions, ...(update ? { update } : {}), serial, zoneData: zoneData.zone, logger, onUdpBatch: () => turn.touch() }) : undefined;
  const dns = workers && update && view ? await answerForwardedUpdates(workers, { view, ...dnsOptions, serial, zoneData: zoneData.zone, logger }, update, durable) : (workers ?? local!);
  teardown.push(() => dns.close());
  const mdns = config.mdnsInterfaces !== undefined && view ? await startMdnsResponder({ view, interfaces: config.mdnsInterfaces, logger }) : undefined;
  if (mdns) teardown.push(() => mdns.close());
  return { workers, local, dns, mdns, zoneData };
}

/** Metrics and the info-level change log, following the registry and the circuits. */
function observe(registry: ServiceRegistry, balancer: SmartLoadBalancer, metrics: Metrics, logger: Logger, teardown: Teardown): void {
  teardown.push(registry.onChange((event) => metrics.onChange(event)));
  // The one place instance changes are logged at info (see change-log.ts).
  teardown.push(registry.onChange(changeLogger(moduleLogger(logger, 'registry'))));
  teardown.push(balancer.onCircuitChange(circuitLogger(moduleLogger(logger, 'balancer'))));
  teardown.push(balancer.onCircuitChange((change) => metrics.onCircuitChange(change.from, change.to)));
}

/** Active checks and the TTL reaper, writing through the write path. */
function startHealth(registry: ServiceRegistry, durable: DurableRegistry, metrics: Metrics, logger: Logger, teardown: Teardown) {
  const checker = new HealthChecker({
    registry,
    writer: durable,
    owns: (service, id) => durable.owns(service, id),
    logger: moduleLogger(logger, 'health'),
    onResult: (result) => metrics.onCheckResult(result.type, result.healthy),
  });
  checker.start();
  teardown.push(() => checker.stop());
  const reaper = new Reaper({ registry, writer: durable, logger: moduleLogger(logger, 'reaper'), onRun: () => metrics.onReaperRun() });
  reaper.start();
  teardown.push(() => reaper.stop());
  return { checker, reaper };
}

/** The control API's listeners: the socket always; TCP with its tokens and browser sessions when configured. */
function controlListeners(config: BeaconConfig) {
  return {
    socketPath: config.socketPath,
    plugins: [consulRoutes, dashboardRoutes],
    ...(config.httpListen
      ? {
          tcp: config.httpListen,
          token: config.token,
          ...(config.readToken === undefined ? {} : { readToken: config.readToken }),
          sessionFile: path.join(config.dataDir, 'sessions.json'),
        }
      : {}),
  };
}

/** Start every part of Beacon. On a failure, whatever was started is stopped again before rejecting. */
export async function startBeacon(config: BeaconConfig, options: { logger?: Logger } = {}): Promise<Beacon> {
  const logger = options.logger ?? silentLogger;
  const log = moduleLogger(logger, 'daemon');
  const teardown = new Teardown(log);
  try {
    // The loop that answers the control API, and DNS without workers: its longest stall is in /v1/stats.
    const loopStall = new LoopStallMonitor();
    teardown.push(() => loopStall.stop());
    // One budget per turn of this loop for the work that can wait for the next (loop-turn.ts); the addon,
    // where it loads, tells the turns apart.
    const addon = loadUdpBatchAddon();
    const turn = new LoopTurn(DEFAULT_LOOP_TURN_BUDGET_MS, undefined, addon.ok ? addon.addon.loopTurns : undefined);
    // DNS before control work on this loop (dns-first.ts): attached once the DNS server listens here.
    const dnsFirst = new DnsFirst(undefined, turn);
    // Control requests in bounded slices of each turn of this loop (turn-pacer.ts).
    const pacer = new TurnPacer(undefined, undefined, turn);
    const { registry, store, storeEpisodes, durable } = await openRegistry(config, logger, teardown, dnsFirst, turn);
    log.info({ store: store.kind, instances: registry.records().length, index: registry.index }, 'registry loaded');

    const balancer = new SmartLoadBalancer(
      registry,
      {
        failureThreshold: config.breakerFailureThreshold,
        successThreshold: config.breakerSuccessThreshold,
        openTimeoutMs: config.breakerOpenTimeoutMs,
        halfOpenMaxCalls: config.breakerHalfOpenMaxCalls,
      },
      { logger: moduleLogger(logger, 'balancer') },
    );
    teardown.push(() => balancer.dispose());
    const { workers, local, dns, mdns, zoneData } = await startDns(config, registry, balancer, durable, store, logger, teardown, turn);
    if (local) {
      dnsFirst.attach((budgetUs) => local.serveWaiting(budgetUs));
      teardown.push(() => dnsFirst.attach(undefined)); // before the server closes
    }

    const metrics = new Metrics({
      runtime: true,
      build: { version: BEACON_VERSION },
      daemon: {
        workersDesired: () => (workers ? config.dnsWorkers : 0),
        // Serving workers: the standby kept beside them is alive but answers nothing until it takes over.
        workersAlive: () => (workers ? workers.workers().serving : 0),
        storeStale: () => isStaleAware(store) && store.stale,
      },
    });
    observe(registry, balancer, metrics, logger, teardown);
    const feed = new ChangeFeed(registry);
    teardown.push(() => feed.close());
    const { checker, reaper } = startHealth(registry, durable, metrics, logger, teardown);

    // Filled once the control API listens; `info()` is called before that by nobody but the startup log.
    const bound: { control?: ControlServer } = {};
    const info = (): BeaconInfo => ({
      version: BEACON_VERSION,
      pid: process.pid,
      dataDir: config.dataDir,
      store: store.kind,
      domain: config.domain,
      dns: {
        udp: dns.addresses.udp.map(hostPort),
        tcp: dns.addresses.tcp.map(hostPort),
        ...(local ? { udpTransport: local.udpTransport } : {}),
        ...(local?.udpTransportReason ? { udpTransportReason: local.udpTransportReason } : {}),
      },
      ...(mdns ? { mdns: { interfaces: mdns.interfaceAddresses } } : {}),
      control: { socket: config.socketPath, ...(bound.control?.tcpAddress ? { tcp: hostPort(bound.control.tcpAddress) } : {}) },
    });
    const controlServer = await startControlServer(
      {
        registry,
        writer: workers ? writerSyncedWith(durable, (index) => workers.synced(index)) : durable,
        balancer,
        feed,
        metrics,
        logger: moduleLogger(logger, 'control'),
        snapshot: snapshotPort(durable, { source: zoneData, domain: parseDomain(config.domain) }),
        zone: zonePort(zoneData, parseDomain(config.domain)),
        dnsMetrics: () => dnsMetricsFrom(dns.stats()),
        // `eventLoop` covers the time since the previous /v1/stats read (each read starts a new window).
        extraStats: () => ({
          dns: dns.stats(),
          ...(workers ? { workers: workers.workers() } : {}),
          store: { kind: store.kind, stale: isStaleAware(store) ? store.stale : false, failingWrites: storeEpisodes.count },
          checks: { scheduled: checker.size, inFlight: checker.inFlight },
          eventLoop: loopStall.take(),
          ...(local ? { dnsFirst: dnsFirst.stats() } : {}),
          // The batched UDP transport's own counters (datagrams, recvmmsg batches, send errors, drops).
          ...(local?.udpCounters() ? { udpBatched: local.udpCounters() } : {}),
          controlPacing: { deferred: pacer.deferred, queued: pacer.queued },
          // With DNS workers (processes or the thread), the longest stall of the loops that answer DNS.
          ...(workers ? { dnsEventLoop: { maxStallMs: workers.takeMaxStallMs() } } : {}),
        }),
        info: () => ({ ...info() }),
        checksScheduled: () => checker.size,
        beforeWork: () => dnsFirst.step(),
        pace: (proceed) => pacer.admit(proceed),
        healthProblems: () =>
          healthProblems({
            ...(workers ? { workers: () => workers.workers() } : {}),
            ...(isStaleAware(store) ? { storeStale: () => store.stale } : {}),
            storeFailures: () => storeEpisodes.count,
          }),
      },
      controlListeners(config),
    );
    bound.control = controlServer;
    teardown.push(() => controlServer.close());

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        log.info('shutting down');
        await teardown.run();
        log.info('stopped');
      })();
      return closing;
    };
    log.info(info(), 'beacon started');
    return { config, registry, durable, balancer, dns, control: controlServer, checker, reaper, info, close };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}

/** Stores that can lose their cluster say so (etcd: see src/store/etcd.ts, "Unavailability"). */
function isStaleAware(store: object): store is { readonly stale: boolean } {
  return typeof (store as { stale?: unknown }).stale === 'boolean';
}
