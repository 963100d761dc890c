#!/usr/bin/env node
// `npm start`: build dist/ only if it is missing or a source is newer than its output, then run
// `beacon serve` in this same process. No shell sits between npm and the daemon, so the SIGTERM or SIGINT
// that npm passes on reaches the daemon's own handlers (clean shutdown). Extra arguments go to serve:
// `npm start -- --domain example.`
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
/** Each source tree and where tsc writes it: the daemon, and the dashboard's front end. */
const TREES = [
  { src: join(ROOT, 'src'), out: DIST, config: join(ROOT, 'tsconfig.json') },
  { src: join(ROOT, 'web/src'), out: join(DIST, 'web'), config: join(ROOT, 'web/tsconfig.json') },
];
/** Files `npm run build` copies into dist/web as they are. */
const STATIC = ['index.html', 'style.css'];
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
  for (const tree of TREES) {
    const config = mtime(tree.config);
    for (const source of sources(tree.src)) {
      const output = join(tree.out, relative(tree.src, source)).replace(/\.ts$/, '.js');
      if (!existsSync(output)) return `${relative(ROOT, output)} is missing`;
      const built = mtime(output);
      if (built < mtime(source)) return `${relative(ROOT, source)} changed`;
      if (built < config) return `${relative(ROOT, tree.config)} changed`;
    }
  }
  for (const name of STATIC) {
    const output = join(DIST, 'web', name);
    if (!existsSync(output) || mtime(output) < mtime(join(ROOT, 'web', name))) return `web/${name} changed`;
  }
  return undefined;
}

const reason = staleReason();
if (reason !== undefined) {
  process.stderr.write(`npm start: building dist/ (${reason})\n`);
  // The same build as `npm run build`, without a shell: tsc for each tree, then the static files.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  let build = { status: 0, signal: null };
  for (const tree of TREES) {
    if (build.status === 0) build = spawnSync(process.execPath, [tsc, '-p', tree.config], { stdio: 'inherit' });
  }
  if (build.status === 0) for (const name of STATIC) copyFileSync(join(ROOT, 'web', name), join(DIST, 'web', name));
  if (build.status !== 0) {
    process.stderr.write(`npm start: the build failed (${build.signal ?? `exit ${build.status}`}); not starting\n`);
    process.exit(1);
  }
}

const { main } = await import(pathToFileURL(CLI).href);
await main([process.execPath, CLI, 'serve', ...process.argv.slice(2)]);
