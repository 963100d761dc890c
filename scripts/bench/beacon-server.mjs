// The Beacon side of the benchmark, run as a child process: builds the bench data set into a real
// ServiceRegistry, serves it with startDnsServer on 127.0.0.1, and obeys control messages over IPC:
//   { op: 'churn', rate, durationMs, probeEvery } -> applies `rate` changes per second (health flips and
//       re-registrations) and probes staleness; replies { event: 'churn-done', ... }
//   { op: 'stats' } -> { event: 'stats', rss, heapUsed, server }
//   { op: 'exit' } -> closes the server and exits (so that --cpu-prof writes its profile).
// Usage: node beacon-server.mjs --services N --instances M [--port P] [--workers N]
// With --workers N > 1, node:cluster workers each hold a copy of the (static) registry and share the sockets.
import cluster from 'node:cluster';
import { performance } from 'node:perf_hooks';
import { buildDataset, seededRandom, instanceFqdn } from './dataset.mjs';
import { createProbeClient } from './probe.mjs';

const dist = new URL('../../dist/', import.meta.url);
const { ServiceRegistry } = await import(new URL('registry/registry.js', dist).href);
const { ServiceInstance } = await import(new URL('registry/types.js', dist).href);
const { createRegistryView } = await import(new URL('dns/registry-view.js', dist).href);
const { startDnsServer } = await import(new URL('dns/server.js', dist).href);

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const services = Number(arg('--services', '50'));
const instances = Number(arg('--instances', '3'));
const port = Number(arg('--port', '0'));
const workers = Number(arg('--workers', '1'));
const domain = arg('--domain', 'local.');
const answerTtl = Number(arg('--answer-ttl', '5'));

function report(message) {
  if (process.send) process.send(message);
  else console.log(JSON.stringify(message));
}

/** A ServiceInstance for one data-set instance; `rev` is bumped by re-registrations during churn. */
function toInstance(inst, rev) {
  let si = new ServiceInstance(inst.id, inst.address, inst.port)
    .withTags(inst.tags).withWeight(inst.weight).withPriority(inst.priority);
  for (const [k, v] of Object.entries(inst.metadata)) si = si.withMetadata(k, v);
  if (rev !== undefined) si = si.withMetadata('rev', String(rev));
  return si;
}

/** Build the registry and start the DNS server; resolves with what the churn loop needs. */
async function startBeacon() {
  const t0 = performance.now();
  const dataset = buildDataset({ services, instances, domain });
  // A day-long heartbeat TTL: nothing expires during the run (nothing calls cleanupExpired anyway).
  const registry = new ServiceRegistry({ defaultTtlMs: 86_400_000, deregisterCriticalAfterMs: 86_400_000 });
  for (const svc of dataset.services) {
    for (const inst of svc.instances) registry.register(svc.name, toInstance(inst));
  }
  const buildMs = performance.now() - t0;
  const view = createRegistryView(registry);
  const server = await startDnsServer({ view, domain, listen: [{ host: '127.0.0.1', port }], zones: [], answerTtl, negativeTtl: answerTtl });
  return { dataset, registry, server, buildMs, startMs: performance.now() - t0 };
}

function summarize(values) {
  if (values.length === 0) return { count: 0 };
  const s = [...values].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { count: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/**
 * Apply `rate` changes per second for `durationMs`, alternating health flips and re-registrations on
 * random instances. Every `probeEvery`-th change is followed by a probe over UDP (through the same
 * socket dnsperf is loading) until the answer reflects it: the staleness is the time from just before
 * the change to the first reply that shows it.
 */
async function churn(state, { rate, durationMs, probeEvery = 50, seed = 7 }) {
  const { dataset, registry, server } = state;
  const rand = seededRandom(seed);
  const probe = createProbeClient();
  const udpPort = server.addresses.udp[0].port;
  const busy = new Set();
  const staleness = [];
  let staleFirst = 0;
  let probeFailures = 0;
  let applied = 0;
  let flips = 0;
  let reregs = 0;
  let mutationMs = 0;
  let rev = 0;
  const probes = [];
  const start = performance.now();

  async function probeUntil(t0, name, type, ok) {
    let first = true;
    while (performance.now() - t0 < 2000) {
      const reply = await probe.query(udpPort, name, type, 1000);
      if (reply && ok(reply)) {
        staleness.push(performance.now() - t0);
        return;
      }
      if (first && reply) staleFirst += 1;
      first = false;
    }
    probeFailures += 1;
  }

  function changeOne() {
    const svc = dataset.services[Math.floor(rand() * dataset.services.length)];
    const inst = svc.instances[Math.floor(rand() * svc.instances.length)];
    const key = `${svc.name}/${inst.id}`;
    if (busy.has(key)) return;
    const doProbe = (applied + 1) % probeEvery === 0;
    const name = instanceFqdn(svc, inst, domain);
    const t0 = performance.now();
    if (applied % 2 === 0) {
      const healthy = registry.get(svc.name, inst.id)?.health === 'healthy';
      registry.updateHealth(svc.name, inst.id, healthy ? 'unhealthy' : 'healthy');
      mutationMs += performance.now() - t0;
      flips += 1;
      if (doProbe) {
        busy.add(key);
        // Unhealthy: the instance name exists but has no eligible data (NODATA); healthy: one SRV.
        const want = healthy ? 0 : 1;
        probes.push(probeUntil(t0, name, 'SRV', (r) => r.answers.filter((a) => a.type === 'SRV').length === want).finally(() => busy.delete(key)));
      }
    } else {
      rev += 1;
      const myRev = rev;
      registry.register(svc.name, toInstance(inst, myRev));
      // A re-registration makes the instance healthy again: keep the flip bookkeeping honest.
      mutationMs += performance.now() - t0;
      reregs += 1;
      if (doProbe) {
        busy.add(key);
        const needle = `rev=${myRev}`;
        probes.push(probeUntil(t0, name, 'TXT', (r) => r.answers.some((a) => a.type === 'TXT'
          && (Array.isArray(a.data) ? a.data : [a.data]).some((b) => Buffer.from(b).toString() === needle))).finally(() => busy.delete(key)));
      }
    }
    applied += 1;
  }

  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      const target = Math.min(Math.floor((elapsed / 1000) * rate), Math.floor((durationMs / 1000) * rate));
      let guard = 0;
      while (applied < target && guard < rate) { changeOne(); guard += 1; }
      if (elapsed >= durationMs) { clearInterval(timer); resolve(); }
    }, 5);
  });
  const elapsedMs = performance.now() - start;
  await Promise.all(probes);
  probe.close();
  return {
    event: 'churn-done', applied, flips, reregistrations: reregs, elapsedMs, ratePerSecond: applied / (elapsedMs / 1000),
    mutationMsTotal: mutationMs, mutationUsPerChange: applied ? (mutationMs * 1000) / applied : 0,
    stalenessMs: summarize(staleness), staleFirstAnswers: staleFirst, probeFailures,
  };
}

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

if (workers > 1 && cluster.isWorker) {
  // Bench-only experiment: src/dns binds with `exclusive: true`, which keeps cluster workers from sharing
  // the primary's sockets. Drop that flag here (workers mode only) to measure what sharing would give.
  const { default: dgram } = await import('node:dgram');
  const { default: net } = await import('node:net');
  const bind = dgram.Socket.prototype.bind;
  dgram.Socket.prototype.bind = function patchedBind(opts, ...rest) {
    return bind.call(this, typeof opts === 'object' && opts ? { ...opts, exclusive: false } : opts, ...rest);
  };
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function patchedListen(opts, ...rest) {
    return listen.call(this, typeof opts === 'object' && opts ? { ...opts, exclusive: false } : opts, ...rest);
  };
}

if (workers > 1 && cluster.isPrimary) {
  // Static multi-worker mode: each worker builds its own copy; the primary relays exit.
  const pids = [];
  let readyInfo;
  cluster.on('exit', (w, code) => {
    if (pids.length < workers) {
      report({ event: 'error', message: `worker ${w.process.pid} exited (${code}) before it was ready` });
      process.exit(1);
    }
  });
  for (let i = 0; i < workers; i += 1) {
    const w = cluster.fork();
    w.on('message', (m) => {
      if (m?.event !== 'ready') return;
      pids.push(w.process.pid);
      readyInfo = m;
      if (pids.length === workers) report({ ...readyInfo, pids: [process.pid, ...pids], workers });
    });
  }
  process.on('message', (m) => {
    if (m?.op === 'exit') {
      for (const id in cluster.workers) cluster.workers[id]?.send({ op: 'exit' });
      setTimeout(() => process.exit(0), 2000).unref();
      cluster.on('exit', () => { if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0); });
    } else if (m?.op === 'stats') {
      report({ event: 'stats', ...memory(), note: 'primary only in multi-worker mode' });
    }
  });
  process.on('disconnect', () => process.exit(0));
} else {
  const state = await startBeacon();
  const addrs = state.server.addresses;
  report({ event: 'ready', port: addrs.udp[0].port, tcpPort: addrs.tcp[0].port, pid: process.pid, pids: [process.pid], buildMs: state.buildMs, startMs: state.startMs, ...memory() });
  process.on('message', async (m) => {
    try {
      if (m?.op === 'churn') report(await churn(state, m));
      else if (m?.op === 'stats') {
        if (typeof globalThis.gc === 'function') globalThis.gc();
        report({ event: 'stats', ...memory(), server: typeof state.server.stats === 'function' ? state.server.stats() : undefined });
      } else if (m?.op === 'exit') {
        await state.server.close();
        process.exit(0);
      }
    } catch (e) {
      report({ event: 'error', message: String(e?.stack ?? e) });
    }
  });
  if (!cluster.isWorker) process.on('disconnect', () => process.exit(0));
}
