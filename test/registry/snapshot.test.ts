import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { InvalidArgumentError, StoreUnavailableError } from '../../src/errors.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, parseSnapshot, restoreSnapshot, saveSnapshot } from '../../src/registry/snapshot.js';
import { ServiceInstance } from '../../src/registry/types.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { StoreWrite } from '../../src/store/store.js';
import { makeRecord, sorted } from '../store/fixtures.js';

let dir: string;
let clock: ManualClock;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'beacon-snapshot-'));
  clock = new ManualClock(1_000);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function openDurable(store = new MemoryStore()): Promise<DurableRegistry> {
  return DurableRegistry.open(new ServiceRegistry({ defaultTtlMs: 10_000 }, { clock }), store);
}

async function populated(): Promise<DurableRegistry> {
  const durable = await openDurable();
  await durable.register('api', new ServiceInstance('a', '10.0.0.1', 8080).withTags(['blue']).withMetadata('v', '1'));
  await durable.register('api', new ServiceInstance('Café. 2', '10.0.0.2', 8081));
  await durable.register('db', new ServiceInstance('primary', '10.0.0.3', 5432).withTtl(20_000));
  await durable.setMaintenance('db', 'primary', true, 'vacuum');
  await durable.updateHealth('api', 'a', 'unhealthy', 'slow');
  return durable;
}

const withoutHeartbeat = (records: readonly { lastHeartbeat: number }[]): unknown[] =>
  sorted(records as never).map(({ lastHeartbeat: _ignored, ...rest }) => rest);

describe('snapshots', () => {
  it('saves a versioned JSON document and restores it into an empty registry', async () => {
    const source = await populated();
    const file = join(dir, 'backup.json');
    expect(await saveSnapshot(source, file)).toEqual({ index: source.index, records: 3 });
    const document = JSON.parse(readFileSync(file, 'utf8'));
    expect(document).toMatchObject({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, index: source.index });
    expect(readdirSync(dir)).toEqual(['backup.json']);

    clock.advance(60_000);
    const store = new MemoryStore();
    const target = await openDurable(store);
    const result = await restoreSnapshot(target, file);
    expect(result).toEqual({ records: 3, changed: 3, snapshotIndex: source.index });
    expect(withoutHeartbeat(target.records())).toEqual(withoutHeartbeat(source.records()));
    // Durable: the store holds the same records.
    expect(withoutHeartbeat((await store.load()).records)).toEqual(withoutHeartbeat(source.records()));
  });

  it('replaces the current state: instances missing from the snapshot are removed', async () => {
    const source = await populated();
    const file = join(dir, 'backup.json');
    await saveSnapshot(source, file);
    const target = await openDurable();
    await target.register('api', new ServiceInstance('a', '10.9.9.9', 1));
    await target.register('extra', new ServiceInstance('x', '10.0.0.9', 80));
    const result = await restoreSnapshot(target, file);
    expect(result.changed).toBe(4); // a replaced, Café. 2 and primary added, x removed
    expect(target.registry.listServices()).toEqual(['api', 'db']);
    expect(target.registry.get('api', 'a')!.spec.address).toBe('10.0.0.1');
    // Restoring the same snapshot again changes nothing.
    expect((await restoreSnapshot(target, file)).changed).toBe(0);
  });

  it('gives restored instances a fresh heartbeat grace period', async () => {
    const source = await populated();
    const file = join(dir, 'backup.json');
    await saveSnapshot(source, file);
    clock.advance(3_600_000);
    const target = await openDurable();
    await restoreSnapshot(target, file);
    const restored = target.registry.get('api', 'Café. 2')!;
    expect(restored.lastHeartbeat).toBe(clock.now());
    expect(target.registry.isServable(restored)).toBe(true);
  });

  it('restores all or nothing when the store write fails', async () => {
    const source = await populated();
    const file = join(dir, 'backup.json');
    await saveSnapshot(source, file);
    const store = new MemoryStore();
    const target = await openDurable(store);
    await target.register('keep', new ServiceInstance('k', '10.0.0.5', 80));
    store.writeBatch = async (_changes: readonly StoreWrite[]) => {
      throw new StoreUnavailableError('disk full');
    };
    const before = target.records();
    await expect(restoreSnapshot(target, file)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(target.records()).toEqual(before);
    expect((await store.load()).records).toHaveLength(1);
  });

  const valid = (records: unknown[] = [makeRecord('api', 'a')]): Record<string, unknown> => ({ format: SNAPSHOT_FORMAT, version: 1, index: 3, records });
  const badFiles: [string, string, RegExp][] = [
    ['not JSON', '{"format": "beacon-snapshot",', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['another format', JSON.stringify({ ...valid(), format: 'consul-snapshot' }), /not a Beacon snapshot/],
    ['a future version', JSON.stringify({ ...valid(), version: 2 }), /version 2; this Beacon reads version 1/],
    ['a negative index', JSON.stringify({ ...valid(), index: -1 }), /index must be a non-negative integer/],
    ['records not an array', JSON.stringify({ ...valid(), records: {} }), /records must be an array/],
    ['a record without a port', JSON.stringify(valid([{ ...makeRecord('api', 'a'), spec: { ...makeRecord('api', 'a').spec, port: undefined } }])), /records\[0\]: spec\.port/],
    ['a record with port 0', JSON.stringify(valid([makeRecord('api', 'a', { spec: { port: 0 } })])), /records\[0\] \(api\/"a"\).*port/],
    ['an upper-case service', JSON.stringify(valid([makeRecord('API', 'a')])), /lower case/],
    ['an invalid health', JSON.stringify(valid([{ ...makeRecord('api', 'a'), health: 'great' }])), /records\[0\]: health/],
    ['two ids one DNS name', JSON.stringify(valid([makeRecord('api', 'Web'), makeRecord('api', 'web')])), /records\[1\].*same DNS name as records\[0\]/],
  ];

  for (const [what, text, message] of badFiles) {
    it(`refuses ${what} with INVALID_ARGUMENT and changes nothing`, async () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, text);
      const store = new MemoryStore();
      const target = await openDurable(store);
      await target.register('keep', new ServiceInstance('k', '10.0.0.5', 80));
      const before = { records: target.records(), index: target.index, stored: await store.load() };
      const error = await restoreSnapshot(target, file).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toMatch(message);
      expect({ records: target.records(), index: target.index, stored: await store.load() }).toEqual(before);
    });
  }

  it('refuses a missing file with INVALID_ARGUMENT', async () => {
    const target = await openDurable();
    await expect(restoreSnapshot(target, join(dir, 'nope.json'))).rejects.toThrow(/cannot read snapshot/);
  });

  it('parses a document it wrote', async () => {
    const source = await populated();
    const file = join(dir, 'backup.json');
    await saveSnapshot(source, file);
    const parsed = parseSnapshot(readFileSync(file, 'utf8'));
    expect(parsed.records).toEqual(source.records());
  });
});
