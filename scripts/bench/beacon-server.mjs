// The Beacon side of the benchmark, run as a child process: builds the bench data set into a real
// ServiceRegistry, serves it with startDnsServer on 127.0.0.1, and obeys control messages over IPC:
//   { op: 'churn', rate, durationMs, probeEvery } -> applies `rate` changes per second (health flips and
//       re-registrations) and probes staleness; replies { event: 'churn-done', ... }
//   { op: 'stats' } -> { event: 'stats', rss, heapUsed, server }
//   { op: 'profile-start' } / { op: 'profile-stop', file } -> CPU profile of the window in between
//   { op: 'exit' } -> closes the server and exits (so that --cpu-prof writes its profile).
// Usage: node beacon-server.mjs --services N --instances M [--port P] [--workers N] [--udp-transport auto|batched|dgram]
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
// UDP transport: auto (batched where the native addon loads), batched or dgram.
const udpTransport = arg('--udp-transport', 'auto');

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
  // In worker mode, `exclusive: false` lets node:cluster workers share the primary's socket and listener.
  const server = await startDnsServer({ view, domain, listen: [{ host: '127.0.0.1', port }], zones: [], answerTtl, negativeTtl: answerTtl, exclusive: !cluster.isWorker, udpTransport });
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

  const controlRtt = [];
  async function probeUntil(t0, name, type, ok) {
    // A query for a name no change touches, sent alongside: its round trip is the queueing delay under
    // load, so staleness minus this is what the cache itself adds.
    const c0 = performance.now();
    probe.query(udpPort, `b._dns-sd._udp.${domain}`, 'PTR', 1000).then((r) => { if (r) controlRtt.push(performance.now() - c0); });
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
  // Put every instance back as it was (healthy, original metadata) so later phases see the same data.
  for (const svc of dataset.services) {
    for (const inst of svc.instances) {
      const rec = registry.get(svc.name, inst.id);
      if (rec?.health !== 'healthy' || rec.spec.metadata.rev !== undefined) registry.register(svc.name, toInstance(inst));
    }
  }
  probe.close();
  return {
    event: 'churn-done', applied, flips, reregistrations: reregs, elapsedMs, ratePerSecond: applied / (elapsedMs / 1000),
    mutationMsTotal: mutationMs, mutationUsPerChange: applied ? (mutationMs * 1000) / applied : 0,
    stalenessMs: summarize(staleness), controlRttMs: summarize(controlRtt), staleFirstAnswers: staleFirst, probeFailures,
  };
}

/** The kind of a query-file line, as dataset.mjs wrote it. */
function queryKind(name, type) {
  if (/^(_nosuch-|ghost-)/.test(name)) return 'NXDOMAIN';
  if (name.includes('._sub.')) return 'subtype PTR';
  if (name.includes('.addr.')) return 'target A';
  const service = name.startsWith('_');
  return `${service ? 'service' : 'instance'} ${type}`;
}

/**
 * In-process cost of the request handler, free of socket and scheduling noise: microseconds per call of
 * `handler.handle()` on a cache hit and on a miss (the cache emptied before each call), per query kind.
 * Reaches into the handler's private `cache` (bench only) to force misses.
 */
async function handlerBench(state, { queryFile, msPerKind = 300 }) {
  const { readFileSync } = await import('node:fs');
  const { default: dnsPacket } = await import('dns-packet');
  const handler = state.server.handler;
  const byKind = new Map();
  const lines = [...new Set(readFileSync(queryFile, 'utf8').split('\n').filter(Boolean))].slice(0, 20_000);
  for (const line of lines) {
    const [name, type] = line.split(' ');
    const kind = queryKind(name, type);
    const list = byKind.get(kind) ?? [];
    if (list.length < 2000) list.push(dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] }));
    byKind.set(kind, list);
  }
  const time = (msgs, before) => {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < msPerKind) {
      for (let i = 0; i < msgs.length; i += 1) {
        before?.();
        handler.handle(msgs[i], 'udp');
      }
      n += msgs.length;
      t = performance.now();
    }
    return ((t - t0) * 1000) / n;
  };
  const out = {};
  const cache = handler.cache;
  for (const [kind, msgs] of byKind) {
    for (let r = 0; r < 12; r += 1) for (const m of msgs) handler.handle(m, 'udp'); // fill every rotation step
    const hitUs = time(msgs);
    const missUs = cache && typeof cache.clear === 'function' ? time(msgs, () => cache.clear()) : undefined;
    out[kind] = { queries: msgs.length, hitUs, missUs, replyBytes: handler.handle(msgs[0], 'udp')?.length };
  }
  for (const msgs of byKind.values()) for (const m of msgs) handler.handle(m, 'udp'); // leave the cache warm
  return { event: 'handler-bench', kinds: out };
}

// CPU profiling of a chosen window (the load, not start-up) through the inspector: the same V8 sampler
// as `node --cpu-prof`, written as a .cpuprofile that scripts/bench/profile-summary.mjs reads.
let inspectorSession;
function post(method, params) {
  return new Promise((resolve, reject) => inspectorSession.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
}
async function profileStart() {
  const { Session } = await import('node:inspector');
  inspectorSession = new Session();
  inspectorSession.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return { event: 'profiling' };
}
async function profileStop(file) {
  const { profile } = await post('Profiler.stop');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, JSON.stringify(profile));
  inspectorSession.disconnect();
  return { event: 'profile', file };
}

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
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
  report({ event: 'ready', port: addrs.udp[0].port, tcpPort: addrs.tcp[0].port, pid: process.pid, pids: [process.pid], buildMs: state.buildMs, startMs: state.startMs, udpTransport: state.server.udpTransport, udpTransportReason: state.server.udpTransportReason, ...memory() });
  process.on('message', async (m) => {
    try {
      if (m?.op === 'churn') report(await churn(state, m));
      else if (m?.op === 'handler-bench') report(await handlerBench(state, m));
      else if (m?.op === 'profile-start') report(await profileStart());
      else if (m?.op === 'profile-stop') report(await profileStop(m.file));
      else if (m?.op === 'stats') {
        if (typeof globalThis.gc === 'function') globalThis.gc();
        // `udp`: the batched transport's counters (batches, so datagrams per batch), absent on dgram.
        report({ event: 'stats', ...memory(), server: typeof state.server.stats === 'function' ? state.server.stats() : undefined, udp: state.server.udpCounters?.() });
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
