/**
 * ThreadedSqliteStore: the SQLite store with its connection on a worker thread. It keeps SqliteStore's
 * contract and files (the same contract suites, and the files one writes the other reads), its errors
 * arrive with their classes and messages, and the event loop of its caller never runs SQLite.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreCorruptError, StoreUnavailableError, hasErrorCode } from '../../src/errors.js';
import { SQLITE_FILE_NAME, SqliteStore } from '../../src/store/sqlite.js';
import { ThreadedSqliteStore } from '../../src/store/sqlite-thread.js';
import type { StoreWrite } from '../../src/store/store.js';
import { defineLocalStoreContract, defineZoneDataContract } from './contract.js';
import { makeRecord } from './fixtures.js';

/**
 * The thread runs the compiled store (dist/, see workerModule in sqlite-thread.ts): built from older sources,
 * these tests would test old code. `npm test` builds first; a bare `npx vitest` may not have.
 */
beforeAll(() => {
  const compiled = statSync(fileURLToPath(new URL('../../dist/store/sqlite-thread-worker.js', import.meta.url))).mtimeMs;
  const sources = fileURLToPath(new URL('../../src/store/', import.meta.url));
  const newer = readdirSync(sources).filter((name) => statSync(join(sources, name)).mtimeMs > compiled);
  expect(newer, 'src/store changed since the last build: run npm run build').toEqual([]);
});

const threadedHarness = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-sqlite-thread-contract-'));
  const file = join(dir, SQLITE_FILE_NAME);
  return {
    store: await ThreadedSqliteStore.open(file),
    reopen: () => ThreadedSqliteStore.open(file),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
};
defineLocalStoreContract('sqlite on its own thread', threadedHarness);
defineZoneDataContract('sqlite on its own thread', 'local', threadedHarness);

describe('ThreadedSqliteStore', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'beacon-sqlite-thread-'));
    file = join(dir, SQLITE_FILE_NAME);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (index: number, id: string): StoreWrite => ({ kind: 'put', index, record: makeRecord('api', id) });

  it('writes the same file SqliteStore reads, and reads what SqliteStore wrote', async () => {
    const threaded = await ThreadedSqliteStore.openInDirectory(dir);
    expect(threaded.file).toBe(file);
    await threaded.writeBatch([put(1, 'a'), put(2, 'b')]);
    await threaded.write({ kind: 'delete', index: 3, service: 'api', id: 'a' });
    await threaded.close();

    const plain = await SqliteStore.open(file);
    const loaded = await plain.load();
    expect(loaded.index).toBe(3);
    expect(loaded.records.map((r) => r.spec.id)).toEqual(['b']);
    await plain.write(put(4, 'c'));
    await plain.close();

    const again = await ThreadedSqliteStore.open(file);
    try {
      expect((await again.load()).records.map((r) => r.spec.id).sort()).toEqual(['b', 'c']);
    } finally {
      await again.close();
    }
  });

  it('commits writes in the order they were made, though none waited for the one before', async () => {
    const store = await ThreadedSqliteStore.open(file);
    try {
      // The same instance written 200 times without awaiting: the last write must be the one that stays.
      const writes = Array.from({ length: 200 }, (_, i) => store.write({ kind: 'put', index: i + 1, record: makeRecord('api', 'a', { spec: { port: 1000 + i } }) }));
      await Promise.all(writes);
      const loaded = await store.load();
      expect(loaded.index).toBe(200);
      expect(loaded.records.map((r) => r.spec.port)).toEqual([1199]);
    } finally {
      await store.close();
    }
  });

  it('runs no call on the calling thread once open', async () => {
    const store = await ThreadedSqliteStore.open(file);
    // A SqliteStore of this thread would run these; the thread's SqliteStore is another module instance.
    const methods = ['write', 'writeBatch', 'load', 'loadTexts', 'loadZone', 'writeZone'] as const;
    const spies = methods.map((method) => vi.spyOn(SqliteStore.prototype, method));
    try {
      await store.writeBatch([put(1, 'a')]);
      await store.write(put(2, 'b'));
      await store.writeZone([{ owner: 'x.local.', type: 16, ttl: 60, rdata: ['AA=='] }]);
      expect((await store.load()).records).toHaveLength(2);
      expect(await store.loadZone()).toHaveLength(1);
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      await store.close();
    }
  });

  it('hands the state it read while opening to the first load, and reads again after a write', async () => {
    const writer = await ThreadedSqliteStore.open(file);
    await writer.writeBatch([put(1, 'a')]);
    await writer.close();
    const store = await ThreadedSqliteStore.open(file);
    try {
      expect((await store.load()).records.map((r) => r.spec.id)).toEqual(['a']);
      await store.write(put(2, 'b'));
      expect((await store.load()).records.map((r) => r.spec.id).sort()).toEqual(['a', 'b']);
    } finally {
      await store.close();
    }
  });

  it('refuses a corrupt file with StoreCorruptError naming it, as SqliteStore does', async () => {
    writeFileSync(file, 'not a database at all, just text that is long enough to pass for a header maybe'.repeat(20));
    const error = await ThreadedSqliteStore.open(file).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect(hasErrorCode(error, 'STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(file);
  });

  it('rejects load() when a row does not hold a record, naming the file and the row', async () => {
    const writer = await ThreadedSqliteStore.open(file);
    await writer.writeBatch([put(1, 'a'), put(2, 'b')]);
    await writer.close();
    const db = new Database(file);
    db.prepare("UPDATE instances SET record = '{\"service\":\"api\"}' WHERE id = 'b'").run();
    db.close();
    const store = await ThreadedSqliteStore.open(file);
    try {
      // The first load gets what open read on this thread; the second reads through the thread.
      for (let round = 0; round < 2; round++) {
        const error = await store.load().then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(StoreCorruptError);
        expect((error as Error).message).toContain(file);
        expect((error as Error).message).toContain('api/"b"');
      }
      // The thread survived both: the store still writes.
      await store.writeZone([{ owner: 'x.local.', type: 16, ttl: 60, rdata: ['AA=='] }]);
    } finally {
      await store.close();
    }
  });

  it('refuses a second store on a file another one holds with STORE_UNAVAILABLE', async () => {
    const first = await ThreadedSqliteStore.open(file);
    try {
      await first.write(put(1, 'a'));
      const error = await ThreadedSqliteStore.open(file, { lockTimeoutMs: 0 }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/locked by another process/);
    } finally {
      await first.close();
    }
  });

  it('fails calls after close with STORE_UNAVAILABLE, and closes once however often asked', async () => {
    const store = await ThreadedSqliteStore.open(file);
    await store.write(put(1, 'a'));
    await Promise.all([store.close(), store.close()]);
    await store.close();
    const error = await store.write(put(2, 'b')).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain('is closed');
  });

  it('fails the calls in flight and every later one when its thread dies', async () => {
    const store = await ThreadedSqliteStore.open(file);
    // The thread is private; ending it from outside is what a crash of the thread looks like from here.
    const worker = (store as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const reasons: string[] = [];
    store.onUnexpectedStop((reason) => reasons.push(reason));
    const inFlight = store.write(put(1, 'a')).then(() => 'written', (e: unknown) => e);
    await worker.terminate();
    const outcome = await inFlight;
    // The write may have been answered before the thread ended; if not, it failed with the store's error.
    if (outcome !== 'written') expect(outcome).toBeInstanceOf(StoreUnavailableError);
    const later = await store.load().then(() => undefined, (e: unknown) => e);
    expect(later).toBeInstanceOf(StoreUnavailableError);
    expect((later as Error).message).toMatch(/SQLite thread exited/);
    expect(reasons).toEqual([expect.stringMatching(/SQLite thread exited/)]);
    await store.close();
    expect(reasons).toHaveLength(1);
  });

  it('runs its thread at nice 10, so a busy machine gives the event loop the core first (Linux)', async () => {
    /** How many of this process's threads run at nice 10 (field 19 of /proc/self/task/TID/stat). */
    const niced = (): number =>
      readdirSync('/proc/self/task').filter((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16] === '10';
      }).length;
    const before = niced();
    const store = await ThreadedSqliteStore.open(file);
    try {
      await store.write(put(1, 'a'));
      expect(niced()).toBe(before + 1);
    } finally {
      await store.close();
    }
    expect(niced()).toBe(before);
  });

  it('keeps its process alive while a call is in flight, and not once idle', () => {
    const module = new URL('../../dist/store/sqlite-thread.js', import.meta.url).href;
    const run = (body: string): string => {
      const script = `const { ThreadedSqliteStore } = await import(${JSON.stringify(module)});
        const store = await ThreadedSqliteStore.open(${JSON.stringify(file)});
        ${body}`;
      // `timeout` fails a process that never exits.
      return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 }).trim();
    };
    // Opened and never closed, the idle thread holds nothing open: the process exits.
    expect(run("console.log('opened');")).toBe('opened');
    // A write nobody awaits keeps the process alive until it is durable and answered.
    const record = { service: 'api', spec: { id: 'a', address: '10.0.0.1', port: 80, tags: [], metadata: {} }, health: 'passing', healthSince: 1, lastHeartbeat: 1, maintenance: false, registeredAt: 1 };
    expect(run(`store.write({ kind: 'put', index: 1, record: ${JSON.stringify(record)} }).then(() => console.log('written'), (e) => console.log('failed', e.message));`)).toBe('written');
  });
});
