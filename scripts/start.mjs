#!/usr/bin/env node
// `npm start`: build dist/ only if it is missing or a source is newer than its output, then run
// `beacon serve` in this same process. No shell sits between npm and the daemon, so the SIGTERM or SIGINT
// that npm passes on reaches the daemon's own handlers (clean shutdown). Extra arguments go to serve:
// `npm start -- --domain example.`
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const CLI = join(DIST, 'cli/main.js');

/** Every .ts file under `dir`, recursively. */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const mtime = (path) => statSync(path).mtimeMs;

/**
 * Why dist/ must be rebuilt, or undefined when it is up to date. Each source is compared with its own
 * output (not with the newest file in dist/), so files left in dist/ by a removed source do not count.
 */
function staleReason() {
  if (!existsSync(CLI)) return 'dist/ is missing';
  const config = mtime(join(ROOT, 'tsconfig.json'));
  for (const source of sources(SRC)) {
    const output = join(DIST, relative(SRC, source)).replace(/\.ts$/, '.js');
    if (!existsSync(output)) return `${relative(ROOT, output)} is missing`;
    const built = mtime(output);
    if (built < mtime(source)) return `${relative(ROOT, source)} changed`;
    if (built < config) return 'tsconfig.json changed';
  }
  return undefined;
}

const reason = staleReason();
if (reason !== undefined) {
  process.stderr.write(`npm start: building dist/ (${reason})\n`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  if (build.status !== 0) {
    process.stderr.write(`npm start: the build failed (${build.signal ?? `exit ${build.status}`}); not starting\n`);
    process.exit(1);
  }
}

const { main } = await import(pathToFileURL(CLI).href);
await main([process.execPath, CLI, 'serve', ...process.argv.slice(2)]);
