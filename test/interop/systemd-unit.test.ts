/**
 * `systemd-analyze verify` on contrib/systemd/beacon.service (Debian's systemd package). verify also checks
 * that ExecStart's program exists, so the copy checked here runs the built CLI with this node instead of
 * /usr/local/bin/beacon; every other line is the shipped one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../e2e/daemon.js';

describe('the systemd unit', () => {
  it('passes systemd-analyze verify', async () => {
    const unit = await readFile(path.join(ROOT, 'contrib/systemd/beacon.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/beacon serve --config \/etc\/beacon\/beacon.json$/m);
    for (const line of ['DynamicUser=yes', 'StateDirectory=beacon', 'RuntimeDirectory=beacon', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'Restart=on-failure']) {
      expect(unit.split('\n')).toContain(line);
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-unit-'));
    try {
      const file = path.join(dir, 'beacon.service');
      await writeFile(file, unit.replace(/^ExecStart=\/usr\/local\/bin\/beacon /m, `ExecStart=${process.execPath} ${CLI} `));
      const result = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile('systemd-analyze', ['verify', file], { timeout: 30_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }));
      });
      expect(result.output).toBe('');
      expect(result.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
