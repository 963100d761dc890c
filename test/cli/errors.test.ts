/**
 * How the CLI reports failures: one line on stderr and exit status 1, as `beacon: message [CODE]` or, under
 * `--json`, as the API's `{"error":{"code","message"}}`. No daemon runs here (npm test builds the CLI first).
 */
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../e2e/daemon.js';

const socket = path.join(os.tmpdir(), `beacon-cli-errors-${process.pid}.sock`);

describe('CLI errors', () => {
  it('names the socket and how to start a daemon when none answers', async () => {
    const result = await runCli(['services', '--socket', socket]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(socket);
    expect(result.stderr).toContain('beacon serve');
    expect(result.stderr).toMatch(/\[DAEMON_UNREACHABLE\]\n$/);
  });

  it('writes errors as JSON on stderr under --json', async () => {
    const result = await runCli(['services', '--socket', socket, '--json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const parsed = JSON.parse(result.stderr) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe('DAEMON_UNREACHABLE');
    expect(parsed.error.message).toContain(socket);
  });

  it('writes usage errors as JSON too under --json', async () => {
    const result = await runCli(['register', 'web', '--json']);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stderr) as { error: { code: string; message: string } };
    expect(parsed.error).toEqual({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("'id'") });
  });

  it('complains about the missing id of `register web`, not about --port', async () => {
    const result = await runCli(['register', 'web']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("missing required argument 'id'");
    expect(result.stderr).not.toContain('--port');
  });

  it('still requires --port once the arguments are there', async () => {
    const result = await runCli(['register', 'web', 'w1', '--socket', socket]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--port is required');
  });

  it.each(['notaurl', 'ftp://127.0.0.1:8500'])('names a bad --url value (%s)', async (url) => {
    const result = await runCli(['services', '--url', url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`"${url}"`);
    expect(result.stderr).toContain('[INVALID_ARGUMENT]');
  });

  it('names the URL when nothing listens there', async () => {
    const result = await runCli(['services', '--url', 'http://127.0.0.1:9']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('http://127.0.0.1:9');
    expect(result.stderr).toContain('[DAEMON_UNREACHABLE]');
  });

  it('exits 0 for --help and --version', async () => {
    expect((await runCli(['--version'])).code).toBe(0);
    expect((await runCli(['register', '--help'])).code).toBe(0);
  });
});
