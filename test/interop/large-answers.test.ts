/**
 * Services of any size, as `dig` sees them from the real daemon: a 5,000-instance service over TCP gets a
 * non-empty rotated subset that fits one TCP message, and successive queries hand out every instance;
 * `--max-answers 3` on a 30-instance service gives 3 records per UDP answer and all 30 in 10 queries.
 * The instances are written into the SQLite database before the daemon starts (registering 5,000 through
 * the API would make this a load test).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { InstanceRecord } from '../../src/registry/types.js';
import { startDaemon, type Daemon } from '../e2e/daemon.js';

interface DigAnswer {
  readonly lines: string[];
  /** The reply size dig reports (`;; MSG SIZE  rcvd: N`). */
  readonly size: number;
  readonly flags: string;
}

function dig(port: number, name: string, type: string, options: { tcp?: boolean } = {}): Promise<DigAnswer> {
  const args = ['@127.0.0.1', '-p', String(port), '+time=5', '+tries=1', '+noall', '+answer', '+comments', '+stats', '+ignore'];
  if (options.tcp) args.push('+tcp');
  return new Promise((resolve, reject) => {
    execFile('dig', [...args, name, type], { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      if (error) return reject(error);
      const lines = stdout.split('\n').filter((l) => l !== '' && !l.startsWith(';'));
      const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(stdout)?.[1] ?? NaN);
      const flags = /;; flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '';
      resolve({ lines, size, flags });
    });
  });
}

/** Healthy TTL-based records for `count` instances of `service`, each on its own IPv4 address. */
function records(service: string, count: number, firstOctet: number): InstanceRecord[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    service,
    spec: {
      id: `${service}-${String(i).padStart(5, '0')}`,
      address: `${firstOctet}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 10_000 + (i % 50_000),
      tags: [],
      metadata: {},
      weight: 1,
      priority: 0,
      protocol: 'tcp' as const,
    },
    health: 'healthy' as const,
    healthSince: now,
    lastHeartbeat: now,
    maintenance: false,
    registeredAt: now,
  }));
}

async function seededDaemon(seed: InstanceRecord[], flags: string[]): Promise<{ daemon: Daemon; dataDir: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beacon-large-'));
  const store = await SqliteStore.openInDirectory(dataDir);
  try {
    await store.writeBatch(seed.map((record, i) => ({ kind: 'put' as const, index: i + 1, record })));
  } finally {
    await store.close();
  }
  // A TTL far beyond the test: nothing heartbeats these instances.
  return { daemon: await startDaemon(['--ttl', '1h', ...flags], { dataDir }), dataDir };
}

/** The instance (or address) an answer line names, per record type. */
function keyOf(line: string, type: string): string {
  const fields = line.split(/\s+/);
  const data = fields.slice(4);
  if (type === 'SRV') return data[2] ?? ''; // port: unique per instance here
  return data[0] ?? ''; // A: the address; PTR: the instance name
}

describe('a 5,000-instance service over TCP (dig +tcp)', () => {
  const N = 5_000;
  let daemon: Daemon;
  let dataDir: string;
  beforeAll(async () => {
    ({ daemon, dataDir } = await seededDaemon(records('big', N, 10), []));
  }, 120_000);
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const type of ['SRV', 'A', 'PTR']) {
    it(`${type}: a non-empty answer under 65,536 octets, and every instance within ceil(N / per-answer) + 1 queries`, async () => {
      const seen = new Set<string>();
      const first = await dig(daemon.dnsPort, '_big._tcp.local', type, { tcp: true });
      expect(first.lines.length).toBeGreaterThan(0);
      expect(first.size).toBeLessThan(65_536);
      expect(first.flags.split(' ')).not.toContain('tc');
      const perAnswer = first.lines.length;
      for (const line of first.lines) seen.add(keyOf(line, type));
      const bound = Math.ceil(N / perAnswer) + 1;
      let queries = 1;
      while (seen.size < N && queries < bound) {
        const next = await dig(daemon.dnsPort, '_big._tcp.local', type, { tcp: true });
        expect(next.lines.length).toBeGreaterThan(0);
        expect(next.size).toBeLessThan(65_536);
        for (const line of next.lines) seen.add(keyOf(line, type));
        queries++;
      }
      expect(seen.size).toBe(N);
    }, 120_000);
  }
});

describe('--max-answers 3 on a 30-instance service (dig over UDP)', () => {
  const N = 30;
  let daemon: Daemon;
  let dataDir: string;
  beforeAll(async () => {
    ({ daemon, dataDir } = await seededDaemon(records('thirty', N, 10), ['--max-answers', '3']));
  }, 60_000);
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const type of ['SRV', 'A', 'PTR']) {
    it(`${type}: 3 records per answer, and 10 queries hand out all 30, each once`, async () => {
      const handedOut: string[] = [];
      for (let q = 0; q < N / 3; q++) {
        const answer = await dig(daemon.dnsPort, '_thirty._tcp.local', type);
        expect(answer.lines).toHaveLength(3);
        handedOut.push(...answer.lines.map((line) => keyOf(line, type)));
      }
      expect(handedOut).toHaveLength(N);
      expect(new Set(handedOut).size).toBe(N);
    }, 60_000);
  }
});
