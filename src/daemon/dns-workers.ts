/**
 * `beacon serve --workers N`: DNS answered by N worker processes that share the DNS sockets (node:cluster;
 * node 20 has no SO_REUSEPORT for dgram). The daemon keeps the one registry; every change is sent to every
 * worker in order, and an API write is acknowledged only once every worker has applied it, so the next DNS
 * answer reflects it whichever worker reads the query.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { silentLogger, type Logger } from '../log.js';
import type { SmartLoadBalancer } from '../balancer/smart-load-balancer.js';
import type { DnsStats } from '../dns/server.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { CircuitMessage, FromWorker, PutMessage, ToWorker, WorkerDnsOptions } from './dns-protocol.js';

/** How long a worker may take to start serving. */
const START_TIMEOUT_MS = 20_000;
/** How long a write waits for the workers to apply it before it is acknowledged anyway (and logged). */
const SYNC_TIMEOUT_MS = 2_000;

/** The running workers, shaped like a DnsServer for the rest of the daemon. */
export interface DnsWorkerPool {
  readonly addresses: { udp: AddressInfo[]; tcp: AddressInfo[] };
  /** The workers' counters, summed (each worker reports every second). */
  stats(): DnsStats;
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
  applied: number;
  stats: DnsStats | undefined;
}

/** Fork `count` DNS workers and wait until each serves. */
export async function startDnsWorkers(options: DnsWorkerOptions): Promise<DnsWorkerPool> {
  const { registry, balancer } = options;
  const log = options.logger ?? silentLogger;
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./dns-worker.js', import.meta.url)), args: [] });
  const states: WorkerState[] = [];
  let closing = false;
  const waiters = new Set<{ index: number; resolve: () => void }>();
  const minApplied = (): number => Math.min(...states.map((s) => s.applied));
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
  const snapshot = (): ToWorker => ({
    t: 'init',
    config: registry.config,
    dns: options.dns,
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

  const ready = Array.from({ length: options.count }, () => {
    const worker = cluster.fork();
    const state: WorkerState = { worker, applied: 0, stats: undefined };
    states.push(state);
    return new Promise<FromWorker & { t: 'ready' }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`DNS worker ${worker.id} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      worker.on('message', (message: FromWorker) => {
        if (message.t === 'hello') {
          worker.send(snapshot());
        } else if (message.t === 'ready') {
          clearTimeout(timer);
          resolve(message);
        } else if (message.t === 'applied') {
          state.applied = Math.max(state.applied, message.index);
          wake();
        } else if (message.t === 'stats') {
          state.stats = message.stats;
        } else {
          clearTimeout(timer);
          log.error({ worker: worker.id, message: message.message }, 'DNS worker failed');
          reject(new Error(`DNS worker ${worker.id}: ${message.message}`));
        }
      });
      worker.once('exit', (code, signal) => {
        clearTimeout(timer);
        state.applied = Infinity; // a dead worker answers nothing: never wait for it
        wake();
        reject(new Error(`DNS worker ${worker.id} exited (${signal ?? code})`));
        if (!closing) log.error({ worker: worker.id, code, signal }, 'DNS worker exited');
      });
    });
  });

  const close = async (): Promise<void> => {
    closing = true;
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

  let first: FromWorker & { t: 'ready' };
  try {
    [first] = (await Promise.all(ready)) as [FromWorker & { t: 'ready' }];
  } catch (error) {
    await close();
    throw error;
  }
  log.info({ workers: options.count, udp: first.udp.map((a) => `${a.address}:${a.port}`) }, 'DNS workers serving');

  return {
    addresses: { udp: first.udp, tcp: first.tcp },
    stats: () => sumStats(states.map((s) => s.stats).filter((s): s is DnsStats => s !== undefined)),
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
