/**
 * How node is started for the daemon: `npm start` and the systemd unit pass the same node flags (one V8
 * helper thread for garbage collection and 8 MB semi-spaces, docs/ARCHITECTURE.md "Garbage collection"), and node takes them
 * both on its command line and in NODE_OPTIONS, where the unit puts them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The node flags of package.json's `start` script (`exec node FLAGS scripts/start.mjs`). */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const match = /^exec node((?: --\S+)*) scripts\/start\.mjs$/.exec(pkg.scripts['start'] ?? '');
  if (match === null) throw new Error(`unexpected start script: ${pkg.scripts['start']}`);
  return (match[1] ?? '').split(' ').filter(Boolean);
}

/**
 * The NODE_OPTIONS the systemd unit sets. systemd splits an unquoted `Environment=` line at spaces (each word
 * an assignment of its own), so a value with a space must be quoted as a whole: `Environment="NAME=a b"`.
 */
function unitNodeOptions(): string {
  const unit = readFileSync(join(ROOT, 'contrib/systemd/beacon.service'), 'utf8');
  const line = unit.split('\n').find((l) => /^Environment="?NODE_OPTIONS=/.test(l));
  if (line === undefined) throw new Error('the unit sets no NODE_OPTIONS');
  const quoted = /^Environment="NODE_OPTIONS=([^"]*)"$/.exec(line);
  if (quoted !== null) return quoted[1] ?? '';
  const value = line.slice('Environment=NODE_OPTIONS='.length);
  if (value.includes(' ')) throw new Error(`systemd would split this unquoted line at its spaces: ${line}`);
  return value;
}

describe('launching the daemon', () => {
  it('npm start and the systemd unit pass the same node flags, one GC helper thread and 8 MB semi-spaces among them', () => {
    const flags = startFlags();
    expect(flags).toContain('--v8-pool-size=1');
    expect(flags).toContain('--max-semi-space-size=8');
    expect(unitNodeOptions().split(' ')).toEqual(flags);
  });

  it('the beacon command itself starts plain node (a first line every env understands)', () => {
    expect(readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
  });

  it('node takes the flags on its command line and in NODE_OPTIONS', () => {
    const script = 'process.stdout.write(JSON.stringify(process.execArgv))';
    const direct = spawnSync(process.execPath, [...startFlags(), '-e', script], { encoding: 'utf8' });
    expect(direct.status).toBe(0);
    expect(JSON.parse(direct.stdout)).toEqual([...startFlags(), '-e', script]);
    // A flag node refuses in NODE_OPTIONS stops it before any script runs, with a message on stderr.
    const viaEnv = spawnSync(process.execPath, ['-e', 'process.stdout.write("ran")'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: unitNodeOptions() } });
    expect(viaEnv.stderr).toBe('');
    expect(viaEnv.status).toBe(0);
    expect(viaEnv.stdout).toBe('ran');
  });
});
