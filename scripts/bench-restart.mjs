#!/usr/bin/env node
// Restart benchmark: how long a Beacon with 100,000 instances takes to come back after a restart.
//
//   npm run build && node scripts/bench-restart.mjs [--instances N] [--services S] [--runs R] [--keep]
//
// 1. Writes N instances (default 100,000, over S = 1,000 services) through SqliteStore into a temp data dir.
// 2. Starts R fresh child processes (default 3); each one times, from its own start:
//    imports -> SqliteStore.open (validation + migration check) -> store.load() -> registry.load()
//    -> DNS server bound (UDP+TCP on 127.0.0.1 port 0, if dist/dns/server.js exists) -> first UDP answer,
//    and reports its RSS. The parent also times spawn -> first answer (includes node's own start-up).
// 3. Then R times the real daemon (`beacon serve --data-dir` on the same data, if dist/cli/main.js exists):
//    spawn -> "beacon started" log line -> first UDP answer, and its RSS.
// Prints one line per run and the medians. Needs dist/ (npm run build).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchFlags } from './bench/daemon.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (path) => pathToFileURL(join(root, 'dist', path)).href;

function option(argv, name, fallback) {
  const at = argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive integer`);
  return value;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(0)} ms`;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** Parent: seed the database. Records come from a real ServiceRegistry, so they are what Beacon writes. */
async function seed(dataDir, instances, services) {
  const { ServiceRegistry } = await import(dist('registry/registry.js'));
  const { SqliteStore } = await import(dist('store/sqlite.js'));
  const registry = new ServiceRegistry();
  for (let i = 0; i < instances; i++) {
    registry.register(`svc-${i % services}`, {
      id: `instance-${i}`,
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 1024 + (i % 60000),
      tags: ['bench', i % 2 === 0 ? 'even' : 'odd'],
      metadata: { version: '1.2.3', zone: `zone-${i % 7}` },
    });
  }
  // Bulk load in one transaction, synchronous=NORMAL: this is setup, not what is measured.
  const store = await SqliteStore.openInDirectory(dataDir, { synchronous: 'normal' });
  const records = registry.records();
  await store.writeBatch(records.map((record, i) => ({ kind: 'put', index: i + 1, record })));
  await store.close();
  return { file: store.file, index: records.length };
}

/** Child: one measured restart. Prints one JSON line. */
async function child(dataDir, services) {
  const mark = () => performance.now(); // ms since this process started
  const t = { imported: 0, opened: 0, loaded: 0, registryLoaded: 0, dnsBound: 0, answered: 0 };
  const { ServiceRegistry } = await import(dist('registry/registry.js'));
  const { SqliteStore } = await import(dist('store/sqlite.js'));
  const hasDns = existsSync(join(root, 'dist/dns/server.js'));
  const dns = hasDns
    ? { ...(await import(dist('dns/server.js'))), ...(await import(dist('dns/registry-view.js'))), packet: (await import('dns-packet')).default }
    : undefined;
  t.imported = mark();

  const store = await SqliteStore.openInDirectory(dataDir);
  t.opened = mark();
  const snapshot = await store.load();
  t.loaded = mark();
  const registry = new ServiceRegistry();
  // What DurableRegistry.open does, split in two to time load() and registry.load() apart.
  registry.load(snapshot.records, snapshot.index);
  t.registryLoaded = mark();

  let answer = 'no DNS server in dist/';
  if (dns !== undefined) {
    const server = await dns.startDnsServer({ view: dns.createRegistryView(registry), listen: [{ host: '127.0.0.1', port: 0 }], zones: [] });
    t.dnsBound = mark();
    const { port } = server.addresses.udp[0];
    const name = `instance-${snapshot.records.length - 1}._svc-${(snapshot.records.length - 1) % services}._tcp.local`;
    answer = await udpQuery(dns.packet, port, name, 'SRV');
    t.answered = mark();
    await server.close();
  }
  const rss = process.memoryUsage().rss;
  const { heapUsed } = process.memoryUsage();
  await store.close();
  process.stdout.write(`${JSON.stringify({ t, records: snapshot.records.length, index: snapshot.index, answer, rss, heapUsed })}\n`);
}

async function udpQuery(packet, port, name, type) {
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DNS answer for ${name} within 5 s`)), 5_000);
      socket.on('message', (message) => {
        clearTimeout(timer);
        const reply = packet.decode(message);
        const srv = reply.answers.find((a) => a.type === type);
        resolve(srv === undefined ? `rcode ${reply.rcode}, no ${type}` : `${srv.name} ${srv.type} ${srv.data.priority} ${srv.data.weight} ${srv.data.port} ${srv.data.target}`);
      });
      socket.send(packet.encode({ type: 'query', id: 4242, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] }), port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** The real daemon: spawn `beacon serve` on the data dir and time spawn -> "beacon started" -> first UDP answer. */
async function runDaemon(dataDir, instances, services) {
  const packet = (await import('dns-packet')).default;
  const { readFileSync } = await import('node:fs');
  const started = performance.now();
  const cli = join(root, 'dist/cli/main.js');
  const proc = spawn(process.execPath, [...launchFlags(cli), cli, 'serve', '--data-dir', dataDir, '--dns-listen', '127.0.0.1:0', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BEACON_PRETTY: 'false' },
  });
  let output = '';
  proc.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  const exited = new Promise((done) => proc.once('close', done));
  try {
    const info = await new Promise((resolveStart, reject) => {
      const timer = setTimeout(() => reject(new Error(`beacon serve did not start within 30 s: ${output.slice(-1000)}`)), 30_000);
      let buffer = '';
      proc.stdout.setEncoding('utf8').on('data', (chunk) => {
        output += chunk;
        buffer += chunk;
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (!line.includes('"beacon started"')) continue;
          clearTimeout(timer);
          resolveStart(JSON.parse(line));
        }
      });
      void exited.then(() => reject(new Error(`beacon serve exited: ${output.slice(-1000)}`)));
    });
    const startedMs = performance.now() - started;
    const udp = info.dns.udp[0];
    const port = Number(udp.slice(udp.lastIndexOf(':') + 1));
    const last = instances - 1;
    const answer = await udpQuery(packet, port, `instance-${last}._svc-${last % services}._tcp.local`, 'SRV');
    const answeredMs = performance.now() - started;
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    return { startedMs, answeredMs, answer, rss };
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

function runChild(dataDir, services) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', dataDir, '--services', String(services)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child exited with ${code}`));
      resolve({ ...JSON.parse(out), wallMs: performance.now() - started });
    });
  });
}

async function main() {
  const argv = process.argv.slice(2);
  const services = option(argv, '--services', 1_000);
  if (argv[0] === '--child') return child(argv[1], services);
  if (!existsSync(join(root, 'dist/store/sqlite.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const instances = option(argv, '--instances', 100_000);
  const runs = option(argv, '--runs', 3);

  const dataDir = mkdtempSync(join(tmpdir(), 'beacon-bench-restart-'));
  try {
    const seedStart = performance.now();
    const { file } = await seed(dataDir, instances, services);
    console.log(`seeded ${instances} instances over ${services} services in ${ms(performance.now() - seedStart)}; ${file}: ${mib(statSync(file).size)}`);
    const results = [];
    for (let run = 1; run <= runs; run++) {
      const r = await runChild(dataDir, services);
      if (r.records !== instances) throw new Error(`run ${run} restored ${r.records} records, expected ${instances}`);
      results.push(r);
      const dnsPart = r.t.answered > 0 ? `, DNS bound ${ms(r.t.dnsBound - r.t.registryLoaded)}, first answer at ${ms(r.t.answered)} (spawn->answer ${ms(r.wallMs)})` : ', no DNS server';
      console.log(
        `run ${run}: imports ${ms(r.t.imported)}, open+validate ${ms(r.t.opened - r.t.imported)}, load ${ms(r.t.loaded - r.t.opened)}, ` +
          `registry.load ${ms(r.t.registryLoaded - r.t.loaded)}${dnsPart}; RSS ${mib(r.rss)}, heap ${mib(r.heapUsed)}`,
      );
      console.log(`       answer: ${r.answer}`);
    }
    const daemonRuns = [];
    if (existsSync(join(root, 'dist/cli/main.js'))) {
      for (let run = 1; run <= runs; run++) {
        const d = await runDaemon(dataDir, instances, services);
        daemonRuns.push(d);
        console.log(`beacon serve run ${run}: spawn -> "beacon started" ${ms(d.startedMs)}, spawn -> first DNS answer ${ms(d.answeredMs)}; RSS ${mib(d.rss)}`);
        console.log(`       answer: ${d.answer}`);
      }
    }
    const pick = (f) => median(results.map(f));
    console.log(
      `median of ${runs}: open+validate ${ms(pick((r) => r.t.opened - r.t.imported))}, load ${ms(pick((r) => r.t.loaded - r.t.opened))}, ` +
        `registry.load ${ms(pick((r) => r.t.registryLoaded - r.t.loaded))}, state restored at ${ms(pick((r) => r.t.registryLoaded))}, ` +
        `first DNS answer at ${ms(pick((r) => r.t.answered))} after process start (${ms(pick((r) => r.wallMs))} from spawn), RSS ${mib(pick((r) => r.rss))}`,
    );
    if (daemonRuns.length > 0) {
      const d = (f) => median(daemonRuns.map(f));
      console.log(`beacon serve, median of ${daemonRuns.length}: first DNS answer ${ms(d((r) => r.answeredMs))} after spawn, RSS ${mib(d((r) => r.rss))}`);
    }
  } finally {
    if (!argv.includes('--keep')) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`kept ${dataDir}`);
  }
}

await main();
