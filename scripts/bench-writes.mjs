#!/usr/bin/env node
// Durable registration throughput: N concurrent registrations through DurableRegistry on SQLite
// (durable writes: WAL fdatasync before acknowledging), with group commit vs one transaction per mutation, alternating, in the same run.
// Usage: npm run build && node scripts/bench-writes.mjs [--count 2000] [--rounds 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ServiceRegistry } from '../dist/registry/registry.js';
import { DurableRegistry } from '../dist/registry/write-path.js';
import { SqliteStore } from '../dist/store/sqlite.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } } });
const count = Number(values.count);
const rounds = Number(values.rounds);

async function run(grouped) {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-writes-'));
  try {
    const sqlite = await SqliteStore.open(join(dir, 'beacon.db'));
    // maxGroup 1: every mutation in its own transaction, for comparison.
    const durable = await DurableRegistry.open(new ServiceRegistry(), sqlite, grouped ? {} : { maxGroup: 1 });
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: count }, (_, i) => durable.register(`svc-${i % 50}`, { id: `i-${i}`, address: '10.0.0.1', port: 8080 })));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (durable.records().length !== count) throw new Error('lost registrations');
    await durable.close();
    return count / seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const grouped = [];
const single = [];
for (let r = 0; r < rounds; r++) {
  single.push(await run(false));
  grouped.push(await run(true));
}
const g = median(grouped);
const s = median(single);
console.log(`durable registrations/s over ${count} concurrent, median of ${rounds}: group commit ${g.toFixed(0)}, one per transaction ${s.toFixed(0)}, ratio ${(g / s).toFixed(1)}x`);
