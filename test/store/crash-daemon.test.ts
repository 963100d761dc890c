import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/balancer/strategies.js';
import { ControlClient } from '../../src/control/client.js';
import type { InstanceRecord } from '../../src/registry/types.js';
import { SQLITE_FILE_NAME, SqliteStore } from '../../src/store/sqlite.js';

// End to end: the real daemon (`node dist/cli/main.js serve`, SQLite store) takes a
// stream of registrations from concurrent clients over its control socket and is killed with SIGKILL at a
// seeded random point, 20 times on one data directory. After each kill the database must hold every
// acknowledged registration, and anything else it holds must be a complete registration that was sent
// (a request in flight may have been made durable before its answer was lost). `npm test` builds dist/ first.
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const ROUNDS = 20;
const CLIENTS = 8;
const PER_CLIENT = 12;
const SEED = Number(process.env['BEACON_CRASH_SEED'] ?? 0x5eed);
const START_TIMEOUT_MS = 20_000;

interface Sent {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly metadata: Record<string, string>;
}

const keyOf = (service: string, id: string): string => JSON.stringify([service, id]);
const view = (r: InstanceRecord): Sent => ({ service: r.service, id: r.spec.id, address: r.spec.address, port: r.spec.port, metadata: { ...r.spec.metadata } });

/** Start `beacon serve` on `dataDir`; resolves with the child once it logged "beacon started". */
function startDaemon(dataDir: string): Promise<{ child: ChildProcess; exited: Promise<void>; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--dns-listen', '127.0.0.1:0', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BEACON_PRETTY: 'false' },
  });
  let output = '';
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`beacon serve did not start within ${START_TIMEOUT_MS} ms: ${output.slice(-2000)}`));
    }, START_TIMEOUT_MS);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('"msg":"beacon started"')) {
        clearTimeout(timer);
        resolveStart({ child, exited, output: () => output });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`beacon serve exited before starting: ${output.slice(-2000)}`));
    });
  });
}

describe('SIGKILL of beacon serve under registrations over the control socket', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'beacon-crash-daemon-'));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged registration over ${ROUNDS} kills (seed ${SEED})`, async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build (npm test does)`).toBe(true);
    const random = seededRandom(SEED);
    const sentEver = new Map<string, Sent>();
    let expected = new Map<string, Sent>();
    let index = 0;
    let lostAcks = 0;
    let midStream = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const daemon = await startDaemon(dataDir);
      const client = new ControlClient({ socketPath: join(dataDir, 'beacon.sock'), timeoutMs: 10_000 });
      const total = CLIENTS * PER_CLIENT;
      const killAfter = Math.floor(random() * (total + 1));
      const acked: Sent[] = [];
      let killed = false;
      const kill = (): void => {
        if (killed) return;
        killed = true;
        daemon.child.kill('SIGKILL');
      };
      if (killAfter === 0) kill();

      // CLIENTS concurrent clients, each registering new instances one after another until the kill.
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, c) => {
          for (let n = 0; n < PER_CLIENT && !killed; n++) {
            const registration: Sent = {
              service: ['api', 'web', 'db'][(c + n) % 3]!,
              id: `r${round} c${c}.${n} é`,
              address: `10.${round}.${c}.${n + 1}`,
              port: 1000 + round * 100 + c * 10 + n,
              metadata: { round: String(round), client: String(c) },
            };
            sentEver.set(keyOf(registration.service, registration.id), registration);
            try {
              await client.register(registration.service, registration.id, { address: registration.address, port: registration.port, metadata: registration.metadata });
            } catch {
              expect(killed, `round ${round}: a registration failed before the kill`).toBe(true);
              return;
            }
            acked.push(registration);
            if (acked.length === killAfter) kill();
          }
        }),
      );
      kill(); // every round ends in a SIGKILL, even if the stream finished first
      await daemon.exited;

      const store = await SqliteStore.open(join(dataDir, SQLITE_FILE_NAME));
      const loaded = await store.load();
      await store.close();
      const where = `round ${round} (seed ${SEED}, kill after ${killAfter} acks, got ${acked.length})`;
      const present = new Map(loaded.records.map((r) => [keyOf(r.service, r.spec.id), view(r)]));
      // Every acknowledged registration is there, exactly as sent; so is everything from earlier rounds.
      for (const registration of acked) expect(present.get(keyOf(registration.service, registration.id)), where).toEqual(registration);
      for (const [key, registration] of expected) expect(present.get(key), where).toEqual(registration);
      // Anything else is a complete registration that was sent (its answer was lost with the process).
      for (const [key, record] of present) {
        if (!expected.has(key)) expect(record, `${where}: unexpected ${key}`).toEqual(sentEver.get(key));
      }
      // One change per new registration: the index moved exactly as far as the records did.
      expect(loaded.index - index, `${where}: index`).toBe(present.size - expected.size);
      lostAcks += present.size - expected.size - acked.length;
      if (acked.length > 0 && acked.length < total) midStream += 1;
      expected = present;
      index = loaded.index;
    }

    // The daemon restarts on what the last kill left, serves it, and stops cleanly.
    const daemon = await startDaemon(dataDir);
    const client = new ControlClient({ socketPath: join(dataDir, 'beacon.sock'), timeoutMs: 10_000 });
    const { services } = await client.services();
    expect(services.reduce((sum, s) => sum + s.instances, 0)).toBe(expected.size);
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    expect(daemon.child.exitCode, daemon.output().slice(-2000)).toBe(0);
    // The seed must have killed the daemon in the middle of the stream in most rounds.
    expect(midStream).toBeGreaterThanOrEqual(ROUNDS / 2);
    console.log(`crash-daemon: ${ROUNDS} kills, ${midStream} mid-stream, ${expected.size} instances, ${lostAcks} durable registrations whose answer died with the process`);
  }, 300_000);
});
