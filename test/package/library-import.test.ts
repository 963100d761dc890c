/**
 * Importing the library entry loads no daemon-only dependency: a fresh node process imports dist/index.js
 * and lists the npm packages it loaded (fastify, better-sqlite3, etcd3 and gRPC are CommonJS, so
 * `require.cache` names them). Each heavy part then loads when it is used, which also proves the list sees
 * them. Needs `npm run build` first (npm test does it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.join(ROOT, 'dist');
const DAEMON_ONLY = ['fastify', 'better-sqlite3', 'etcd3', '@grpc/grpc-js', 'pino-pretty'];

/** Runs in the child: import the entry, then use each heavy part, listing the loaded packages after each step. */
const CHILD = `
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const require = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))});
const loaded = () => [...new Set(Object.keys(require.cache).map((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file)?.[1]).filter(Boolean))].sort();
const steps = {};
const lib = await import(${JSON.stringify(path.join(DIST, 'index.js'))});
steps.import = loaded();
const dir = mkdtempSync(join(tmpdir(), 'beacon-import-'));
try {
  const store = await lib.SqliteStore.openInDirectory(dir);
  await store.close();
  steps.sqlite = loaded();
  const beacon = await lib.startBeacon(lib.loadConfig({ env: {}, cwd: dir, flags: { ephemeral: true, dataDir: dir, dnsListen: '127.0.0.1:0' } }));
  await beacon.close();
  steps.startBeacon = loaded();
  await import(${JSON.stringify(path.join(DIST, 'store/etcd.js'))});
  steps.etcd = loaded();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(steps));
process.exit(0);
`;

function runChild(): Promise<Record<'import' | 'sqlite' | 'startBeacon' | 'etcd', string[]>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`child failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Record<'import' | 'sqlite' | 'startBeacon' | 'etcd', string[]>);
    });
  });
}

it('import of the library entry loads none of fastify, better-sqlite3, etcd3, gRPC, pino-pretty; each loads when used', async () => {
  expect(existsSync(path.join(DIST, 'index.js')), 'run `npm run build` first').toBe(true);
  const steps = await runChild();
  // The library's own light dependencies are there: the list does see packages.
  expect(steps.import).toContain('pino');
  expect(steps.import.filter((name) => DAEMON_ONLY.includes(name))).toEqual([]);
  expect(steps.sqlite).toContain('better-sqlite3');
  expect(steps.sqlite).not.toContain('fastify');
  expect(steps.startBeacon).toContain('fastify');
  expect(steps.startBeacon).not.toContain('etcd3');
  expect(steps.etcd).toContain('etcd3');
});
