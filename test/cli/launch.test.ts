/**
 * How node is started for Beacon: the `beacon` command's first line and `npm start` pass the same node flags
 * (one V8 helper thread for garbage collection, docs/ARCHITECTURE.md "Garbage collection"), and the
 * command run through its own first line, as an installed `beacon` is, gets them.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BEACON_VERSION } from '../../src/daemon/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const firstLine = (path: string): string => readFileSync(join(ROOT, path), 'utf8').split('\n', 1)[0] ?? '';

/** The node flags of a `#!/usr/bin/env -S node FLAGS` line. */
function shebangFlags(line: string): string[] {
  const match = /^#!\/usr\/bin\/env -S node((?: \S+)*)$/.exec(line);
  if (match === null) throw new Error(`not an env -S node line: ${line}`);
  return (match[1] ?? '').split(' ').filter(Boolean);
}

describe('launching node', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'beacon-launch-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('the command and npm start pass the same flags, one GC helper thread among them', () => {
    const flags = shebangFlags(firstLine('src/cli/main.ts'));
    expect(flags).toContain('--v8-pool-size=1');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start']).toBe(`exec node ${flags.join(' ')} scripts/start.mjs`);
    // tsc keeps the line, and the built file is what package.json's bin names.
    expect(firstLine('dist/cli/main.js')).toBe(firstLine('src/cli/main.ts'));
  });

  it('the command run through its first line starts node with those flags', () => {
    const cli = join(ROOT, 'dist/cli/main.js');
    // npm makes a bin executable when it installs the package; the build leaves the mode alone.
    chmodSync(cli, 0o755);
    const report = join(scratch, 'argv.cjs');
    writeFileSync(report, "process.on('exit', () => process.stderr.write('execArgv ' + JSON.stringify(process.execArgv) + '\\n'));\n");
    const run = spawnSync(cli, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--require ${report}` } });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(BEACON_VERSION);
    expect(run.stderr).toContain(`execArgv ${JSON.stringify(shebangFlags(firstLine('src/cli/main.ts')))}`);
  });
});
