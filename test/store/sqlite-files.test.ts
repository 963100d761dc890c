import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreCorruptError, hasErrorCode } from '../../src/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { SQLITE_FILE_NAME, SqliteStore } from '../../src/store/sqlite.js';
import { makeRecord } from './fixtures.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'beacon-sqlite-files-'));
  file = join(dir, SQLITE_FILE_NAME);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Write `count` records through the store and close it, leaving a valid database file. */
async function makeDatabase(count: number): Promise<void> {
  const store = await SqliteStore.open(file);
  await store.writeBatch(Array.from({ length: count }, (_, i) => ({ kind: 'put' as const, index: i + 1, record: makeRecord('api', `instance-${i}`, { spec: { metadata: { pad: 'x'.repeat(200) } } }) })));
  await store.close();
}

/** Everything that must not change: the directory listing, and each file's bytes and mtime. */
function fingerprint(): { names: string[]; files: Record<string, { bytes: string; mtimeMs: number }> } {
  const names = readdirSync(dir).sort();
  const files: Record<string, { bytes: string; mtimeMs: number }> = {};
  for (const name of names) files[name] = { bytes: readFileSync(join(dir, name)).toString('base64'), mtimeMs: statSync(join(dir, name)).mtimeMs };
  return { names, files };
}

/** Open must reject with StoreCorruptError naming the file, and leave the directory exactly as it was. */
async function expectRefusedUntouched(reason: RegExp): Promise<void> {
  const before = fingerprint();
  const error = await SqliteStore.open(file).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreCorruptError);
  expect(hasErrorCode(error, 'STORE_CORRUPT')).toBe(true);
  const message = (error as Error).message;
  expect(message).toContain(file);
  expect(message).toMatch(reason);
  expect(fingerprint()).toEqual(before);
}

describe('SqliteStore: files it must refuse, untouched', () => {
  it('refuses random bytes', async () => {
    writeFileSync(file, randomBytes(8192));
    await expectRefusedUntouched(/not a SQLite database/);
  });

  it('refuses a text file', async () => {
    writeFileSync(file, 'api 10.0.0.1 8080\nweb 10.0.0.2 80\n'.repeat(50));
    await expectRefusedUntouched(/not a SQLite database/);
  });

  it('refuses a file shorter than a SQLite header', async () => {
    writeFileSync(file, 'SQLite format 3\0');
    await expectRefusedUntouched(/not a SQLite database/);
  });

  it('refuses a truncated database', async () => {
    await makeDatabase(2_000);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await expectRefusedUntouched(/malformed|integrity/);
  });

  it('refuses a database whose pages were overwritten with garbage', async () => {
    await makeDatabase(2_000);
    const bytes = readFileSync(file);
    randomBytes(4096 * 8).copy(bytes, 4096 * 4);
    writeFileSync(file, bytes);
    await expectRefusedUntouched(/malformed|integrity/);
  });

  it('refuses a schema version from the future', async () => {
    await makeDatabase(3);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await expectRefusedUntouched(new RegExp(`unknown schema version ${SCHEMA_VERSION + 1}`));
  });

  it('refuses a database with the current version but the wrong table shape', async () => {
    const db = new Database(file);
    db.exec('CREATE TABLE instances (service TEXT, id TEXT); CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);');
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.close();
    await expectRefusedUntouched(/table instances has columns/);
  });

  it('refuses a foreign SQLite database (version 0 with tables)', async () => {
    const db = new Database(file);
    db.exec('CREATE TABLE customers (name TEXT)');
    db.close();
    await expectRefusedUntouched(/not a Beacon database/);
  });

  it('refuses a corrupt database left with a WAL after a crash, and touches neither file', async () => {
    const store = await SqliteStore.open(file);
    await store.writeBatch(Array.from({ length: 500 }, (_, i) => ({ kind: 'put' as const, index: i + 1, record: makeRecord('api', `i-${i}`) })));
    // Freeze the crash state (database + WAL) while the store still runs, then damage the database.
    const crashDir = mkdtempSync(join(tmpdir(), 'beacon-sqlite-crash-'));
    try {
      copyFileSync(file, join(crashDir, 'db'));
      copyFileSync(`${file}-wal`, join(crashDir, 'wal'));
      await store.close();
      rmSync(file);
      copyFileSync(join(crashDir, 'db'), file);
      copyFileSync(join(crashDir, 'wal'), `${file}-wal`);
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
    }
    writeFileSync(`${file}-wal`, Buffer.concat([readFileSync(`${file}-wal`).subarray(0, 32), randomBytes(64)]));
    writeFileSync(file, Buffer.concat([readFileSync(file).subarray(0, 100), randomBytes(4096)]));
    await expectRefusedUntouched(/malformed|integrity|not a database/);
  });

  it('rejects load() when a row does not hold a record, naming the file and the row', async () => {
    await makeDatabase(2);
    const db = new Database(file);
    db.prepare("UPDATE instances SET record = '{\"service\":\"api\"}' WHERE id = 'instance-1'").run();
    db.close();
    const store = await SqliteStore.open(file);
    try {
      const error = await store.load().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreCorruptError);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toContain('api/"instance-1"');
    } finally {
      await store.close();
    }
  });
});

describe('SqliteStore: schema and lifecycle', () => {
  it('numbers its migrations 1..SCHEMA_VERSION', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('migrates an empty file (version 0) to the current version', async () => {
    writeFileSync(file, '');
    const store = await SqliteStore.open(file);
    await store.write({ kind: 'put', index: 1, record: makeRecord('api', 'a') });
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare("SELECT value FROM meta WHERE key = 'index'").pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });

  it('migrates a version 1 database (instances only) to the current version, keeping its instances', async () => {
    const record = makeRecord('api', 'kept');
    const db = new Database(file);
    db.exec(MIGRATIONS[0]!.sql);
    db.pragma('user_version = 1');
    db.prepare('INSERT INTO instances (service, id, record) VALUES (?, ?, ?)').run('api', 'kept', JSON.stringify(record));
    db.prepare("UPDATE meta SET value = 7 WHERE key = 'index'").run();
    db.close();
    const store = await SqliteStore.open(file);
    try {
      expect(await store.load()).toEqual({ index: 7, records: [record] });
      expect(await store.loadZone()).toEqual([]);
      await store.writeZone([{ owner: 'h.local.', type: 1, ttl: 60, rdata: ['CgAAAQ=='] }]);
      expect(await store.loadZone()).toEqual([{ owner: 'h.local.', type: 1, ttl: 60, rdata: ['CgAAAQ=='] }]);
    } finally {
      await store.close();
    }
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      check.close();
    }
  });

  it('rejects loadZone() when a zone row does not hold an RRset, naming the file', async () => {
    const store = await SqliteStore.open(file);
    await store.close();
    const db = new Database(file);
    db.prepare('INSERT INTO zone_rrsets (owner, type, rrset) VALUES (?, ?, ?)').run('h.local.', 1, '{"ttl":"soon"}');
    db.close();
    const reopened = await SqliteStore.open(file);
    try {
      const error = await reopened.loadZone().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreCorruptError);
      expect((error as Error).message).toContain(file);
    } finally {
      await reopened.close();
    }
  });

  it('migrates an empty table-less SQLite database made by someone else', async () => {
    const db = new Database(file);
    db.pragma('page_size = 8192');
    db.exec('VACUUM');
    db.close();
    expect(statSync(file).size).toBeGreaterThan(0);
    const store = await SqliteStore.open(file);
    expect(await store.load()).toEqual({ index: 0, records: [] });
    await store.close();
  });

  it('creates the data directory and the file in it', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const store = await SqliteStore.openInDirectory(dataDir);
    expect(store.file).toBe(join(dataDir, SQLITE_FILE_NAME));
    expect(existsSync(store.file)).toBe(true);
    await store.close();
  });

  it('recovers acknowledged writes from the WAL of a process that never closed', async () => {
    const store = await SqliteStore.open(file);
    for (let i = 0; i < 50; i++) await store.write({ kind: 'put', index: i + 1, record: makeRecord('api', `i-${i}`) });
    await store.write({ kind: 'delete', index: 51, service: 'api', id: 'i-0' });
    // Copy the files as a SIGKILL would leave them: database + WAL, nothing checkpointed.
    const crashed = join(dir, 'crashed.db');
    copyFileSync(file, crashed);
    copyFileSync(`${file}-wal`, `${crashed}-wal`);
    await store.close();
    expect(statSync(`${crashed}-wal`).size).toBeGreaterThan(0);
    const recovered = await SqliteStore.open(crashed);
    try {
      const loaded = await recovered.load();
      expect(loaded.index).toBe(51);
      expect(loaded.records).toHaveLength(49);
    } finally {
      await recovered.close();
    }
  });

  it('refuses a second process (connection) on the same file with STORE_UNAVAILABLE', async () => {
    const first = await SqliteStore.open(file);
    try {
      await first.write({ kind: 'put', index: 1, record: makeRecord('api', 'a') });
      const error = await SqliteStore.open(file, { lockTimeoutMs: 0 }).then(() => undefined, (e: unknown) => e);
      expect(hasErrorCode(error, 'STORE_UNAVAILABLE')).toBe(true);
    } finally {
      await first.close();
    }
  });
});
