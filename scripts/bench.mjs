#!/usr/bin/env node
// `npm run bench`: Beacon's DNS throughput and latency side by side with NSD and with the Node ceiling
// (a bare node:dgram loop), measured by dnsperf in the same run, alternating servers, medians of rounds.
//
//   node scripts/bench.mjs [--quick] [--large] [--profile] [--no-large-case] [--no-multicore]
//        [--services N --instances M] [--seconds S] [--rounds R] [--lines L] [--out FILE]
//        [--phases udp,latency,tcp,churn,handler,multicore,large] [--workers-max N]
//
// Default (~7 min): 50 x 3 registry (UDP rounds, 25k qps latency, TCP, churn, cluster workers), then the
// 10,000 x 10 registry (UDP rounds and RSS). --quick: ~1 min, one short round of each small-registry phase.
// --large: use 10,000 x 10 as the main registry. --profile: also run Beacon under --cpu-prof once and
// summarise where its time goes. Results: a table on stdout and JSON in bench-results/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDataset, buildQueryFile, buildZoneFile } from './bench/dataset.mjs';
import { dnsperfVersion, runDnsperf } from './bench/dnsperf.mjs';
import { nsdVersion, startNsd } from './bench/nsd.mjs';
import { freePort, startNodeServer } from './bench/children.mjs';
import { cpuSeconds, peakRssBytes, pinToCpu, processTree, rssBytes, systemBusySeconds } from './bench/proc.mjs';
import { answers, canonicalAnswers, createProbeClient } from './bench/probe.mjs';
import { formatTable, median, medianRun } from './bench/report.mjs';
import { formatProfile, summarizeProfile } from './bench/profile-summary.mjs';
import { deriveTarget } from './bench/beacon-names.mjs';
import { buildCCeiling, startCCeiling } from './bench/c-ceiling.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function parseArgs(argv) {
  const has = (f) => argv.includes(f);
  const val = (f, d) => {
    const i = argv.indexOf(f);
    return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : d;
  };
  const quick = has('--quick');
  const large = has('--large');
  return {
    quick,
    large,
    profile: has('--profile'),
    pin: has('--pin'),
    largeCase: !quick && !large && !has('--no-large-case'),
    multicore: !has('--no-multicore'),
    services: val('--services', large ? 10_000 : 50),
    instances: val('--instances', large ? 10 : 3),
    // Throughput phases: more, shorter rounds, so that bursts of other load on a shared machine hit every
    // server alike (finer alternation for the same total time).
    seconds: val('--seconds', quick ? 3 : 5),
    mainRounds: val('--main-rounds', val('--rounds', quick ? 1 : 5)),
    shortSeconds: val('--short-seconds', quick ? 2 : 5),
    rounds: val('--rounds', quick ? 1 : 3),
    lines: val('--lines', undefined),
    churnRate: val('--churn-rate', 1000),
    workersMax: val('--workers-max', 2),
    churnPacedQps: val('--churn-paced-qps', 10_000),
    latencyQps: val('--latency-qps', 25_000),
    clients: val('--clients', 10),
    out: (() => { const i = argv.indexOf('--out'); return i >= 0 ? argv[i + 1] : undefined; })(),
    phases: (() => { const i = argv.indexOf('--phases'); return i >= 0 ? argv[i + 1].split(',') : undefined; })(),
  };
}

const opts = parseArgs(process.argv.slice(2));
/** Whether a phase (udp, latency, tcp, churn, handler, multicore, large) is selected by --phases (all by default). */
const wants = (phase) => !opts.phases || opts.phases.includes(phase);
const log = (...a) => console.error('[bench]', ...a);
const results = {
  startedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memBytes: totalmem(), node: process.version },
  options: opts,
  tools: {},
  notes: [],
  phases: [],
};

// --- preflight -------------------------------------------------------------------------------------------
const dnsperf = dnsperfVersion();
const nsd = nsdVersion();
results.tools = { dnsperf: dnsperf ?? null, nsd: nsd ?? null };
if (!dnsperf) {
  const msg = 'dnsperf is not installed: no throughput or latency can be measured. Install it with: apt-get install -y dnsperf nsd';
  console.error(`\n*** ${msg}\n`);
  results.notes.push(msg);
}
if (!nsd) {
  const msg = 'NSD is not installed: no ratio to NSD. Install it with: apt-get install -y nsd (Debian/Ubuntu)';
  console.error(`\n*** ${msg}\n`);
  results.notes.push(msg);
}
for (const f of ['dist/dns/server.js', 'dist/dns/registry-view.js', 'dist/registry/registry.js']) {
  if (!existsSync(join(root, f))) {
    console.error(`\n*** ${f} is missing: run \`npm run build\` first (npm run bench does).\n`);
    process.exit(2);
  }
}

const work = mkdtempSync(join(tmpdir(), 'beacon-bench-'));
const outDir = join(root, 'bench-results');
mkdirSync(outDir, { recursive: true });
const started = [];
const cleanup = async () => {
  for (const s of started.splice(0)) await s.stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
};
// Interrupted: stop every server (NSD would otherwise outlive us) and remove the temp dir.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { cleanup().finally(() => process.exit(130)); });

// --- servers ---------------------------------------------------------------------------------------------
function beaconServer(ds, { workers = 1, execArgv = [], port = 0, label = 'beacon', udpTransport = 'auto' } = {}) {
  return startNodeServer(join(here, 'bench/beacon-server.mjs'),
    ['--services', String(ds.services.length), '--instances', String(ds.services[0]?.instances.length ?? 0), '--port', String(port), '--workers', String(workers), '--udp-transport', udpTransport],
    { execArgv: ['--expose-gc', ...execArgv], label });
}

async function ceilingServer(workers = 1, size = 12) {
  const port = workers > 1 ? await freePort() : 0;
  return startNodeServer(join(here, 'bench/ceiling-server.mjs'), ['--port', String(port), '--workers', String(workers), '--size', String(size)], { label: `ceiling x${workers}` });
}

/** The C batched ceiling (recvmmsg/sendmmsg, fixed reply), built once per run; undefined without a compiler. */
let cCeilingBinary;
async function cCeiling(size = 12) {
  if (cCeilingBinary === undefined) {
    const built = buildCCeiling(work);
    cCeilingBinary = built.binary ?? null;
    if (built.error) results.notes.push(`C batched ceiling not built (${built.error}): no ratio to it`);
  }
  return cCeilingBinary ? startCCeiling(cCeilingBinary, { size }) : undefined;
}

async function nsdServer(ds, name, serverCount = 1) {
  const dir = join(work, name);
  const port = await freePort();
  const t0 = Date.now();
  const { child, pid } = await startNsd({
    dir, port, zone: ds.domain, zoneText: buildZoneFile(ds, { deriveTarget }), isReady: (p) => answers(p), serverCount,
  });
  const exited = new Promise((r) => child.once('exit', r));
  const handle = {
    child, info: { port, tcpPort: port, startMs: Date.now() - t0 }, pids: processTree(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  return handle;
}

async function track(promise) {
  const s = await promise;
  started.push(s);
  return s;
}

async function stopServer(s) {
  const i = started.indexOf(s);
  if (i >= 0) started.splice(i, 1);
  await s.stop();
}

// --- measuring -------------------------------------------------------------------------------------------
/** One dnsperf run against one server, with the server's CPU time charged per completed query. */
async function measure(server, queryFile, { seconds, mode = 'udp', maxQps, port, maxRuns, percentiles = false }) {
  const pids = processTree(server.pids[0]);
  const cpu0 = cpuSeconds(pids);
  const busy0 = systemBusySeconds();
  const t0 = process.hrtime.bigint();
  // --pin: a single-process server runs on CPU 1 and dnsperf on CPU 0, so that the scheduler's placement
  // (both on one core, or not) stops being a source of variance. Multi-process servers stay unpinned.
  const pin = opts.pin && pids.length > 0 && !server.multi;
  if (pin) pinToCpu(pids, 1);
  const r = await runDnsperf({ port: port ?? server.info.port, queryFile, seconds, mode, maxQps, maxRuns, clients: opts.clients, cpu: pin ? 0 : undefined, percentiles });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(pids) - cpu0;
  // CPU used by everything else on the machine meanwhile (other jobs make a run noisy: see otherCpuShare).
  const other = systemBusySeconds() - busy0 - cpu - r.dnsperfCpuSeconds;
  return {
    ...r,
    serverCpuSeconds: cpu,
    serverCpuShare: cpu / wall,
    dnsperfCpuShare: r.dnsperfCpuSeconds / wall,
    otherCpuShare: Math.max(0, other / wall),
    cpuUsPerQuery: r.completed ? (cpu / r.completed) * 1e6 : undefined,
  };
}

/**
 * `rounds` rounds over `servers` ({ name: handle }), the order rotated each round so that no server always
 * runs first; returns the phase record with every run and the per-server medians.
 */
async function alternate(title, servers, queryFile, runOpts, rounds = opts.rounds) {
  const names = Object.keys(servers).filter((n) => servers[n]);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round += 1) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const n of order) {
      const r = await measure(servers[n], queryFile, { ...runOpts, port: runOpts.mode === 'tcp' ? servers[n].info.tcpPort : undefined });
      runs[n].push(r);
      log(`${title} round ${round + 1}/${rounds} ${n}: ${Math.round(r.qps)} qps, avg ${r.avgLatencyMs?.toFixed(3)} ms${r.p99LatencyMs === undefined ? '' : `, p99 ${r.p99LatencyMs.toFixed(3)} ms`}, lost ${r.lost}`);
    }
  }
  const medians = Object.fromEntries(names.map((n) => [n, medianRun(runs[n])]));
  const phase = { title, options: runOpts, runs, medians };
  results.phases.push(phase);
  return phase;
}

/** Compare Beacon's and NSD's answer sets (order-insensitive) and rcodes on a sample of the query file. */
async function crossCheck(beacon, nsdHandle, queryText, sample = 300) {
  const lines = [...new Set(queryText.split('\n').filter(Boolean))].slice(0, sample);
  const client = createProbeClient();
  let same = 0;
  const mismatches = [];
  for (const line of lines) {
    const [name, type] = line.split(' ');
    const [a, b] = await Promise.all([client.query(beacon.info.port, name, type, 1000), client.query(nsdHandle.info.port, name, type, 1000)]);
    const ca = canonicalAnswers(a).join('\n');
    const cb = canonicalAnswers(b).join('\n');
    if (a?.rcode === b?.rcode && ca === cb) same += 1;
    else if (mismatches.length < 5) mismatches.push({ query: line, beacon: { rcode: a?.rcode, answers: canonicalAnswers(a), tc: a?.flags }, nsd: { rcode: b?.rcode, answers: canonicalAnswers(b) } });
  }
  client.close();
  return { checked: lines.length, same, mismatches };
}

/** Staleness and probe figures of a list of churn results. */
function churnFigures(churns) {
  return {
    changesPerSecond: median(churns.map((c) => c.ratePerSecond)),
    stalenessP50Ms: median(churns.map((c) => c.stalenessMs.p50)),
    stalenessP95Ms: median(churns.map((c) => c.stalenessMs.p95)),
    stalenessMaxMs: Math.max(...churns.map((c) => c.stalenessMs.max ?? 0)),
    controlRttP50Ms: median(churns.map((c) => c.controlRttMs.p50)),
    controlRttP95Ms: median(churns.map((c) => c.controlRttMs.p95)),
    probes: churns.reduce((a, c) => a + (c.stalenessMs.count ?? 0), 0),
    staleFirstAnswers: churns.reduce((a, c) => a + c.staleFirstAnswers, 0),
    probeFailures: churns.reduce((a, c) => a + c.probeFailures, 0),
    mutationUsPerChange: median(churns.map((c) => c.mutationUsPerChange)),
  };
}

/**
 * The churn phase. Per round: Beacon saturated by dnsperf without churn, then with `churnRate` changes/s
 * (throughput ratio), then a fixed `churnPacedQps` load without and with the same churn (the staleness probe
 * is not swamped by the queueing delay that saturation itself causes, and the CPU difference prices a change),
 * then churn with no query load at all.
 */
async function churnPhase(beacon, queryFile) {
  const pacedName = `beacon+churn @${opts.churnPacedQps / 1000}k`;
  const pacedBase = `beacon @${opts.churnPacedQps / 1000}k`;
  const runs = { 'beacon': [], 'beacon+churn': [], [pacedBase]: [], [pacedName]: [] };
  const saturated = [];
  const paced = [];
  const idle = [];
  const withChurn = async (seed, maxQps) => {
    const reply = beacon.request({ op: 'churn', rate: opts.churnRate, durationMs: opts.shortSeconds * 1000, seed }, 'churn-done', (opts.shortSeconds + 60) * 1000);
    const r = await measure(beacon, queryFile, { seconds: opts.shortSeconds, maxQps });
    return [r, await reply];
  };
  for (let round = 0; round < opts.rounds; round += 1) {
    runs.beacon.push(await measure(beacon, queryFile, { seconds: opts.shortSeconds }));
    const [r, c] = await withChurn(100 + round);
    runs['beacon+churn'].push(r);
    saturated.push(c);
    runs[pacedBase].push(await measure(beacon, queryFile, { seconds: opts.shortSeconds, maxQps: opts.churnPacedQps }));
    const [rp, cp] = await withChurn(200 + round, opts.churnPacedQps);
    runs[pacedName].push(rp);
    paced.push(cp);
    // No query load at all: the staleness is then the cache's own, plus one loopback round trip.
    idle.push(await beacon.request({ op: 'churn', rate: opts.churnRate, durationMs: 1000, seed: 300 + round }, 'churn-done', 60_000));
    log(`churn round ${round + 1}: ${Math.round(runs.beacon.at(-1).qps)} -> ${Math.round(r.qps)} qps with ${Math.round(c.ratePerSecond)} changes/s; staleness p50 ${c.stalenessMs.p50?.toFixed(2)} ms saturated, ${cp.stalenessMs.p50?.toFixed(2)} ms at ${opts.churnPacedQps} qps`);
  }
  const medians = Object.fromEntries(Object.entries(runs).map(([n, list]) => [n, medianRun(list)]));
  const churn = {
    ...churnFigures(saturated),
    throughputRatio: medians['beacon+churn'].qps / medians.beacon.qps,
    paced: { qps: opts.churnPacedQps, ...churnFigures(paced) },
    idle: churnFigures(idle),
    rounds: saturated,
    pacedRounds: paced,
  };
  const phase = { title: `churn ${opts.churnRate}/s`, runs, medians, churn };
  results.phases.push(phase);
  return phase;
}

/**
 * Profile Beacon under load: the V8 sampling profiler (as `node --cpu-prof`, started through the inspector
 * so that start-up is left out) over one dnsperf run, with `churn` changes/s applied meanwhile when given;
 * then a self-time summary of the written .cpuprofile.
 */
async function profileBeacon(beacon, queryFile, churn = 0) {
  const dir = join(outDir, 'profiles');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `beacon-${churn ? `churn${churn}` : 'steady'}-${Date.now()}.cpuprofile`);
  await beacon.request({ op: 'profile-start' }, 'profiling');
  const churnReply = churn ? beacon.request({ op: 'churn', rate: churn, durationMs: opts.shortSeconds * 1000, seed: 99 }, 'churn-done', (opts.shortSeconds + 60) * 1000) : undefined;
  const r = await measure(beacon, queryFile, { seconds: opts.shortSeconds });
  const c = await churnReply;
  await beacon.request({ op: 'profile-stop', file }, 'profile');
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), 30);
  const what = churn ? `with ${churn} changes/s` : 'steady';
  console.log(`\nBeacon CPU profile under dnsperf, ${what} (${Math.round(r.qps)} qps while profiled), ${file.slice(root.length + 1)}:\n${formatProfile(summary)}\n`);
  return { file: file.slice(root.length + 1), churn, qpsWhileProfiled: r.qps, churnResult: c, ...summary };
}

// --- the run ---------------------------------------------------------------------------------------------
async function main() {
  const ds = buildDataset({ services: opts.services, instances: opts.instances });
  const instances = opts.services * opts.instances;
  // Big registries: 100,000 uniformly drawn lines (about 90,000 distinct names at 100,000 instances), which
  // fits Beacon's default 100,000-entry cache; a larger file would measure cache thrashing, not serving.
  const lines = opts.lines ?? Math.min(100_000, Math.max(10_000, instances * 2));
  const q = buildQueryFile(ds, { lines, seed: 1, deriveTarget });
  const queryFile = join(work, 'queries.txt');
  writeFileSync(queryFile, q.text);
  results.dataset = { services: opts.services, instances: opts.instances, total: instances, queryLines: q.lines, mix: q.mix };
  log(`registry ${opts.services} x ${opts.instances} = ${instances} instances; ${q.lines} queries in ${queryFile}`);

  const beacon = await track(beaconServer(ds));
  log(`beacon ready on udp ${beacon.info.port} / tcp ${beacon.info.tcpPort} (built in ${Math.round(beacon.info.startMs)} ms, RSS ${Math.round(beacon.info.rss / 1e6)} MB)`);
  results.beacon = { startMs: beacon.info.startMs, buildMs: beacon.info.buildMs, rssAtReady: beacon.info.rss, udpTransport: beacon.info.udpTransport, udpTransportReason: beacon.info.udpTransportReason };
  log(`beacon UDP transport: ${beacon.info.udpTransport}${beacon.info.udpTransportReason ? ` (${beacon.info.udpTransportReason})` : ''}`);
  // 'beacon' runs the default transport (batched where the addon loads); 'beacon dgram' is node:dgram, for the
  // comparison within the same run.
  const beaconDgram = beacon.info.udpTransport === 'batched' ? await track(beaconServer(ds, { udpTransport: 'dgram', label: 'beacon dgram' })) : undefined;
  const ceiling = await track(ceilingServer(1));
  const ceilingC = await cCeiling();
  if (ceilingC) started.push(ceilingC);
  const nsdHandle = nsd ? await track(nsdServer(ds, 'nsd-main')) : undefined;
  if (nsdHandle) {
    log(`nsd ready on ${nsdHandle.info.port} (${nsdHandle.info.startMs} ms)`);
    results.crossCheck = await crossCheck(beacon, nsdHandle, q.text);
    log(`answer cross-check Beacon vs NSD: ${results.crossCheck.same}/${results.crossCheck.checked} identical`);
    if (results.crossCheck.mismatches.length) log('first mismatch:', JSON.stringify(results.crossCheck.mismatches[0]));
  }
  if (!dnsperf) {
    process.exitCode = 1;
    return;
  }

  const label = `UDP ${opts.services}x${opts.instances}`;
  if (instances > 10_000) {
    // A big registry starts with a cold cache: one untimed-for-the-medians pass through the file first.
    const cold = {};
    for (const [n, s] of Object.entries({ beacon, nsd: nsdHandle })) {
      if (s) cold[n] = await measure(s, queryFile, { seconds: 60, maxRuns: 1 });
    }
    results.phases.push({ title: `${label} cold`, options: { maxRuns: 1 }, runs: Object.fromEntries(Object.entries(cold).map(([n, r]) => [n, [r]])), medians: Object.fromEntries(Object.entries(cold).map(([n, r]) => [n, medianRun([r])])) });
  }
  if (wants('udp')) {
    // The ceiling again with 180-byte replies (about Beacon's average here): what the reply bytes alone cost.
    const ceiling180 = await track(ceilingServer(1, 180));
    await alternate(label, { beacon, 'beacon dgram': beaconDgram, nsd: nsdHandle, ceiling, 'ceiling C': ceilingC, 'ceiling 180B': ceiling180 }, queryFile, { seconds: opts.seconds }, opts.mainRounds);
    await stopServer(ceiling180);
  }
  // The ceiling too: how much of the latency at a fixed rate is node's own wake-up path.
  if (wants('latency')) await alternate(`UDP @${opts.latencyQps / 1000}k qps`, { beacon, 'beacon dgram': beaconDgram, nsd: nsdHandle, ceiling, 'ceiling C': ceilingC }, queryFile, { seconds: opts.shortSeconds, maxQps: opts.latencyQps, percentiles: true });
  if (wants('tcp')) await alternate('TCP', { beacon, nsd: nsdHandle }, queryFile, { seconds: opts.shortSeconds, mode: 'tcp' });
  if (wants('churn')) await churnPhase(beacon, queryFile);
  if (wants('handler')) {
    results.handler = await beacon.request({ op: 'handler-bench', queryFile, msPerKind: opts.quick ? 100 : 300 }, 'handler-bench');
    console.log(`\n${formatHandlerBench(results.handler, `${opts.services}x${opts.instances}`)}`);
  }
  results.beacon.afterLoad = await beacon.request({ op: 'stats' }, 'stats');
  const udpCounters = results.beacon.afterLoad.udp;
  if (udpCounters?.batches) log(`beacon batched: ${udpCounters.received} datagrams in ${udpCounters.batches} batches (${(udpCounters.received / udpCounters.batches).toFixed(1)} per batch), ${udpCounters.sendErrors} send errors, ${udpCounters.drops} drops`);

  if (opts.multicore && wants('multicore')) {
    // Does node:cluster (workers sharing one UDP socket) beat one process on this machine?
    // NSD gets the same number of server processes (server-count), so the comparison stays like for like.
    const servers = { 'ceiling': ceiling, 'beacon': beacon, 'nsd': nsdHandle };
    for (let w = 2; w <= opts.workersMax; w += 1) {
      servers[`ceiling x${w}`] = Object.assign(await track(ceilingServer(w)), { multi: true });
      // Batched workers each hold their own SO_REUSEPORT socket; dgram workers share cluster's socket.
      servers[`beacon x${w}`] = Object.assign(await track(beaconServer(ds, { workers: w, port: await freePort(), label: `beacon x${w}` })), { multi: true });
      if (beaconDgram) servers[`beacon dgram x${w}`] = Object.assign(await track(beaconServer(ds, { workers: w, port: await freePort(), label: `beacon dgram x${w}`, udpTransport: 'dgram' })), { multi: true });
      if (nsd) servers[`nsd x${w}`] = Object.assign(await track(nsdServer(ds, `nsd-x${w}`, w)), { multi: true });
    }
    await alternate('UDP cluster workers', servers, queryFile, { seconds: opts.shortSeconds });
    for (const [n, s] of Object.entries(servers)) if (n.includes(' x')) await stopServer(s);
  }
  if (opts.profile) results.profiles = [await profileBeacon(beacon, queryFile), await profileBeacon(beacon, queryFile, opts.churnRate)];

  if (opts.largeCase && wants('large')) {
    await stopServer(beacon);
    if (nsdHandle) await stopServer(nsdHandle);
    if (beaconDgram) await stopServer(beaconDgram);
    const big = buildDataset({ services: 10_000, instances: 10 });
    // 100,000 uniformly drawn lines: about 90,000 distinct names, within Beacon's default 100,000-entry cache.
    const bq = buildQueryFile(big, { lines: 100_000, seed: 2, deriveTarget });
    const bigFile = join(work, 'queries-large.txt');
    writeFileSync(bigFile, bq.text);
    log('large case: 10,000 x 10 = 100,000 instances');
    const bb = await track(beaconServer(big, { label: 'beacon large' }));
    const idleStats = await bb.request({ op: 'stats' }, 'stats');
    log(`beacon large ready (built in ${Math.round(bb.info.startMs)} ms, RSS ${Math.round(bb.info.rss / 1e6)} MB; after GC ${Math.round(idleStats.rss / 1e6)} MB, heap ${Math.round(idleStats.heapUsed / 1e6)} MB)`);
    const bn = nsd ? await track(nsdServer(big, 'nsd-large')) : undefined;
    if (bn) log(`nsd large ready (${bn.info.startMs} ms)`);
    // Cold pass: one trip through the file, every name new to Beacon's cache (NSD has no such state).
    // Then the measured rounds run warm, like the small registry's.
    const cold = {};
    for (const [n, s] of Object.entries({ beacon: bb, nsd: bn })) {
      if (!s) continue;
      cold[n] = await measure(s, bigFile, { seconds: 60, maxRuns: 1 });
      log(`large cold pass ${n}: ${Math.round(cold[n].qps)} qps over ${cold[n].completed} queries`);
    }
    results.phases.push({ title: 'UDP 10000x10 cold', options: { maxRuns: 1 }, runs: Object.fromEntries(Object.entries(cold).map(([n, r]) => [n, [r]])), medians: Object.fromEntries(Object.entries(cold).map(([n, r]) => [n, medianRun([r])])) });
    await alternate('UDP 10000x10', { beacon: bb, nsd: bn, ceiling }, bigFile, { seconds: opts.seconds }, opts.mainRounds);
    const stats = await bb.request({ op: 'stats' }, 'stats');
    const peakRss = peakRssBytes(bb.child.pid);
    if (opts.profile) results.profiles.push(await profileBeacon(bb, bigFile));
    results.handlerLarge = await bb.request({ op: 'handler-bench', queryFile: bigFile, msPerKind: 300 }, 'handler-bench');
    console.log(`\n${formatHandlerBench(results.handlerLarge, '10000x10')}`);
    results.large = {
      startMs: bb.info.startMs, buildMs: bb.info.buildMs, rssAtReady: bb.info.rss, rssAtReadyAfterGc: idleStats.rss, heapUsedAtReady: idleStats.heapUsed, rssAfterLoad: stats.rss,
      peakRss, heapUsedAfterGc: stats.heapUsed, server: stats.server,
      // Where the memory is: V8 heap (used vs reserved), Buffers (cached reply bytes) and the rest.
      memoryAtReady: { rss: idleStats.rss, heapUsed: idleStats.heapUsed, heapTotal: idleStats.heapTotal, external: idleStats.external, arrayBuffers: idleStats.arrayBuffers },
      memoryAfterLoad: { rss: stats.rss, heapUsed: stats.heapUsed, heapTotal: stats.heapTotal, external: stats.external, arrayBuffers: stats.arrayBuffers },
    };
    log(`large: RSS ${Math.round(stats.rss / 1e6)} MB after load (peak ${Math.round(results.large.peakRss / 1e6)} MB)`);
  } else if (opts.large) {
    const stats = await beacon.request({ op: 'stats' }, 'stats');
    results.large = {
      startMs: beacon.info.startMs, rssAtReady: beacon.info.rss, rssAfterLoad: stats.rss, peakRss: peakRssBytes(beacon.child.pid), heapUsedAfterGc: stats.heapUsed, server: stats.server,
      memoryAfterLoad: { rss: stats.rss, heapUsed: stats.heapUsed, heapTotal: stats.heapTotal, external: stats.external, arrayBuffers: stats.arrayBuffers },
    };
  }
  results.beacon.rssNow = rssBytes(beacon.child.pid);
}

/** Table of in-process handler costs per query kind. */
function formatHandlerBench(hb, label) {
  const lines = [`In-process handler cost, ${label} (us per handle() call, no sockets):`, '  kind              hit us   miss us   reply B'];
  for (const [kind, k] of Object.entries(hb.kinds)) {
    lines.push(`  ${kind.padEnd(16)} ${k.hitUs.toFixed(2).padStart(7)} ${k.missUs === undefined ? '      -' : k.missUs.toFixed(2).padStart(9)} ${String(k.replyBytes ?? '-').padStart(9)}`);
  }
  return lines.join('\n');
}

/**
 * The spread of a ratio over the rounds of a phase, `(rounds lo-hi)`: each round runs every server once, so
 * `a`'s figure over `b`'s within one round is a ratio measured under one machine state. On a shared 2-core
 * machine the spread of the same build often exceeds a target's margin; the median alone hides that.
 */
function roundSpread(phase, a, b, field, digits = 2) {
  const ra = phase?.runs[a] ?? [];
  const rb = phase?.runs[b] ?? [];
  const ratios = ra.map((r, i) => (rb[i]?.[field] ? r[field] / rb[i][field] : undefined)).filter((x) => x !== undefined && Number.isFinite(x));
  if (ratios.length < 2) return '';
  return ` (rounds ${Math.min(...ratios).toFixed(digits)}-${Math.max(...ratios).toFixed(digits)})`;
}

function summaryLines() {
  const out = [];
  const phase = (t) => results.phases.find((p) => p.title.startsWith(t));
  const udp = results.phases.find((p) => p.title === `UDP ${results.dataset.services}x${results.dataset.instances}`);
  if (udp?.medians.beacon) {
    const m = udp.medians;
    if (m.nsd) out.push(`UDP ${results.dataset.services}x${results.dataset.instances}: Beacon ${(m.beacon.qps / m.nsd.qps).toFixed(2)}x NSD (target >= 0.75), ${(m.beacon.qps / m.ceiling.qps).toFixed(2)}x the Node ceiling (target >= 0.9); CPU per query ${m.beacon.cpuUsPerQuery.toFixed(1)} us vs NSD ${m.nsd.cpuUsPerQuery.toFixed(1)} us and ceiling ${m.ceiling.cpuUsPerQuery.toFixed(1)} us`);
    else out.push(`UDP: Beacon ${(m.beacon.qps / m.ceiling.qps).toFixed(2)}x the Node ceiling (NSD not measured)`);
  }
  if (udp?.medians['ceiling C'] && udp.medians.nsd) {
    const m = udp.medians;
    const dg = m['beacon dgram'];
    out.push(`UDP batched (${results.beacon.udpTransport}): Beacon ${(m.beacon.qps / m.nsd.qps).toFixed(2)}x NSD${roundSpread(udp, 'beacon', 'nsd', 'qps')} (target >= 1.2), ${(m.beacon.qps / m['ceiling C'].qps).toFixed(2)}x the C batched ceiling${roundSpread(udp, 'beacon', 'ceiling C', 'qps')} (target >= 0.8), the C ceiling ${(m['ceiling C'].qps / m.nsd.qps).toFixed(2)}x NSD${roundSpread(udp, 'ceiling C', 'nsd', 'qps')}, CPU per query ${m.beacon.cpuUsPerQuery.toFixed(1)} us vs NSD ${m.nsd.cpuUsPerQuery.toFixed(1)} us (target <=) and C ceiling ${m['ceiling C'].cpuUsPerQuery.toFixed(1)} us${dg ? `; Beacon dgram ${(dg.qps / m.nsd.qps).toFixed(2)}x NSD, ${dg.cpuUsPerQuery.toFixed(1)} us/q` : ''}`);
  }
  const lat = phase('UDP @');
  if (lat?.medians.nsd) {
    const m = lat.medians;
    const p99 = (r) => r?.p99LatencyMs?.toFixed(3) ?? '-';
    out.push(`Latency at ${opts.latencyQps} qps: Beacon avg ${m.beacon.avgLatencyMs.toFixed(3)} ms = ${(m.beacon.avgLatencyMs / m.nsd.avgLatencyMs).toFixed(2)}x NSD's, p99 ${p99(m.beacon)} ms = ${(m.beacon.p99LatencyMs / m.nsd.p99LatencyMs).toFixed(2)}x NSD's ${p99(m.nsd)} ms${roundSpread(lat, 'beacon', 'nsd', 'p99LatencyMs')} (targets <= 1.0 batched); Beacon dgram avg ${m['beacon dgram']?.avgLatencyMs.toFixed(3) ?? '-'} ms, p99 ${p99(m['beacon dgram'])} ms; the Node ceiling ${m.ceiling?.avgLatencyMs.toFixed(3)} / ${p99(m.ceiling)} ms, the C ceiling ${m['ceiling C']?.avgLatencyMs.toFixed(3) ?? '-'} / ${p99(m['ceiling C'])} ms (avg / p99)`);
  }
  const tcp = phase('TCP');
  if (tcp?.medians.nsd) out.push(`TCP: Beacon ${(tcp.medians.beacon.qps / tcp.medians.nsd.qps).toFixed(2)}x NSD`);
  const ch = phase('churn')?.churn;
  if (ch) {
    const st = (f, where) => `staleness ${where}: p50 ${f.stalenessP50Ms?.toFixed(2)} ms, p95 ${f.stalenessP95Ms?.toFixed(2)} ms, max ${f.stalenessMaxMs.toFixed(2)} ms over ${f.probes} probes (target <= 10 ms), vs ${f.controlRttP50Ms?.toFixed(2)} / ${f.controlRttP95Ms?.toFixed(2)} ms p50/p95 round trip of an untouched name; ${f.staleFirstAnswers} stale first answers, ${f.probeFailures} probe failures`;
    // Server CPU per change, everything included (the registry call, invalidation, re-answering the misses
    // it causes): the extra CPU per second at the paced rate over the same paced load without churn.
    const pacedRun = phase('churn').medians[`beacon+churn @${opts.churnPacedQps / 1000}k`];
    const base = phase('churn').medians[`beacon @${opts.churnPacedQps / 1000}k`];
    const perChangeUs = pacedRun && base ? ((pacedRun.cpuUsPerQuery - base.cpuUsPerQuery) * pacedRun.qps) / ch.paced.changesPerSecond : undefined;
    out.push(`Churn ${Math.round(ch.changesPerSecond)}/s: throughput ${ch.throughputRatio.toFixed(2)}x no-churn${roundSpread(phase('churn'), 'beacon+churn', 'beacon', 'qps')} (target >= 0.9 batched, 0.8 dgram); ${ch.mutationUsPerChange.toFixed(1)} us per change in the registry call (listeners included), ~${perChangeUs?.toFixed(0)} us of server CPU per change all included (misses it causes)`);
    out.push(`  ${st(ch, 'saturated')}`);
    out.push(`  ${st(ch.paced, `at ${ch.paced.qps} qps`)}`);
    out.push(`  ${st(ch.idle, 'with no query load')}`);
  }
  const lg = results.phases.find((p) => p.title === 'UDP 10000x10');
  if (lg?.medians.nsd) out.push(`UDP 10000x10 (warm): Beacon ${(lg.medians.beacon.qps / lg.medians.nsd.qps).toFixed(2)}x NSD (target >= 1.0 batched, 0.7 dgram), CPU per query ${lg.medians.beacon.cpuUsPerQuery?.toFixed(1)} us vs NSD ${lg.medians.nsd.cpuUsPerQuery?.toFixed(1)} us`);
  const lgc = results.phases.find((p) => p.title === 'UDP 10000x10 cold');
  if (lgc?.medians.nsd) out.push(`UDP 10000x10 cold pass (every name new to the cache): Beacon ${(lgc.medians.beacon.qps / lgc.medians.nsd.qps).toFixed(2)}x NSD`);
  if (results.large) {
    const cache = results.large.server?.cacheEntries;
    const mb = (x) => (x === undefined ? '?' : Math.round(x / 1e6));
    const L = results.large;
    out.push(`RSS with 100,000 instances: ${mb(L.rssAtReady)} MB at ready (registry, empty cache; ${mb(L.rssAtReadyAfterGc)} MB after a GC, heap ${mb(L.heapUsedAtReady)} MB), ${mb(L.rssAfterLoad)} MB after load${cache !== undefined ? ` (${cache} cached questions, heap ${mb(L.heapUsedAfterGc)} MB used of ${mb(L.memoryAfterLoad?.heapTotal)} MB, Buffers ${mb(L.memoryAfterLoad?.arrayBuffers)} MB)` : ''}, peak ${mb(L.peakRss)} MB (target <= 300 MB)`);
  }
  const noise = median(results.phases.flatMap((p) => Object.values(p.runs).flat().map((r) => r.otherCpuShare)));
  if (noise !== undefined && noise > 0.25) {
    out.push(`WARNING: other processes used a median ${noise.toFixed(2)} cores during the runs (column 'noise'); on this ${results.machine.cpus}-core machine the figures are noisy: compare servers within a phase, not across runs`);
  }
  if (results.crossCheck) out.push(`Answer cross-check Beacon vs NSD: ${results.crossCheck.same}/${results.crossCheck.checked} identical answer sets and rcodes`);
  return out;
}

try {
  const t0 = Date.now();
  await main();
  results.elapsedSeconds = (Date.now() - t0) / 1000;
} catch (e) {
  results.error = String(e?.stack ?? e);
  console.error(`\n*** bench failed: ${results.error}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
results.summary = summaryLines();
console.log(`\nBeacon DNS benchmark (${results.startedAt}, node ${process.version}, ${results.machine.cpus} CPUs, dnsperf ${dnsperf ?? 'MISSING'}, NSD ${nsd ?? 'MISSING'}; medians of ${opts.mainRounds} rounds (UDP throughput) or ${opts.rounds} (other phases))`);
console.log(`registry ${opts.services} x ${opts.instances}; dnsperf -c ${opts.clients}; ${opts.seconds} s throughput runs, ${opts.shortSeconds} s others\n`);
if (results.phases.length) console.log(formatTable(results.phases));
console.log('');
for (const l of results.summary) console.log(`* ${l}`);
for (const n of results.notes) console.log(`! ${n}`);
const stamp = results.startedAt.replace(/[:.]/g, '-');
const outFile = opts.out ?? join(outDir, `bench-${stamp}.json`);
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
// An explicit --out (the smoke test) leaves bench-results/latest.json to real runs.
if (!opts.out) writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nJSON: ${outFile}${results.elapsedSeconds ? ` (run took ${Math.round(results.elapsedSeconds)} s)` : ''}`);
