import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/balancer/strategies.js';
import type { InstanceRecord } from '../../src/registry/types.js';
import { SqliteStore } from '../../src/store/sqlite.js';

// A durable node under a stream of registrations is killed with SIGKILL at seeded
// random points; after each restart every acknowledged change is present and nothing unacknowledged is
// half-present. The child (crash-child.mjs) runs the compiled dist/: `npm test` builds it first.
const here = dirname(fileURLToPath(import.meta.url));
const child = join(here, 'crash-child.mjs');
const compiled = resolve(here, '../../dist/registry/write-path.js');
const ROUNDS = 24;
const OPS_PER_ROUND = 40;
const SEED = Number(process.env['BEACON_CRASH_SEED'] ?? 0xbeac0);
const EXIT_TIMEOUT_MS = 15_000;

interface Expected {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly tags: string[];
  readonly metadata: Record<string, string>;
}
type Operation = { seq: number; op: 'register'; service: string; instance: Omit<Expected, 'service'> } | { seq: number; op: 'deregister'; service: string; id: string };
type Model = Map<string, Expected>;

const keyOf = (service: string, id: string): string => JSON.stringify([service, id]);

/** Next operation: mostly new registrations, some replacements (new port) and deregistrations. */
function nextOperation(model: Model, random: () => number, seq: number): Operation {
  const existing = [...model.values()];
  const roll = random();
  if (existing.length > 0 && roll < 0.15) {
    const victim = existing[Math.floor(random() * existing.length)]!;
    return { seq, op: 'deregister', service: victim.service, id: victim.id };
  }
  if (existing.length > 0 && roll < 0.3) {
    const { service, ...instance } = existing[Math.floor(random() * existing.length)]!;
    return { seq, op: 'register', service, instance: { ...instance, port: 1 + ((instance.port + 1) % 65535), metadata: { seq: String(seq) } } };
  }
  const service = ['api', 'web', 'db'][Math.floor(random() * 3)]!;
  return { seq, op: 'register', service, instance: { id: `node ${seq}.é`, address: `10.0.${seq >> 8 & 255}.${seq & 255}`, port: 1024 + seq % 60000, tags: ['crash'], metadata: { seq: String(seq) } } };
}

function applyOperation(model: Model, op: Operation): Model {
  const next = new Map(model);
  if (op.op === 'deregister') next.delete(keyOf(op.service, op.id));
  else next.set(keyOf(op.service, op.instance.id), { service: op.service, ...op.instance });
  return next;
}

function summary(records: readonly InstanceRecord[]): Expected[] {
  return records
    .map((r) => ({ service: r.service, id: r.spec.id, address: r.spec.address, port: r.spec.port, tags: [...r.spec.tags], metadata: { ...r.spec.metadata } }))
    .sort((a, b) => (keyOf(a.service, a.id) < keyOf(b.service, b.id) ? -1 : 1));
}

function modelSummary(model: Model): Expected[] {
  return [...model.values()].sort((a, b) => (keyOf(a.service, a.id) < keyOf(b.service, b.id) ? -1 : 1));
}

interface RoundResult {
  readonly readyIndex: number | undefined;
  readonly acked: number[];
  readonly errors: string[];
}

/** Run the child on `file`, stream `ops`, SIGKILL it after `killAfterAcks` acks (-1: as soon as it is spawned). */
async function runRound(file: string, ops: readonly Operation[], killAfterAcks: number): Promise<RoundResult> {
  const proc = spawn(process.execPath, [child, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let readyIndex: number | undefined;
  const acked: number[] = [];
  const errors: string[] = [];
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  proc.stdin.on('error', () => {}); // the child may die while we write: expected
  const kill = (): void => {
    proc.kill('SIGKILL');
  };
  if (killAfterAcks < 0) kill();
  const lines = createInterface({ input: proc.stdout });
  lines.on('line', (line) => {
    const [word, value] = line.split(' ');
    if (word === 'ready') {
      readyIndex = Number(value);
      for (const op of ops) proc.stdin.write(`${JSON.stringify(op)}\n`);
      if (killAfterAcks === 0) kill();
    } else if (word === 'ack') {
      acked.push(Number(value));
      if (acked.length === killAfterAcks) kill();
    } else {
      errors.push(line);
    }
  });
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child did not exit within ${EXIT_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, EXIT_TIMEOUT_MS);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveExit({ code, signal });
    });
  });
  // Every round ends in SIGKILL: the child never exits by itself while its stdin is open.
  expect(exit.signal, `child stderr: ${stderr}`).toBe('SIGKILL');
  return { readyIndex, acked, errors };
}

describe('SIGKILL during a stream of registrations', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'beacon-crash-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses no acknowledged change and half-applies none, over ${ROUNDS} kills (seed ${SEED})`, async () => {
    expect(existsSync(compiled), `${compiled} is missing: run npm run build (npm test does)`).toBe(true);
    const file = join(dir, 'beacon.db');
    const random = seededRandom(SEED);
    let model: Model = new Map();
    let index = 0;
    let seq = 0;
    let killedMidStream = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const ops: Operation[] = [];
      const states: Model[] = [model];
      for (let i = 0; i < OPS_PER_ROUND; i++) {
        const op = nextOperation(states[i]!, random, seq++);
        ops.push(op);
        states.push(applyOperation(states[i]!, op));
      }
      // Round 0 kills before the database is even created; others at a random ack count (0..all).
      const killAfterAcks = round === 0 ? -1 : Math.floor(random() * (OPS_PER_ROUND + 1));
      const result = await runRound(file, ops, killAfterAcks);
      const where = `round ${round} (seed ${SEED}, kill after ${killAfterAcks} acks, got ${result.acked.length})`;

      expect(result.errors, where).toEqual([]);
      if (result.readyIndex !== undefined) expect(result.readyIndex, `${where}: index at startup`).toBe(index);
      // Acks arrive in submission order.
      expect(result.acked, where).toEqual(ops.slice(0, result.acked.length).map((op) => op.seq));

      const store = await SqliteStore.open(file);
      const loaded = await store.load();
      await store.close();
      // The store holds exactly the state after the first `applied` operations: all acknowledged ones,
      // possibly some whose ack was lost with the process, and never a part of one.
      const applied = loaded.index - index;
      expect(applied, `${where}: operations applied`).toBeGreaterThanOrEqual(result.acked.length);
      expect(applied, `${where}: operations applied`).toBeLessThanOrEqual(result.readyIndex === undefined ? 0 : OPS_PER_ROUND);
      expect(summary(loaded.records), `${where}: state after ${applied} operations`).toEqual(modelSummary(states[applied]!));
      if (applied > 0 && applied < OPS_PER_ROUND) killedMidStream += 1;
      model = states[applied]!;
      index = loaded.index;
    }
    // The seed must actually have exercised kills in the middle of the stream.
    expect(killedMidStream).toBeGreaterThanOrEqual(ROUNDS / 2);
  }, 120_000);
});
