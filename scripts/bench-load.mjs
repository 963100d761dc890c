#!/usr/bin/env node
// Deploy-day load against the real daemon (`beacon serve`, driven over DNS and the control socket only):
//   burst        registrations from many clients while dnsperf queries DNS, 1 process and --workers N
//   big-service  registration rate into a huge service vs a small one, filling one service, and the
//                UDP/TCP answers (size, latency, rotation coverage) for SRV, A and PTR of a large service
//   registration-cost (only when asked for) daemon CPU per registration over the control socket, no DNS
//                load; with --cost-compare PATH, alternating with another build's dist/cli/main.js
//   memory       (only when asked for) the daemon's RSS with 100,000 instances and 100,000 distinct questions
//                cached, read from /proc with no collection forced (BENCH_DAEMON_CLI: another build's)
// Usage: npm run bench:load [-- --quick] [--phases burst,big-service] [options below]
// Writes bench-results/load-<time>.json and bench-results/load-latest.json. See scripts/bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runBigService } from './bench/big-service.mjs';
import { runBurst } from './bench/burst.mjs';
import { runDaemonMemory } from './bench/daemon-memory.mjs';
import { runRegistrationCost } from './bench/registration-cost.mjs';
import { dnsperfVersion } from './bench/dnsperf.mjs';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    phases: { type: 'string', default: 'burst,big-service' },
    workers: { type: 'string', default: '1,2' },
    store: { type: 'string', default: 'sqlite' },
    'serve-args': { type: 'string', default: '' },
    services: { type: 'string' },
    instances: { type: 'string' },
    'burst-clients': { type: 'string' },
    'burst-total': { type: 'string' },
    'before-seconds': { type: 'string' },
    'max-burst-seconds': { type: 'string' },
    'probe-rate': { type: 'string' },
    'dnsperf-clients': { type: 'string' },
    'dnsperf-qps': { type: 'string' },
    pin: { type: 'boolean', default: false },
    'burst-rate': { type: 'string' },
    'control-ceiling': { type: 'boolean', default: false },
    'keep-alive': { type: 'boolean', default: false },
    'big-instances': { type: 'string' },
    'small-instances': { type: 'string' },
    'seq-count': { type: 'string' },
    'conc-count': { type: 'string' },
    'write-clients': { type: 'string' },
    'write-seconds': { type: 'string' },
    'fill-instances': { type: 'string' },
    'fill-seconds': { type: 'string' },
    'answer-instances': { type: 'string' },
    'max-queries': { type: 'string' },
    'cost-total': { type: 'string' },
    'cost-rounds': { type: 'string' },
    'cost-compare': { type: 'string' },
    'memory-services': { type: 'string' },
    'memory-instances': { type: 'string' },
    'memory-questions': { type: 'string' },
    'memory-load': { type: 'string', default: 'seed' },
    'memory-quiet': { type: 'string' },
    out: { type: 'string' },
  },
});

const quick = flags.quick;
/** A numeric flag, else its full-size default, else its --quick default. */
const num = (name, full, small) => (flags[name] !== undefined ? Number(flags[name]) : quick ? small : full);
const serveArgs = flags['serve-args'].split(/\s+/).filter(Boolean);

const burstOptions = {
  store: flags.store,
  extraArgs: serveArgs,
  services: num('services', 50, 20),
  instances: num('instances', 3, 3),
  clients: num('burst-clients', 50, 50),
  total: num('burst-total', 1000, 300),
  beforeSeconds: num('before-seconds', 5, 2),
  maxBurstSeconds: num('max-burst-seconds', 120, 20),
  probeRate: num('probe-rate', 2000, 2000),
  dnsperfClients: num('dnsperf-clients', 10, 10),
  dnsperfQps: num('dnsperf-qps', 0, 0),
  pin: flags.pin,
  rate: num('burst-rate', 0, 0),
  keepAlive: flags['keep-alive'],
  queryLines: 20000,
};
const bigOptions = {
  store: flags.store,
  extraArgs: serveArgs,
  bigInstances: num('big-instances', 50_000, 2_000),
  smallInstances: num('small-instances', 10, 10),
  seqCount: num('seq-count', 50, 10),
  concCount: num('conc-count', 500, 100),
  writeClients: num('write-clients', 50, 50),
  writeSeconds: num('write-seconds', 30, 3),
  fillInstances: num('fill-instances', 100_000, 1_000),
  fillSeconds: num('fill-seconds', 180, 8),
  answerInstances: num('answer-instances', 5_000, 2_000),
  maxQueries: num('max-queries', 300, 100),
};

const costOptions = {
  store: flags.store,
  extraArgs: serveArgs,
  services: num('services', 50, 20),
  instances: num('instances', 3, 3),
  clients: num('burst-clients', 50, 50),
  total: num('cost-total', 10000, 1000),
  warmup: Math.round(num('cost-total', 10000, 1000) / 3),
  rounds: num('cost-rounds', 3, 1),
  keepAlive: flags['keep-alive'],
  pin: flags.pin,
  ...(flags['cost-compare'] === undefined ? {} : { compareCli: flags['cost-compare'] }),
};

const memoryOptions = {
  services: num('memory-services', 10_000, 1_000),
  instances: num('memory-instances', 10, 10),
  questions: num('memory-questions', 100_000, 10_000),
  load: flags['memory-load'],
  quietSeconds: num('memory-quiet', 0, 0),
};

const version = dnsperfVersion();
const phases = new Set(flags.phases.split(','));
if (phases.has('burst') && version === undefined) {
  console.error('bench-load: dnsperf is not installed (apt-get install -y dnsperf)');
  process.exit(1);
}

const log = (line) => process.stdout.write(`${line}\n`);
const f = (v, d = 0) => (v === undefined || Number.isNaN(v) ? '-' : Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const result = { startedAt: new Date().toISOString(), argv: process.argv.slice(2), quick, cpus: os.cpus().length, dnsperf: version, burst: [], bigService: undefined, registrationCost: undefined, memory: undefined };

if (phases.has('burst')) {
  // With --control-ceiling, each process count runs twice: the daemon's burst, then the same burst sent to the
  // control ceiling (scripts/bench/control-ceiling.mjs) while the daemon answers DNS.
  const runs = flags.workers.split(',').map(Number).flatMap((workers) => (flags['control-ceiling'] ? [[workers, false], [workers, true]] : [[workers, false]]));
  for (const [workers, ceiling] of runs) {
    const offered = (burstOptions.rate > 0 ? `, ${f(burstOptions.rate)} registrations/s offered` : '') + (burstOptions.keepAlive ? ', keep-alive clients' : '');
    log(`burst, ${workers === 1 ? '1 process' : `--workers ${workers}`} (${burstOptions.services}x${burstOptions.instances} data set)${offered}${burstOptions.pin && workers === 1 ? ', daemon pinned to CPU 1, load tools to CPU 0' : ''}${ceiling ? ': CONTROL CEILING, registrations to a no-op HTTP server, DNS from the daemon' : ''}`);
    const r = await runBurst({ ...burstOptions, workers, ceiling, log });
    result.burst.push(r);
    const reg = r.registrations;
    log(`  DNS qps before ${f(r.before.qps)}, during ${f(r.during.qps)}: ratio ${f(r.qpsRatio, 3)}; the second after the burst ${f(r.after.qps)} (${f(r.after.qps / r.before.qps, 3)} of before: DNS alone over the grown data set)`);
    log(`  probe ${burstOptions.probeRate} q/s: p99 before ${f(r.before.probe.p99Ms, 1)} ms, during ${f(r.during.probe.p99Ms, 1)} ms (with lost ${f(r.during.probe.p99WithLostMs, 1)}), max ${f(r.during.probe.maxMs, 1)} ms, lost ${r.during.probe.lost}/${r.during.probe.sent}`);
    log(`  longest gap between probe replies (outside view of the longest stall): before ${f(r.before.probe.maxReplyGapMs, 1)} ms, during ${f(r.during.probe.maxReplyGapMs, 1)} ms`);
    log(`  registrations: ${reg.acknowledged}/${burstOptions.total} acknowledged in ${f(reg.seconds, 2)} s = ${f(reg.perSecond)}/s, p50 ${f(reg.p50Ms, 1)} ms, p99 ${f(reg.p99Ms, 1)} ms, max ${f(reg.maxMs, 1)} ms, errors ${reg.errors} ${reg.errors ? JSON.stringify(reg.errorCodes) : ''}, lost ${r.lost ?? '- (nothing registered)'}`);
    log(`  load driver (the ${burstOptions.clients} clients, one process): ${f(r.driver.cores, 2)} cores, event-loop delay p50 ${f(r.driver.loopDelayP50Ms, 1)} ms, max ${f(r.driver.loopDelayMaxMs, 1)} ms`);
    if (r.daemonMaxStallMs) log(`  daemon's own longest event-loop stall (/v1/stats): ${f(r.daemonMaxStallMs.before, 1)} ms in the before window (DNS load alone), ${f(r.daemonMaxStallMs.after, 1)} ms during the burst`);
    log(`  host floor, a node loop doing nothing beside them: its longest stall ${f(r.floorMaxStallMs.before, 1)} ms in the before window, ${f(r.floorMaxStallMs.after, 1)} ms during the burst`);
    const share = r.dnsFirst?.during;
    if (share) log(`  DNS answered between control steps (dns-first): ${f(share.share * 100, 1)}% of ${f(share.received)} queries read during the burst (${f(share.steps)} steps, ${f(share.skipped)} skipped: turn budget spent); datagrams per recvmmsg ${f(r.dnsFirst.before?.perBatch, 1)} before, ${f(share.perBatch, 1)} during`);
    if (r.dnsLoopMaxStallMs) log(`  longest stall of the loop answering DNS (workers' reports): ${f(r.dnsLoopMaxStallMs.before, 1)} ms in the before window, ${f(r.dnsLoopMaxStallMs.after, 1)} ms during the burst and the 2 s after`);
    const ceilingCores = r.ceiling ? `, control ceiling ${f(r.during.cpu.ceilingCores, 2)}` : '';
    log(`  cores during: daemon ${f(r.during.cpu.daemonCores, 2)}, load tools ${f(r.during.cpu.loadToolCores, 2)}${ceilingCores}, other ${f(r.during.cpu.otherCores, 2)} (before: other ${f(r.before.cpu.otherCores, 2)})`);
  }
}

if (phases.has('big-service')) {
  log(`big service (${bigOptions.bigInstances} vs ${bigOptions.smallInstances} instances; fill ${bigOptions.fillInstances}; answers for ${bigOptions.answerInstances})`);
  result.bigService = await runBigService({ ...bigOptions, log });
}

if (phases.has('registration-cost')) {
  log(`registration cost, 1 process, no DNS load (${costOptions.services}x${costOptions.instances} data set, ${costOptions.clients} clients x ${costOptions.total} registrations, ${costOptions.rounds} round(s)${costOptions.keepAlive ? ', keep-alive clients' : ', a connection each'}${costOptions.pin ? ', daemon pinned to CPU 1' : ''}${costOptions.compareCli ? `, alternating with ${costOptions.compareCli}` : ''})`);
  const r = await runRegistrationCost({ ...costOptions, log });
  result.registrationCost = r;
  log(`  median daemon CPU: this build ${f(r.median.this, 3)} ms/registration${r.median.other === undefined ? '' : `, other build ${f(r.median.other, 3)} ms/registration: ratio ${f(r.ratio, 3)}`}`);
}

if (phases.has('memory')) {
  log(`memory, 1 process (${memoryOptions.services}x${memoryOptions.instances} ${memoryOptions.load === 'api' ? 'registered over the control socket' : 'seeded'}, ${memoryOptions.questions} distinct questions over UDP; RSS from /proc, no collection forced)`);
  result.memory = await runDaemonMemory({ ...memoryOptions, extraArgs: serveArgs, log });
}

mkdirSync('bench-results', { recursive: true });
const out = flags.out ?? `bench-results/load-${result.startedAt.replace(/[:.]/g, '-')}.json`;
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync('bench-results/load-latest.json', `${JSON.stringify(result, null, 2)}\n`);
log(`wrote ${out}`);
