// The registration-cost phase: what one registration costs the daemon's CPU, without DNS load. The daemon
// (SQLite, 1 process) holds a small data set (seeded into its database); `clients` concurrent clients then
// register `total` new instances over the control socket, one connection per request like the CLI's
// ControlClient (or, with `keepAlive`, each client over one persistent connection), spread over the data
// set's services. With `pin` the daemon runs on CPU 1 and this driver on CPU 0: the figure then varies
// much less from round to round (an unpinned daemon shares both cores with its 50 clients). Reported per round: the daemon's CPU time (its whole
// process tree, from /proc) per acknowledged registration, registrations/s and the cores the daemon used.
// With `compareCli` (another build's dist/cli/main.js) rounds alternate between this build and that one,
// each round on a fresh daemon, and the medians are compared within the run.
import { cpus } from 'node:os';
import { KeepAliveConnection, register, registerKeepAlive, registrationBody, runClients } from './control.mjs';
import { startDaemon } from './daemon.mjs';
import { cpuSeconds, pinToCpu } from './proc.mjs';

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? undefined : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One round on a fresh daemon (`cli`: undefined for this build). Resolves `{ msPerRegistration, perSecond, cores, acknowledged, errors }`. */
async function round({ cli, store, extraArgs, services, instances, clients, total, warmup, keepAlive, pin }) {
  const seed = Array.from({ length: services }, (_, i) => ({ name: `svc${i}`, count: instances, prefix: `seed${i}` }));
  const daemon = await startDaemon({ store, extraArgs, seed, ...(cli === undefined ? {} : { cli }) });
  if (pin) {
    pinToCpu(daemon.pids(), 1);
    pinToCpu([process.pid], 0);
  }
  try {
    const job = (k) => keepAlive
      ? (client) => registerKeepAlive((client.connection ??= new KeepAliveConnection(daemon.socketPath)), `svc${k % services}`, `burst-${k}`, registrationBody(k))
      : () => register(daemon.socketPath, `svc${k % services}`, `burst-${k}`, registrationBody(k));
    // A first batch warms the daemon's JIT and caches: its cost is not a steady registration's.
    if (warmup > 0) await runClients(Array.from({ length: warmup }, (_, k) => job(1_000_000 + k)), { clients });
    const jobs = Array.from({ length: total }, (_, k) => job(k));
    const cpu0 = cpuSeconds(daemon.pids());
    const run = await runClients(jobs, { clients });
    const cpu = cpuSeconds(daemon.pids()) - cpu0;
    const acknowledged = run.results.filter((r) => r.ok).length;
    return {
      msPerRegistration: acknowledged ? (cpu * 1000) / acknowledged : undefined,
      perSecond: acknowledged / run.seconds,
      cores: cpu / run.seconds,
      acknowledged,
      errors: run.results.length - acknowledged,
    };
  } finally {
    if (pin) pinToCpu([process.pid], `0-${cpus().length - 1}`);
    await daemon.stop();
  }
}

/**
 * Run `rounds` rounds (alternating with `compareCli`'s build when given). Resolves `{ rounds: [{ build,
 * ...round }], median: { this, other? }, ratio? }`; `ratio` is this build's median ms/registration over the
 * other's (below 1: cheaper).
 */
export async function runRegistrationCost({ store = 'sqlite', extraArgs = [], services = 50, instances = 3, clients = 50, total = 3000, warmup = 1000, rounds = 3, compareCli, keepAlive = false, pin = false, log = () => {} }) {
  const results = [];
  const builds = compareCli === undefined ? [['this', undefined]] : [['this', undefined], ['other', compareCli]];
  for (let i = 0; i < rounds; i++) {
    // Alternate which build goes first, so neither always runs on the warmer machine.
    const order = i % 2 === 0 ? builds : [...builds].reverse();
    for (const [build, cli] of order) {
      const r = await round({ cli, store, extraArgs, services, instances, clients, total, warmup, keepAlive, pin });
      results.push({ build, ...r });
      log(`  ${build === 'this' ? 'this build ' : 'other build'}: ${r.acknowledged}/${total} in ${(r.acknowledged / r.perSecond).toFixed(2)} s = ${r.perSecond.toFixed(0)}/s, daemon CPU ${r.msPerRegistration?.toFixed(3) ?? '-'} ms/registration (${r.cores.toFixed(2)} cores)${r.errors ? `, errors ${r.errors}` : ''}`);
    }
  }
  const of = (build) => median(results.filter((r) => r.build === build && r.msPerRegistration !== undefined).map((r) => r.msPerRegistration));
  const mine = of('this');
  const other = compareCli === undefined ? undefined : of('other');
  return { rounds: results, median: { this: mine, ...(other === undefined ? {} : { other }) }, ...(other ? { ratio: mine / other } : {}) };
}
