/**
 * The registry on disk is private to its owner whatever the umask: data directory 0700, beacon.db and its
 * WAL (and SHM, when SQLite makes one) 0600. Run under umask 000, where default modes would be world-readable.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SQLITE_FILE_NAME, SqliteStore } from '../../src/store/sqlite.js';
import { makeRecord } from './fixtures.js';

let root: string;
let previousUmask: number;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'beacon-modes-'));
  previousUmask = process.umask(0);
});
afterEach(() => {
  process.umask(previousUmask);
  rmSync(root, { recursive: true, force: true });
});

const mode = (file: string): string => (statSync(file).mode & 0o777).toString(8);

/** Open the store in `dataDir`, write, and report the modes while it is open and after it closed. */
async function modesAfterUse(dataDir: string): Promise<Record<string, string>> {
  const store = await SqliteStore.openInDirectory(dataDir);
  await store.writeBatch([{ kind: 'put', index: 1, record: makeRecord('api', 'a') }]);
  const file = join(dataDir, SQLITE_FILE_NAME);
  const seen: Record<string, string> = { dir: mode(dataDir), db: mode(file) };
  for (const suffix of ['-wal', '-shm']) if (existsSync(`${file}${suffix}`)) seen[suffix] = mode(`${file}${suffix}`);
  await store.close();
  return seen;
}

describe('data files under umask 000', () => {
  it('the umask really is 000 here', () => {
    writeFileSync(join(root, 'probe'), '');
    expect(mode(join(root, 'probe'))).toBe('666');
  });

  it('creates a private data directory, database and WAL', async () => {
    const dataDir = join(root, 'nested', 'data');
    const seen = await modesAfterUse(dataDir);
    expect(seen['-wal']).toBeDefined();
    for (const [name, value] of Object.entries(seen)) expect({ name, mode: value }).toEqual({ name, mode: name === 'dir' ? '700' : '600' });
  });

  it('makes an existing world-readable data directory and database private', async () => {
    const dataDir = join(root, 'old');
    await modesAfterUse(dataDir);
    mkdirSync(dataDir, { recursive: true });
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, SQLITE_FILE_NAME), 0o644);
    const seen = await modesAfterUse(dataDir);
    for (const [name, value] of Object.entries(seen)) expect({ name, mode: value }).toEqual({ name, mode: name === 'dir' ? '700' : '600' });
  });
});
