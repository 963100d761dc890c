/**
 * The host install's files in use: `beacon serve --config contrib/beacon.example.json` starts and answers,
 * with only the paths and the DNS port overridden the way the systemd unit overrides them (flags and
 * `BEACON_*` win over the file).
 */
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startDaemon } from './daemon.js';

describe('beacon serve --config contrib/beacon.example.json', () => {
  it('starts with the example configuration and serves the API and DNS', async () => {
    // The file's socket is /run/beacon/beacon.sock, as under the unit; a test puts it in the temp dir.
    const socket = path.join(os.tmpdir(), `beacon-example-${process.pid}.sock`);
    const scratch = await startDaemon(['--config', path.join(ROOT, 'contrib/beacon.example.json'), '--socket', socket]);
    try {
      const info = JSON.parse(await scratch.ok('info', '--json', '--socket', socket)) as { store: string; domain: string; dataDir: string };
      // From the file: the store and the domain; from the flags: the data dir.
      expect(info).toMatchObject({ store: 'sqlite', domain: 'local.', dataDir: scratch.dataDir });
      expect(scratch.dnsPort).toBeGreaterThan(0);
    } finally {
      expect(await scratch.stop()).toBe(0);
    }
  });
});
