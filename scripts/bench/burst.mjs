// The burst phase: a deploy-day registration burst while DNS is under load. One daemon run:
//   1. `beacon serve` (SQLite, 1 process or --workers N) holding the data set (N services x M instances,
//      registered over the control socket);
//   2. dnsperf saturating DNS with the mixed query file (per-second statistics) and the fixed-rate UDP
//      prober (each reply's latency) start together; after a warm-up, the `before` window;
//   3. the burst: `clients` concurrent clients register `total` new instances over the control socket
//      (spread over the data set's services), each client sending its next registration when its last
//      one is answered; dnsperf and the prober keep running;
//   4. every acknowledged registration must then be listed by the API (lost = acknowledged but absent).
// With `ceiling`, step 3 sends the registrations to control-ceiling.mjs instead (a process of its own that
// answers them and registers nothing): the DNS figures then say what the machine keeps for DNS when the
// control API costs only the HTTP exchange, the reference for the daemon's own figures (scripts/bench/LOAD.md).
// Figures compare windows of the same run: qps during / before, probe p99 during, registrations/s. The
// daemon's longest event-loop stall is read beside that of loop-floor.mjs, a node loop doing nothing in a
// process of its own over the same windows: what the host alone cost a loop then.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startNodeServer } from './children.mjs';
import { buildDataset, buildQueryFile } from './dataset.mjs';
import { KeepAliveConnection, controlRequest, countLost, register, registerKeepAlive, registrationBody, runClients, summarizeRegistrations } from './control.mjs';
import { startDaemon } from './daemon.mjs';
import { cpuSeconds, pinToCpu, systemBusySeconds } from './proc.mjs';
import { nowMs, probeWindow, qpsInWindow, startDnsperfTimeline, startProbe } from './timeline.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const CEILING_SCRIPT = fileURLToPath(new URL('./control-ceiling.mjs', import.meta.url));
const FLOOR_SCRIPT = fileURLToPath(new URL('./loop-floor.mjs', import.meta.url));

/** The floor loop's longest stall since its last read (ms); a read starts a new window. */
async function floorStall(floor) {
  const r = await floor.request({ op: 'take' }, 'taken', 10_000);
  return r.maxMs;
}

/**
 * CPU readings at one moment: the daemon tree, dnsperf, the prober, this driver, the control ceiling's server
 * (when there is one), and the whole machine.
 */
function cpuMark(daemon, dnsperfPid, probePid, ceilingPids = []) {
  return {
    at: nowMs(),
    daemon: cpuSeconds(daemon.pids()),
    dnsperf: cpuSeconds([dnsperfPid]),
    probe: cpuSeconds([probePid]),
    driver: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    ceiling: ceilingPids.length > 0 ? cpuSeconds(ceilingPids) : 0,
    busy: systemBusySeconds(),
  };
}

/**
 * Cores used between two marks: by the daemon, by the load tools (dnsperf, prober, driver), by the control
 * ceiling's server, by anything else.
 */
function cpuShares(a, b) {
  const s = (b.at - a.at) / 1000;
  const daemon = (b.daemon - a.daemon) / s;
  const tools = (b.dnsperf - a.dnsperf + b.probe - a.probe + b.driver - a.driver) / s;
  const ceiling = (b.ceiling - a.ceiling) / s;
  return { daemonCores: daemon, loadToolCores: tools, ceilingCores: ceiling, otherCores: Math.max(0, (b.busy - a.busy) / s - daemon - tools - ceiling) };
}

/**
 * The daemon's own longest event-loop stalls from /v1/stats (src/daemon/loop-stall.ts): `main`, its main
 * loop's (`eventLoop.maxStallMs`: the control API, and DNS without workers), and `dns`, the loops answering
 * DNS with `--dns-thread` or `--workers N` (`dnsEventLoop.maxStallMs`, reported by the workers every second).
 * Each is a maximum since the previous read, so the phase reads at the start and the end of the before window
 * (that figure: DNS load alone) and right after the burst (the burst's). Undefined where the daemon does not report it.
 */
async function daemonStall(socketPath) {
  const r = await controlRequest(socketPath, 'GET', '/v1/stats').catch(() => undefined);
  const main = r?.body?.eventLoop?.maxStallMs;
  const dns = r?.body?.dnsEventLoop?.maxStallMs;
  return {
    main: typeof main === 'number' ? main : undefined,
    dns: typeof dns === 'number' ? dns : undefined,
    // Counters read with the stall (single process, batched transport): DNS answered between control steps.
    dnsFirst: r?.body?.dnsFirst,
    udp: r?.body?.udpBatched,
  };
}

/** What DNS-first did between two /v1/stats reads: queries answered in control steps, of all read. */
function dnsFirstShare(from, to) {
  if (!from?.dnsFirst || !to?.dnsFirst || !from.udp || !to.udp) return undefined;
  const received = to.udp.received - from.udp.received;
  const batches = to.udp.batches - from.udp.batches;
  const answered = to.dnsFirst.answered - from.dnsFirst.answered;
  // `skipped` is absent in builds before the turn budget (BENCH_DAEMON_CLI may run one).
  const skipped = (to.dnsFirst.skipped ?? 0) - (from.dnsFirst.skipped ?? 0);
  return { steps: to.dnsFirst.steps - from.dnsFirst.steps, skipped, answered, received, share: received > 0 ? answered / received : 0, perBatch: batches > 0 ? received / batches : 0 };
}

/**
 * Run one burst. Options: `workers`, `store`, `services`, `instances` (data set), `clients`, `total`
 * (registrations in the burst), `beforeSeconds`, `maxBurstSeconds` (the burst stops taking new
 * registrations then), `probeRate` (queries/s), `dnsperfClients`, `dnsperfQps` (dnsperf -Q: a paced load
 * instead of a saturating one), `queryLines`, `pin` (a single-process daemon on CPU 1, every load tool on CPU 0),
 * `rate` (registrations offered per second; 0: each client sends its next as soon as its last is answered),
 * `ceiling` (the registrations go to control-ceiling.mjs, see the top of this file), `keepAlive` (each client
 * sends all its registrations over one persistent connection), `log`.
 */
export async function runBurst(o) {
  const log = o.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'beacon-burst-'));
  const daemon = await startDaemon({ workers: o.workers, store: o.store, extraArgs: o.extraArgs });
  let pinned = false;
  let ceiling;
  let floor;
  try {
    // A node loop that does nothing, read over the same windows as the daemon's stall: the host's floor.
    // Started first, so that a failure here leaves no load tool running.
    floor = await startNodeServer(FLOOR_SCRIPT, [], { label: 'loop floor', readyTimeoutMs: 30_000 });
    const dataset = buildDataset({ services: o.services, instances: o.instances });
    const seed = dataset.services.flatMap((svc) => svc.instances.map((inst) => () => register(daemon.socketPath, svc.name, inst.id, {
      address: inst.address, port: inst.port, weight: inst.weight, priority: inst.priority, tags: inst.tags, metadata: inst.metadata,
    })));
    const seeded = summarizeRegistrations(await runClients(seed, { clients: 10 }));
    if (seeded.errors > 0) throw new Error(`seeding the data set failed: ${JSON.stringify(seeded.errorCodes)}`);
    const queryFile = join(dir, 'queries.txt');
    writeFileSync(queryFile, buildQueryFile(dataset, { lines: o.queryLines }).text);

    const warmupMs = 1000;
    const dnsperf = startDnsperfTimeline({ port: daemon.port, queryFile, clients: o.dnsperfClients, maxQps: o.dnsperfQps, maxSeconds: Math.ceil(warmupMs / 1000 + o.beforeSeconds + o.maxBurstSeconds + 30) });
    const probe = await startProbe({ port: daemon.port, rate: o.probeRate, queryFile });
    // --pin: the daemon gets a core of its own and the load tools (dnsperf, the probe, this driver) share the
    // other, so the figures say what one core of Beacon does rather than how the scheduler split two cores
    // between the daemon and the tools. Multi-process daemons stay unpinned.
    pinned = Boolean(o.pin) && o.workers === 1;
    if (o.ceiling) ceiling = await startNodeServer(CEILING_SCRIPT, [join(dir, 'ceiling.sock')], { label: 'control ceiling', readyTimeoutMs: 30_000 });
    const ceilingPids = ceiling?.pids ?? [];
    if (pinned) {
      // The ceiling's server stands in for the daemon's control API: it shares the daemon's core, and so
      // does the floor's loop, which then measures what that core costs a loop.
      pinToCpu([...daemon.pids(), ...ceilingPids, ...floor.pids], 1);
      pinToCpu([dnsperf.pid, probe.pid, process.pid], 0);
    }
    await sleep(warmupMs);
    // A read resets the daemon's stall maxima: the next read gives the before window's alone (DNS load only,
    // no registrations), the baseline the burst's stall compares with.
    const stallStart = await daemonStall(daemon.socketPath);
    await floorStall(floor);
    const beforeFrom = nowMs();
    const cpu0 = cpuMark(daemon, dnsperf.pid, probe.pid, ceilingPids);
    await sleep(o.beforeSeconds * 1000);
    const cpu1 = cpuMark(daemon, dnsperf.pid, probe.pid, ceilingPids);
    const stallBefore = await daemonStall(daemon.socketPath);
    const floorBefore = await floorStall(floor);

    log(`  burst: ${o.clients} clients x ${o.total} registrations`);
    const services = dataset.services.map((s) => s.name);
    const target = ceiling?.info.socketPath ?? daemon.socketPath;
    const burstId = (j) => `burst-${String(j).padStart(6, '0')}`;
    // --keep-alive: each client holds one connection for all its registrations; else one connection each (the CLI).
    const jobs = Array.from({ length: o.total }, (_, j) => o.keepAlive
      ? (client) => registerKeepAlive((client.connection ??= new KeepAliveConnection(target)), services[j % services.length], burstId(j), registrationBody(j))
      : () => register(target, services[j % services.length], burstId(j), registrationBody(j)));
    const driverLoop = monitorEventLoopDelay({ resolution: 1 });
    driverLoop.enable();
    const driverCpu0 = process.cpuUsage();
    const run = await runClients(jobs, { clients: o.clients, maxSeconds: o.maxBurstSeconds, perSecond: o.rate ?? 0 });
    driverLoop.disable();
    const driverCpu = process.cpuUsage(driverCpu0);
    const cpu2 = cpuMark(daemon, dnsperf.pid, probe.pid, ceilingPids);
    const stallAfter = await daemonStall(daemon.socketPath);
    const floorDuring = await floorStall(floor);
    // Workers report their stalls every second: the burst's last second arrives after this. The next 2 s
    // are the `after` window: DNS alone again, over the data set the burst has grown (its answers are larger).
    const afterFrom = nowMs();
    await sleep(2000);
    const afterTo = nowMs();
    const stallLate = await daemonStall(daemon.socketPath);
    const [perf, samples] = await Promise.all([dnsperf.stop(), probe.stop()]);

    const registrations = summarizeRegistrations(run);
    const acknowledged = run.results.filter((r) => r.ok).map((r) => [services[r.job % services.length], burstId(r.job)]);
    // The ceiling registers nothing: there is nothing to look for.
    const lost = ceiling ? { lost: undefined, examples: [] } : await countLost(daemon.socketPath, acknowledged);
    const before = { qps: qpsInWindow(perf.perSecond, beforeFrom, cpu1.at), probe: probeWindow(samples, beforeFrom, cpu1.at), cpu: cpuShares(cpu0, cpu1) };
    const during = { qps: qpsInWindow(perf.perSecond, run.startedAt, run.endedAt), probe: probeWindow(samples, run.startedAt, run.endedAt), cpu: cpuShares(cpu1, cpu2) };
    const after = { qps: qpsInWindow(perf.perSecond, afterFrom, afterTo) };
    return {
      command: daemon.command,
      dnsperf: perf.args,
      workers: o.workers,
      pinned,
      ceiling: Boolean(ceiling),
      offeredPerSecond: o.rate || undefined,
      keepAlive: Boolean(o.keepAlive),
      dataset: `${o.services}x${o.instances}`,
      burst: { clients: o.clients, total: o.total, completed: run.results.length === o.total },
      before,
      during,
      after,
      // In-daemon reading, once /v1/stats reports it: max since the daemon's last reset, before and after the burst.
      daemonMaxStallMs: stallAfter.main === undefined ? undefined : { before: stallBefore.main, after: stallAfter.main },
      // The loop that does nothing, over the same two windows: what the host alone cost a loop then.
      floorMaxStallMs: { before: floorBefore, after: floorDuring },
      // The loops answering DNS, with workers: the read 2 s after the burst covers its last second (and those 2 s).
      dnsFirst: { before: dnsFirstShare(stallStart, stallBefore), during: dnsFirstShare(stallBefore, stallAfter) },
      dnsLoopMaxStallMs: stallAfter.dns === undefined ? undefined : { before: stallBefore.dns, after: Math.max(stallAfter.dns, stallLate.dns ?? 0) },
      qpsRatio: before.qps && during.qps ? during.qps / before.qps : undefined,
      registrations,
      // The load driver itself (this process: the 50 clients): when its loop lags or it uses a whole core,
      // registrations/s and their latency measure the driver, not the daemon.
      driver: { cores: (driverCpu.user + driverCpu.system) / 1e6 / run.seconds, loopDelayP50Ms: driverLoop.percentile(50) / 1e6, loopDelayMaxMs: driverLoop.max / 1e6 },
      lost: lost.lost,
      lostExamples: lost.examples,
      dnsperfSummary: { qps: perf.qps, lost: perf.lost, rcodes: perf.rcodes, maxLatencyMs: perf.maxLatencyMs },
    };
  } finally {
    // This driver runs the later phases on every CPU again.
    if (pinned) pinToCpu([process.pid], `0-${cpus().length - 1}`);
    await floor?.stop();
    await ceiling?.stop();
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
