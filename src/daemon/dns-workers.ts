/**
 * `beacon serve --workers N`: DNS answered by N worker processes that share the DNS sockets (node:cluster;
 * node 20 has no SO_REUSEPORT for dgram). `beacon serve --dns-thread`: DNS answered by one worker thread of the
 * daemon's process, so that a burst of API writes never holds the event loop that answers DNS. The daemon
 * keeps the one registry; every change is sent to every worker in order, and an API write is acknowledged
 * only once every worker has applied it, so the next DNS answer reflects it whichever worker reads the query.
 * A worker that dies is replaced (worker-supervisor.ts) and brought up to date by the same snapshot a first
 * worker gets, before it answers.
 */
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker as ThreadWorker } from 'node:worker_threads';
import { silentLogger, type Logger } from '../log.js';
import type { SmartLoadBalancer } from '../balancer/smart-load-balancer.js';
import type { DnsStats } from '../dns/server.js';
import type { ServiceRegistry } from '../registry/registry.js';
import type { ZoneSerial } from '../dns/zone-serial.js';
import { DNS_WORKER_THREAD, type CircuitMessage, type FromWorker, type PutMessage, type ToWorker, type WorkerDnsOptions, type ZoneMessage } from './dns-protocol.js';
import type { DynamicZone } from '../dns/dynamic-zone.js';
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
  /**
   * The longest event-loop stall any worker reported since the previous call (workers report every second),
   * in ms: the loops that answer DNS.
   */
  takeMaxStallMs(): number;
  /** Answer the DNS UPDATE messages workers forward (with `dns.forwardUpdates`); until set, they get no reply. */
  answerUpdates(answer: UpdateAnswerer): void;
  close(): Promise<void>;
}

/** Answers one DNS UPDATE message from `remote`: the reply, or undefined for none. */
export type UpdateAnswerer = (msg: Buffer, remote: string) => Promise<Buffer | undefined>;

/** Options of the worker pool. */
export interface DnsWorkerOptions {
  readonly count: number;
  /**
   * `process` (default): cluster workers sharing the DNS sockets, with a standby process kept up to date.
   * `thread`: worker threads of this process, each binding the DNS sockets itself (use one), no standby: a
   * thread starts in milliseconds, and a standby would apply every change once more on the same cores.
   */
  readonly kind?: 'process' | 'thread';
  readonly registry: ServiceRegistry;
  readonly balancer: SmartLoadBalancer;
  /** The SOA serial: bumped here for every change streamed, adopted by the workers with each batch. */
  readonly serial: ZoneSerial;
  /** Dynamic zone data: streamed to the workers like registry changes. */
  readonly zone: DynamicZone;
  readonly dns: WorkerDnsOptions;
  /** Node flags for worker processes beyond this process's own (which they inherit). */
  readonly nodeFlags?: readonly string[];
  readonly logger?: Logger;
}

/** A worker as the pool drives it: a cluster process or a thread. */
interface Worker {
  readonly id: number;
  /** Its process id (a process worker) or undefined (a thread of this process). */
  readonly pid: number | undefined;
  send(message: ToWorker): void;
  onMessage(listener: (message: FromWorker) => void): void;
  onceExit(listener: (code: number | null, signal: string | null) => void): void;
  isConnected(): boolean;
  isDead(): boolean;
  /** End it now (SIGKILL, or terminate the thread). */
  kill(): void;
  /** Ask it to end (SIGTERM, or terminate the thread). */
  terminate(): void;
}

function forkProcess(): Worker {
  const worker: ClusterWorker = cluster.fork();
  return {
    id: worker.id,
    pid: worker.process.pid,
    send: (message) => worker.send(message),
    onMessage: (listener) => worker.on('message', listener),
    onceExit: (listener) => worker.once('exit', listener),
    isConnected: () => worker.isConnected(),
    isDead: () => worker.isDead(),
    kill: () => worker.kill('SIGKILL'),
    terminate: () => worker.kill(),
  };
}

function startThread(log: Logger): Worker {
  const thread = new ThreadWorker(new URL('./dns-worker.js', import.meta.url), { workerData: DNS_WORKER_THREAD });
  let dead = false;
  thread.once('exit', () => {
    dead = true;
  });
  // An exception the thread did not catch ends it ('exit' follows, and the supervisor replaces it); without a
  // listener it would be thrown again here and end the daemon.
  thread.on('error', (error) => log.error({ err: error, worker: thread.threadId }, 'DNS worker thread failed'));
  return {
    id: thread.threadId,
    pid: undefined,
    send: (message) => {
      if (!dead) thread.postMessage(message);
    },
    onMessage: (listener) => thread.on('message', listener),
    onceExit: (listener) => thread.once('exit', (code) => listener(code, null)),
    isConnected: () => !dead,
    isDead: () => dead,
    kill: () => void thread.terminate(),
    terminate: () => void thread.terminate(),
  };
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

/** A forked worker: `ready` once it answers DNS, `exited` when it is gone. */
interface Forked {
  readonly state: WorkerState;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

/** How a forked worker's `ready` promise is settled from its messages. */
interface ReadySettlers {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Fork `count` DNS workers and wait until each serves. */
export async function startDnsWorkers(options: DnsWorkerOptions): Promise<DnsWorkerPool> {
  if ((options.kind ?? 'process') === 'process') {
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./dns-worker.js', import.meta.url)), args: [], execArgv: [...process.execArgv, ...(options.nodeFlags ?? [])] });
  }
  const pool = new DnsWorkers(options);
  try {
    await pool.start();
  } catch (error) {
    await pool.close();
    throw error;
  }
  const first = pool.serving();
  return {
    addresses: { udp: first.udp, tcp: first.tcp },
    stats: () => pool.stats(),
    workers: () => pool.workers(),
    synced: (index) => pool.synced(index),
    takeMaxStallMs: () => pool.takeMaxStallMs(),
    answerUpdates: (answer) => pool.answerUpdates(answer),
    close: () => pool.close(),
  };
}

/**
 * Registry and circuit changes, streamed to the workers. Changes are streamed in batches, one per turn of
 * the event loop: a group commit of 200 registrations is one IPC message per worker and one acknowledgement
 * back (the highest index applied), not 200 of each.
 */
class ChangeStream {
  private outbox: (PutMessage | CircuitMessage | ZoneMessage)[] = [];
  private readonly stopChanges: () => void;
  private readonly stopCircuits: () => void;
  private readonly stopZone: () => void;

  constructor(registry: ServiceRegistry, balancer: SmartLoadBalancer, zone: DynamicZone, private readonly serial: ZoneSerial, private readonly broadcast: (message: ToWorker) => void) {
    this.stopZone = zone.onChange((_names, sets) => this.post({ t: 'zone', sets }));
    this.stopChanges = registry.onChange((event) => this.post({ t: 'put', index: event.index, service: event.service, id: event.id, record: event.after ?? null }));
    this.stopCircuits = balancer.onCircuitChange((change) => {
      const record = registry.get(change.service, change.id);
      this.post({ t: 'circuit', service: change.service, id: change.id, admits: record === undefined || balancer.admits(record) });
    });
  }

  /** Stop following the registry and the circuits. */
  stop(): void {
    this.stopChanges();
    this.stopCircuits();
    this.stopZone();
  }

  private post(message: PutMessage | CircuitMessage | ZoneMessage): void {
    if (this.outbox.length === 0) setImmediate(() => this.flush());
    this.outbox.push(message);
  }

  private flush(): void {
    const messages = this.outbox;
    this.outbox = [];
    if (messages.length === 0) return;
    // Every batch moves the serial (docs/ARCHITECTURE.md, "SOA serial"): a worker applies a batch and adopts
    // its serial in one turn, so no answer falls between the changes of one batch. This process cannot know
    // whether the workers' answers carried the serial, so it always moves.
    this.broadcast({ t: 'batch', messages, serial: this.serial.bump() });
  }
}

/** Writes waiting until every serving worker has applied their change index (the acknowledgement watermark). */
class SyncWaiters {
  private readonly waiters = new Set<{ index: number; resolve: () => void }>();

  /** `floor`: the lowest index every serving worker has applied; `onTimeout`: a wait ran out. */
  constructor(private readonly floor: () => number, private readonly onTimeout: (index: number) => void) {}

  /** Resolves once `floor()` reaches `index`, or after SYNC_TIMEOUT_MS. */
  wait(index: number): Promise<void> {
    if (this.floor() >= index) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { index, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        this.onTimeout(index);
        resolve();
      }, SYNC_TIMEOUT_MS);
      this.waiters.add(waiter);
    });
  }

  /** The floor may have risen (a worker applied a change, or one died): release the waits it covers. */
  wake(): void {
    const floor = this.floor();
    for (const waiter of this.waiters) if (waiter.index <= floor) {
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }

  /** Release every wait (the pool closes). */
  releaseAll(): void {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
  }
}

/** The worker processes: forking, bringing up to date, the standby, launching for the supervisor, closing. */
class DnsWorkers {
  private readonly log: Logger;
  private readonly states: WorkerState[] = [];
  private closing = false;
  private started = false;
  private readonly acks: SyncWaiters;
  private readonly changes: ChangeStream;
  private readonly supervisor: WorkerSupervisor;
  // node:cluster shares a socket among the workers that ask for the same address and port, and closes it
  // when the last of them exits. A replacement asks for what the living workers asked for (so it joins
  // their sockets); when none lives, for the ports the first workers got (port 0 would pick new ones).
  private boundPorts: WorkerDnsOptions | undefined;
  private first: (FromWorker & { t: 'ready' }) | undefined;
  private updateAnswerer: UpdateAnswerer | undefined;
  /** The longest stall the workers reported since the last takeMaxStallMs(). */
  private maxStallMs = 0;
  /** Counters of dead workers, so that the sums never go backwards when a worker is replaced. */
  private retired: DnsStats[] = [];
  // A standby worker, forked once the pool serves: replacing a dead worker is then a message to a process
  // that is up and up to date, not a process start (which on a loaded machine can take seconds).
  private spare: Forked | undefined;

  constructor(private readonly options: DnsWorkerOptions) {
    const log = (this.log = options.logger ?? silentLogger);
    this.acks = new SyncWaiters(() => this.minApplied(), (index) =>
      log.warn({ index, applied: this.states.map((s) => s.applied) }, 'DNS workers slow to apply a change; acknowledging anyway'));
    this.changes = new ChangeStream(options.registry, options.balancer, options.zone, options.serial, (message) => this.broadcast(message));
    this.supervisor = new WorkerSupervisor({ count: options.count, launch: () => this.launch(), logger: log });
  }

  /** Fill every slot and wait until each serves. */
  start(): Promise<void> {
    return this.supervisor.start();
  }

  /** The pool serves: fork the standby, and return the first worker's addresses (the shared sockets). */
  serving(): FromWorker & { t: 'ready' } {
    this.started = true;
    this.refillSpare();
    const { first } = this;
    if (!first) throw new Error('internal: DNS workers started without reporting their addresses');
    this.log.info({ workers: this.options.count, udp: first.udp.map((a) => `${a.address}:${a.port}`) }, 'DNS workers serving');
    return first;
  }

  stats(): DnsStats {
    return sumStats([...this.retired, ...this.states.map((s) => s.stats).filter((s): s is DnsStats => s !== undefined)]);
  }

  workers(): WorkerPoolStatus & { readonly pids: readonly number[] } {
    const pids = this.states.filter((s) => s.serving).flatMap((s) => (s.worker.pid === undefined ? [] : [s.worker.pid]));
    return { ...this.supervisor.status(), pids };
  }

  takeMaxStallMs(): number {
    const max = this.maxStallMs;
    this.maxStallMs = 0;
    return max;
  }

  synced(index: number): Promise<void> {
    if (this.closing) return Promise.resolve();
    return this.acks.wait(index);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.supervisor.close();
    this.changes.stop();
    this.acks.releaseAll();
    await Promise.all(this.states.map(({ worker }) => stopWorker(worker)));
  }

  /** Only serving workers count: one being replaced gets everything in its snapshot when it comes up. */
  private minApplied(): number {
    return Math.min(...this.states.filter((s) => s.serving).map((s) => s.applied));
  }

  private broadcast(message: ToWorker): void {
    for (const state of this.states) if (state.worker.isConnected()) state.worker.send(message);
  }

  // A worker gets the registry as it is when it says hello; changes broadcast before that reach it too but are
  // ignored there (it has no replica yet, or they are not newer than its snapshot); later ones follow in order.
  private snapshot(dns: WorkerDnsOptions | undefined): ToWorker {
    const { registry, balancer } = this.options;
    return {
      t: 'init',
      config: registry.config,
      ...(dns ? { dns } : {}),
      index: registry.index,
      records: registry.records(),
      refused: registry.records().filter((r) => !balancer.admits(r)).map((r) => [r.service, r.spec.id] as const),
      serial: this.options.serial.current,
      domain: this.options.dns.domain,
      zone: this.options.zone.all(),
    };
  }

  private listenFor(): WorkerDnsOptions {
    return this.states.find((s) => s.dns !== undefined)?.dns ?? this.boundPorts ?? this.options.dns;
  }

  /** Fill a slot: promote the spare when it is up to date, else fork a worker; then make a new spare. */
  private launch(): LaunchedWorker {
    const forked = this.promoteSpare() ?? this.fork(this.listenFor());
    this.refillSpare();
    const { worker } = forked.state;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`DNS worker ${worker.id} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      forked.ready.then(resolve, reject).finally(() => clearTimeout(timer));
    });
    return { id: worker.id, ready, exited: forked.exited, kill: () => worker.kill() };
  }

  /** The spare, told to serve, when it holds a replica and is connected; else undefined. */
  private promoteSpare(): Forked | undefined {
    const { spare } = this;
    if (spare === undefined || !spare.state.replica || !spare.state.worker.isConnected()) return undefined;
    const dns = this.listenFor();
    this.spare = undefined;
    spare.state.dns = dns;
    spare.state.worker.send({ t: 'serve', dns });
    return spare;
  }

  private refillSpare(): void {
    if (this.spare !== undefined || this.closing || !this.started || this.options.kind === 'thread') return;
    const forked = this.fork(undefined);
    this.spare = forked;
    void forked.exited.then(() => {
      if (this.spare === forked) this.spare = undefined;
    });
  }

  /**
   * Fork one worker and bring it up to date (the snapshot on hello, then every change in order). With
   * `dns` it answers at once; without, it stands by as a spare until told to `serve`.
   */
  private fork(dns: WorkerDnsOptions | undefined): Forked {
    const worker = this.options.kind === 'thread' ? startThread(this.log) : forkProcess();
    const state: WorkerState = { worker, dns, applied: 0, stats: undefined, replica: false, bound: false, serving: false };
    this.states.push(state);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      worker.onceExit((code, signal) => {
        this.forget(state);
        resolve({ code, signal });
      }),
    );
    const ready = new Promise<void>((resolve, reject) => {
      worker.onMessage((message) => this.onMessage(state, dns, message, { resolve, reject }));
      void exited.then(({ code, signal }) => reject(new Error(`DNS worker ${worker.id} exited (${signal ?? code})`)));
    });
    ready.catch(() => undefined); // a spare that dies unused is only replaced
    return { state, ready, exited };
  }

  /** A worker exited: drop it, keeping its counters. */
  private forget(state: WorkerState): void {
    this.states.splice(this.states.indexOf(state), 1);
    if (state.stats) this.retired = [sumStats([...this.retired, state.stats])];
    this.acks.wake(); // a dead worker answers nothing: never wait for it
  }

  /** One message from a worker forked with `dns`. */
  /** Answer the DNS UPDATE messages workers forward. */
  answerUpdates(answer: UpdateAnswerer): void {
    this.updateAnswerer = answer;
  }

  /** One forwarded UPDATE: applied here, where the write path is; the reply goes back to the worker that asked. */
  private answerUpdate(worker: Worker, message: FromWorker & { t: 'update' }): void {
    const answer = this.updateAnswerer;
    const pending = answer ? answer(Buffer.from(message.msg, 'base64'), message.remote) : Promise.resolve(undefined);
    void pending
      .catch((error: unknown) => {
        this.log.error({ err: error, worker: worker.id }, 'forwarded DNS UPDATE failed');
        return undefined;
      })
      .then((reply) => {
        if (worker.isConnected()) worker.send({ t: 'update-reply', seq: message.seq, reply: reply ? reply.toString('base64') : null });
      });
  }

  private onMessage(state: WorkerState, dns: WorkerDnsOptions | undefined, message: FromWorker, ready: ReadySettlers): void {
    const { worker } = state;
    if (message.t === 'hello') {
      worker.send(this.snapshot(dns));
    } else if (message.t === 'ready') {
      state.bound = true;
      this.first ??= message;
      this.boundPorts ??= { ...this.options.dns, listen: message.udp.map((a) => ({ host: a.address, port: a.port })) };
      ready.resolve();
    } else if (message.t === 'applied') {
      state.applied = Math.max(state.applied, message.index);
      state.replica = true;
      // Serving once bound: it answers from the snapshot plus every change since.
      if (state.bound) state.serving = true;
      this.acks.wake();
    } else if (message.t === 'stats') {
      state.stats = message.stats;
      this.maxStallMs = Math.max(this.maxStallMs, message.maxStallMs ?? 0);
    } else if (message.t === 'update') {
      this.answerUpdate(worker, message);
    } else {
      this.log.error({ worker: worker.id, message: message.message }, 'DNS worker failed');
      ready.reject(new Error(`DNS worker ${worker.id}: ${message.message}`));
    }
  }
}

/** Ask a worker to stop (SIGKILL after 5 s); resolves once it has exited. */
function stopWorker(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    if (worker.isDead()) return resolve();
    const timer = setTimeout(() => worker.kill(), 5_000);
    worker.onceExit(() => {
      clearTimeout(timer);
      resolve();
    });
    if (worker.isConnected()) worker.send({ t: 'stop' });
    else worker.terminate();
  });
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
