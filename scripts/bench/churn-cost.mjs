// In-process cost of a registry change, free of socket and scheduling noise: the bench data set served by
// the request handler (no packets), the dnsperf query mix answered `--per-change` queries per change, with
// changes (alternating health flips and re-registrations, as the churn phase) and without. Reports the time
// per change all included (the registry call, its listeners and the misses it causes), the registry call
// alone, and cache entries dropped and misses per change; medians of `--rounds`.
// Usage: node scripts/bench/churn-cost.mjs [--dist DIR] [--services 50] [--instances 3] [--changes 2000]
//        [--per-change 200] [--rounds 7]
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import dnsPacket from 'dns-packet';
import { buildDataset, buildQueryFile, seededRandom } from './dataset.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const dist = pathToFileURL(resolve(arg('--dist', new URL('../../dist/', import.meta.url).pathname)) + '/').href;
const services = Number(arg('--services', '50'));
const instances = Number(arg('--instances', '3'));
const changes = Number(arg('--changes', '2000'));
const perChange = Number(arg('--per-change', '200'));
const rounds = Number(arg('--rounds', '7'));

const { ServiceRegistry } = await import(new URL('registry/registry.js', dist).href);
const { ServiceInstance } = await import(new URL('registry/types.js', dist).href);
const { createRegistryView } = await import(new URL('dns/registry-view.js', dist).href);
const { startDnsServer } = await import(new URL('dns/server.js', dist).href);
const { defaultDeriveTarget } = await import('./dataset.mjs');

function toInstance(inst, rev) {
  let si = new ServiceInstance(inst.id, inst.address, inst.port).withTags(inst.tags).withWeight(inst.weight).withPriority(inst.priority);
  for (const [k, v] of Object.entries(inst.metadata)) si = si.withMetadata(k, v);
  if (rev !== undefined) si = si.withMetadata('rev', String(rev));
  return si;
}

const dataset = buildDataset({ services, instances, domain: 'local.' });
const registry = new ServiceRegistry({ defaultTtlMs: 86_400_000, deregisterCriticalAfterMs: 86_400_000 });
for (const svc of dataset.services) for (const inst of svc.instances) registry.register(svc.name, toInstance(inst));
const view = createRegistryView(registry);
const server = await startDnsServer({ view, domain: 'local.', listen: [{ host: '127.0.0.1', port: 0 }], zones: [], answerTtl: 5, negativeTtl: 5, udpTransport: 'dgram' });
const handler = server.handler;
const lines = buildQueryFile(dataset, { lines: Math.max(10_000, services * instances * 2), seed: 1, deriveTarget: defaultDeriveTarget }).text.split('\n').filter(Boolean);
const queries = lines.map((line) => {
  const [name, type] = line.split(' ');
  return dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
});
let q = 0;
const answer = (n) => {
  for (let i = 0; i < n; i += 1) {
    handler.handle(queries[q], 'udp');
    q = (q + 1) % queries.length;
  }
};
for (let r = 0; r < 3; r += 1) answer(queries.length); // warm: every name cached, the JIT settled

const rand = seededRandom(7);
let applied = 0;
let rev = 0;
function changeOne() {
  const svc = dataset.services[Math.floor(rand() * dataset.services.length)];
  const inst = svc.instances[Math.floor(rand() * svc.instances.length)];
  if (applied % 2 === 0) {
    const healthy = registry.get(svc.name, inst.id)?.health === 'healthy';
    registry.updateHealth(svc.name, inst.id, healthy ? 'unhealthy' : 'healthy');
  } else {
    rev += 1;
    registry.register(svc.name, toInstance(inst, rev));
  }
  applied += 1;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quiet = [];
const churned = [];
const call = [];
const dropped = [];
const missed = [];
for (let r = 0; r < rounds; r += 1) {
  let t0 = performance.now();
  for (let c = 0; c < changes; c += 1) answer(perChange);
  quiet.push(performance.now() - t0);
  const before = server.stats();
  let inCall = 0;
  t0 = performance.now();
  for (let c = 0; c < changes; c += 1) {
    const c0 = performance.now();
    changeOne();
    inCall += performance.now() - c0;
    answer(perChange);
  }
  churned.push(performance.now() - t0);
  call.push((inCall * 1000) / changes);
  const after = server.stats();
  dropped.push((after.cacheInvalidations - before.cacheInvalidations) / changes);
  missed.push((after.cacheMisses - before.cacheMisses) / changes);
}
const perChangeUs = churned.map((ms, i) => ((ms - quiet[i]) * 1000) / changes);
await server.close();
view.dispose();
console.log(JSON.stringify({
  dist: dist.replace(/^file:\/\//, ''), services, instances, changes, perChange, rounds,
  usPerChangeAllIncluded: +median(perChangeUs).toFixed(1),
  usPerRegistryCall: +median(call).toFixed(1),
  droppedPerChange: +median(dropped).toFixed(2),
  missesPerChange: +median(missed).toFixed(2),
  usPerQueryQuiet: +((median(quiet) * 1000) / (changes * perChange)).toFixed(3),
}));
