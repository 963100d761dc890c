/**
 * `beacon serve --workers N`: DNS answered by N worker processes that share the DNS sockets (node:cluster;
 * node 20 has no SO_REUSEPORT for dgram). The daemon keeps the one registry; every change is sent to every
 * worker in order, and an API write is acknowledged only once every worker has applied it, so the next DNS
 * answer reflects it whichever worker reads the query. A worker that dies is replaced (worker-supervisor.ts)
 * and brought up to date by the same snapshot a first worker gets, before it answers.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { silentLogger, type Logger } from '../log.js';
import type { SmartLoadBalancer } from '../balancer/smart-load-balancer.js';
import type { DnsStats } from '../dns/server.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { CircuitMessage, FromWorker, PutMessage, ToWorker, WorkerDnsOptions } from './dns-protocol.js';
import { WorkerSupervisor, type LaunchedWorker, type WorkerPoolStatus } from './worker-supervisor.js';

/** How long a worker may take to start serving. */
const START_TIMEOUT_MS = 20_000;
/** How long a write waits for the workers to apply it before it is acknowledged anyway (and logged). */
const SYNC_TIMEOUT_MS = 2_000;

/** The running workers, shaped like a DnsServer for the rest of the daemon. */
export interface DnsWorkerPool {
  readonly addresses: { udp: AddressInfo[]; tcp: AddressInfo[] };
  /** The workers' counters, summed (each worker reports every second). */
  stats(): DnsStats;
  /** How many workers serve of how many, how many were replaced (worker-supervisor.ts), and the serving ones' pids. */
  workers(): WorkerPoolStatus & { readonly pids: readonly number[] };
  /** Resolves once every worker has applied change `index` (or after a bounded wait). */
  synced(index: number): Promise<void>;
  close(): Promise<void>;
}

/** Options of the worker pool. */
export interface DnsWorkerOptions {
  readonly count: number;
  readonly registry: ServiceRegistry;
  readonly balancer: SmartLoadBalancer;
  readonly dns: WorkerDnsOptions;
  readonly logger?: Logger;
}

interface WorkerState {
  readonly worker: Worker;
  /** The DNS options it serves with (its listen addresses name the sockets it shares); none for a spare. */
  dns: WorkerDnsOptions | undefined;
  applied: number;
  stats: DnsStats | undefined;
  /** Holds a replica (it applied the snapshot). */
  replica: boolean;
  /** Its DNS server listens. */
  bound: boolean;
  /** Bound and up to date: counted by `synced` and reported as serving. */
  serving: boolean;
}

/** Fork `count` DNS workers and wait until each serves. */
export async function startDnsWorkers(options: DnsWorkerOptions): Promise<DnsWorkerPool> {
  const { registry, balancer } = options;
  const log = options.logger ?? silentLogger;
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./dns-worker.js', import.meta.url)), args: [] });
  const states: WorkerState[] = [];
  let closing = false;
  const waiters = new Set<{ index: number; resolve: () => void }>();
  // Only serving workers count: one being replaced gets everything in its snapshot when it comes up.
  const minApplied = (): number => Math.min(...states.filter((s) => s.serving).map((s) => s.applied));
  const wake = (): void => {
    const floor = minApplied();
    for (const waiter of waiters) if (waiter.index <= floor) {
      waiters.delete(waiter);
      waiter.resolve();
    }
  };
  const broadcast = (message: ToWorker): void => {
    for (const state of states) if (state.worker.isConnected()) state.worker.send(message);
  };

  // A worker gets the registry as it is when it says hello; changes broadcast before that reach it too but are
  // ignored there (it has no replica yet, or they are not newer than its snapshot); later ones follow in order.
  const snapshot = (dns: WorkerDnsOptions | undefined): ToWorker => ({
    t: 'init',
    config: registry.config,
    ...(dns ? { dns } : {}),
    index: registry.index,
    records: registry.records(),
    refused: registry.records().filter((r) => !balancer.admits(r)).map((r) => [r.service, r.spec.id] as const),
  });
  // Changes are streamed in batches, one per turn of the event loop: a group commit of 200 registrations is
  // one IPC message per worker and one acknowledgement back (the highest index applied), not 200 of each.
  let outbox: (PutMessage | CircuitMessage)[] = [];
  const flush = (): void => {
    const messages = outbox;
    outbox = [];
    if (messages.length > 0) broadcast({ t: 'batch', messages });
  };
  const post = (message: PutMessage | CircuitMessage): void => {
    if (outbox.length === 0) setImmediate(flush);
    outbox.push(message);
  };
  const stopChanges = registry.onChange((event) => post({ t: 'put', index: event.index, service: event.service, id: event.id, record: event.after ?? null }));
  const stopCircuits = balancer.onCircuitChange((change) => {
    const record = registry.get(change.service, change.id);
    post({ t: 'circuit', service: change.service, id: change.id, admits: record === undefined || balancer.admits(record) });
  });

  // node:cluster shares a socket among the workers that ask for the same address and port, and closes it
  // when the last of them exits. A replacement asks for what the living workers asked for (so it joins
  // their sockets); when none lives, for the ports the first workers got (port 0 would pick new ones).
  let boundPorts: WorkerDnsOptions | undefined;
  const listenFor = (): WorkerDnsOptions => states.find((s) => s.dns !== undefined)?.dns ?? boundPorts ?? options.dns;
  let first: (FromWorker & { t: 'ready' }) | undefined;
  // Counters of dead workers, so that the sums never go backwards when a worker is replaced.
  let retired: DnsStats[] = [];

  /** A forked worker: `ready` once it answers DNS, `exited` when it is gone. */
  interface Forked {
    readonly state: WorkerState;
    readonly ready: Promise<void>;
    readonly exited: Promise<{ code: number | null; signal: string | null }>;
  }

  /**
   * Fork one worker and bring it up to date (the snapshot on hello, then every change in order). With
   * `dns` it answers at once; without, it stands by as a spare until told to `serve`.
   */
  const fork = (dns: WorkerDnsOptions | undefined): Forked => {
    const worker = cluster.fork();
    const state: WorkerState = { worker, dns, applied: 0, stats: undefined, replica: false, bound: false, serving: false };
    states.push(state);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      worker.once('exit', (code: number | null, signal: string | null) => {
        states.splice(states.indexOf(state), 1);
        if (state.stats) retired = [sumStats([...retired, state.stats])];
        wake(); // a dead worker answers nothing: never wait for it
        resolve({ code, signal });
      }),
    );
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if (message.t === 'hello') {
          worker.send(snapshot(dns));
        } else if (message.t === 'ready') {
          state.bound = true;
          first ??= message;
          boundPorts ??= { ...options.dns, listen: message.udp.map((a) => ({ host: a.address, port: a.port })) };
          resolve();
        } else if (message.t === 'applied') {
          state.applied = Math.max(state.applied, message.index);
          state.replica = true;
          // Serving once bound: it answers from the snapshot plus every change since.
          if (state.bound) state.serving = true;
          wake();
        } else if (message.t === 'stats') {
          state.stats = message.stats;
        } else {
          log.error({ worker: worker.id, message: message.message }, 'DNS worker failed');
          reject(new Error(`DNS worker ${worker.id}: ${message.message}`));
        }
      });
      void exited.then(({ code, signal }) => reject(new Error(`DNS worker ${worker.id} exited (${signal ?? code})`)));
    });
    ready.catch(() => undefined); // a spare that dies unused is only replaced
    return { state, ready, exited };
  };

  // A standby worker, forked once the pool serves: replacing a dead worker is then a message to a process
  // that is up and up to date, not a process start (which on a loaded machine can take seconds).
  let spare: Forked | undefined;
  let started = false;
  const refillSpare = (): void => {
    if (spare !== undefined || closing || !started) return;
    const forked = fork(undefined);
    spare = forked;
    void forked.exited.then(() => {
      if (spare === forked) spare = undefined;
    });
  };

  /** Fill a slot: promote the spare when it is up to date, else fork a worker; then make a new spare. */
  const launch = (): LaunchedWorker => {
    const dns = listenFor();
    let forked: Forked;
    if (spare !== undefined && spare.state.replica && spare.state.worker.isConnected()) {
      forked = spare;
      spare = undefined;
      forked.state.dns = dns;
      forked.state.worker.send({ t: 'serve', dns } satisfies ToWorker);
    } else {
      forked = fork(dns);
    }
    refillSpare();
    const { worker } = forked.state;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`DNS worker ${worker.id} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      forked.ready.then(resolve, reject).finally(() => clearTimeout(timer));
    });
    return { id: worker.id, ready, exited: forked.exited, kill: () => worker.kill('SIGKILL') };
  };
  const supervisor = new WorkerSupervisor({ count: options.count, launch, logger: log });

  const close = async (): Promise<void> => {
    closing = true;
    supervisor.close();
    stopChanges();
    stopCircuits();
    for (const waiter of waiters) waiter.resolve();
    waiters.clear();
    await Promise.all(states.map(({ worker }) => new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      const timer = setTimeout(() => worker.kill('SIGKILL'), 5_000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (worker.isConnected()) worker.send({ t: 'stop' } satisfies ToWorker);
      else worker.kill();
    })));
  };

  try {
    await supervisor.start();
  } catch (error) {
    await close();
    throw error;
  }
  started = true;
  refillSpare();
  if (!first) throw new Error('internal: DNS workers started without reporting their addresses');
  log.info({ workers: options.count, udp: first.udp.map((a) => `${a.address}:${a.port}`) }, 'DNS workers serving');

  return {
    addresses: { udp: first.udp, tcp: first.tcp },
    stats: () => sumStats([...retired, ...states.map((s) => s.stats).filter((s): s is DnsStats => s !== undefined)]),
    workers: () => ({ ...supervisor.status(), pids: states.filter((s) => s.serving).flatMap((s) => (s.worker.process.pid === undefined ? [] : [s.worker.process.pid])) }),
    synced(index) {
      if (minApplied() >= index || closing) return Promise.resolve();
      return new Promise((resolve) => {
        const waiter = { index, resolve: () => { clearTimeout(timer); resolve(); } };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          log.warn({ index, applied: states.map((s) => s.applied) }, 'DNS workers slow to apply a change; acknowledging anyway');
          resolve();
        }, SYNC_TIMEOUT_MS);
        waiters.add(waiter);
      });
    },
    close,
  };
}

/** Add up counters: numbers are summed, and so are the numbers inside nested records (by type, by rcode). */
function sumStats(all: readonly DnsStats[]): DnsStats {
  const total: Record<string, unknown> = {};
  for (const stats of all) {
    for (const [name, value] of Object.entries(stats)) {
      if (typeof value === 'number') total[name] = ((total[name] as number | undefined) ?? 0) + value;
      else if (value !== null && typeof value === 'object') {
        const into = (total[name] ??= {}) as Record<string, number>;
        for (const [k, v] of Object.entries(value as Record<string, number>)) into[k] = (into[k] ?? 0) + v;
      }
    }
  }
  return { queries: 0, queriesByType: {}, responsesByRcode: {}, cacheHits: 0, cacheMisses: 0, cacheEntries: 0, cacheBytes: 0, cacheInvalidations: 0, dropped: 0, truncated: 0, internalErrors: 0, tcpConnections: 0, tcpOpen: 0, tcpRejected: 0, tcpEvictedIdle: 0, tcpEvictedStalled: 0, tcpDeadlineClosed: 0, tcpIdleClosed: 0, tcpDropClosed: 0, ...total } as DnsStats;
}
