// Memory of the response cache: builds a registry of SERVICES x INSTANCES (default 10,000 x 10), serves it
// in-process (no sockets: handler.handle), asks QUESTIONS distinct questions (default 100,000: 10% service
// SRV, then instance SRV, instance TXT and SRV-target A in turn), then collects garbage and prints RSS and
// heap at ready and after the questions.
// Usage: npm run build && node --expose-gc scripts/bench/cache-memory.mjs [--services N --instances M --questions Q]
//   [--snapshot FILE]
import v8 from 'node:v8';
import { buildDataset, serviceFqdn, instanceFqdn, defaultDeriveTarget } from './dataset.mjs';

const dist = new URL('../../dist/', import.meta.url);
const { ServiceRegistry } = await import(new URL('registry/registry.js', dist).href);
const { ServiceInstance } = await import(new URL('registry/types.js', dist).href);
const { createRegistryView } = await import(new URL('dns/registry-view.js', dist).href);
const { startDnsServer } = await import(new URL('dns/server.js', dist).href);

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return Number(i >= 0 ? process.argv[i + 1] : fallback);
}
const services = arg('--services', 10_000);
const instances = arg('--instances', 10);
const questions = arg('--questions', 100_000);
if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(1);
}

function query(name, type, id) {
  const labels = name.replace(/\.$/, '').split('.');
  const parts = [Buffer.alloc(12)];
  parts[0].writeUInt16BE(id & 0xffff, 0);
  parts[0].writeUInt16BE(0x0100, 2);
  parts[0].writeUInt16BE(1, 4);
  for (const l of labels) {
    const b = Buffer.from(l, 'utf8');
    parts.push(Buffer.from([b.length]), b);
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  parts.push(tail);
  return Buffer.concat(parts);
}

/** Memory after full collections, with a pause between them so V8 can give freed pages back. */
async function memory() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const m = process.memoryUsage();
  if (process.argv.includes('--spaces')) {
    for (const sp of v8.getHeapSpaceStatistics()) console.error(sp.space_name, Math.round(sp.space_size / 2 ** 20), 'MB size', Math.round(sp.space_used_size / 2 ** 20), 'MB used');
  }
  return { rssMB: +(m.rss / 2 ** 20).toFixed(1), heapUsedMB: +(m.heapUsed / 2 ** 20).toFixed(1), heapTotalMB: +(m.heapTotal / 2 ** 20).toFixed(1), mallocedMB: +(v8.getHeapStatistics().malloced_memory / 2 ** 20).toFixed(1), externalMB: +(m.external / 2 ** 20).toFixed(1), arrayBuffersMB: +(m.arrayBuffers / 2 ** 20).toFixed(1) };
}

const domain = 'local.';
const dataset = buildDataset({ services, instances, domain });
const registry = new ServiceRegistry({ defaultTtlMs: 86_400_000, deregisterCriticalAfterMs: 86_400_000 });
for (const svc of dataset.services) {
  for (const inst of svc.instances) {
    let si = new ServiceInstance(inst.id, inst.address, inst.port).withTags(inst.tags).withWeight(inst.weight).withPriority(inst.priority);
    for (const [k, v] of Object.entries(inst.metadata)) si = si.withMetadata(k, v);
    registry.register(svc.name, si);
  }
}
const view = createRegistryView(registry);
const server = await startDnsServer({ view, domain, listen: [{ host: '127.0.0.1', port: 0 }], zones: [], cacheEntries: Math.max(questions, 100_000) });
const ready = await memory();

// The questions: every service's SRV first (up to 10%), then instance SRV, instance TXT, target A in turn.
// Made one at a time, so the harness holds no list of them while the cache is measured.
const serviceQuestions = Math.min(services, Math.floor(questions / 10));
const totalInstances = services * instances;
function question(i) {
  if (i < serviceQuestions) return [serviceFqdn(dataset.services[i], domain), 33];
  const k = i - serviceQuestions;
  const n = Math.floor(k / 3) % totalInstances;
  const svc = dataset.services[Math.floor(n / instances)];
  const inst = svc.instances[n % instances];
  const kind = k % 3;
  if (kind === 0) return [instanceFqdn(svc, inst, domain), 33];
  if (kind === 1) return [instanceFqdn(svc, inst, domain), 16];
  return [defaultDeriveTarget(inst.address, domain), 1];
}
let answered = 0;
let bytes = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < questions; i++) {
  const [name, type] = question(i);
  const reply = server.handler.handle(query(name, type, i), 'udp');
  if (reply && reply.readUInt16BE(6) > 0) answered++;
  bytes += reply?.length ?? 0;
}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const after = await memory();
const stats = server.stats();
console.log(JSON.stringify({ services, instances, questions, answered, replyBytesMean: +(bytes / questions).toFixed(1), fillMs: Math.round(ms), cached: stats.cacheEntries, cacheBytesMB: +(stats.cacheBytes / 2 ** 20).toFixed(1), ready, after, perQuestionBytes: Math.round(((after.rssMB - ready.rssMB) * 2 ** 20) / questions) }, null, 1));
// --snapshot FILE: a heap snapshot with the cache full, for Chrome DevTools' Memory tab.
const snapshotAt = process.argv.indexOf('--snapshot');
if (snapshotAt >= 0) v8.writeHeapSnapshot(process.argv[snapshotAt + 1]);
await server.close();
