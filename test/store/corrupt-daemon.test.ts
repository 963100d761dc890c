import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { SQLITE_FILE_NAME, SqliteStore } from '../../src/store/sqlite.js';
import { makeRecord } from './fixtures.js';

// `beacon serve` on a corrupt database gives a clear error and a non-zero exit,
// never a silently empty registry, and leaves the file (and its directory) untouched.
const CLI = join(resolve(fileURLToPath(import.meta.url), '../../..'), 'dist/cli/main.js');

let dataDir: string;
let file: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'beacon-corrupt-daemon-'));
  file = join(dataDir, SQLITE_FILE_NAME);
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function serve(): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, 'serve', '--data-dir', dataDir, '--dns-listen', '127.0.0.1:0'],
      { timeout: 20_000, env: { ...process.env, BEACON_PRETTY: 'false' } },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

function fingerprint(): Record<string, { bytes: string; mtimeMs: number }> {
  const out: Record<string, { bytes: string; mtimeMs: number }> = {};
  // The control socket is not created when the store refuses to open; list every other entry.
  for (const name of readdirSync(dataDir).sort()) out[name] = { bytes: readFileSync(join(dataDir, name)).toString('base64'), mtimeMs: statSync(join(dataDir, name)).mtimeMs };
  return out;
}

async function validDatabase(count: number): Promise<void> {
  const store = await SqliteStore.open(file);
  await store.writeBatch(Array.from({ length: count }, (_, i) => ({ kind: 'put' as const, index: i + 1, record: makeRecord('api', `i-${i}`, { spec: { metadata: { pad: 'x'.repeat(300) } } }) })));
  await store.close();
}

const cases: [string, () => Promise<void>][] = [
  ['random bytes', async () => writeFileSync(file, randomBytes(16_384))],
  ['a text file', async () => writeFileSync(file, 'this is not a database\n'.repeat(100))],
  ['a truncated database', async () => {
    await validDatabase(2_000);
    truncateSync(file, Math.floor(statSync(file).size / 3));
  }],
  ['a database from a future version', async () => {
    await validDatabase(5);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
  }],
];

describe('beacon serve on a corrupt database', () => {
  for (const [what, make] of cases) {
    it(`exits non-zero with STORE_CORRUPT naming the file, and leaves ${what} untouched`, async () => {
      expect(existsSync(CLI), `${CLI} is missing: run npm run build (npm test does)`).toBe(true);
      await make();
      const before = fingerprint();
      const { code, output } = await serve();
      expect(code, output).not.toBe(0);
      expect(code, output).not.toBeNull();
      expect(output).toContain('STORE_CORRUPT');
      expect(output).toContain(file);
      expect(fingerprint()).toEqual(before);
    });
  }
});
