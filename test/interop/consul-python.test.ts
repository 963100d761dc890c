/**
 * Debian's python3-consul2 client (Python module `consul`), unchanged, against a real `beacon serve` on its authenticated TCP listener
 * (the token as `?token=` and `X-Consul-Token`): register with a TTL check, pass it, read passing health, a blocking query
 * woken by a registration, the catalog, deregistration. Needs python3-consul2 (Debian) for /usr/bin/python3; the
 * older python3-consul (0.7) speaks the pre-1.0 API (GET for writes) that current Consul refuses too.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startDaemon, type Daemon } from '../e2e/daemon.js';

const run = promisify(execFile);
const TOKEN = 'python-consul-interop';
let daemon: Daemon;

beforeAll(async () => {
  daemon = await startDaemon(['--http', '127.0.0.1:0', '--token', TOKEN]);
});

afterAll(async () => {
  await daemon?.stop();
});

describe('python3-consul2 against Beacon', () => {
  it('registers, passes, reads passing health, blocks until a change, lists and deregisters', async () => {
    const started = daemon.logs.find((entry) => entry.msg === 'beacon started') as { control: { tcp: string } };
    const port = started.control.tcp.slice(started.control.tcp.lastIndexOf(':') + 1);
    const script = path.join(ROOT, 'test/interop/support/consul-python-client.py');
    const { stdout } = await run('/usr/bin/python3', [script, port, TOKEN], { timeout: 45_000 });
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    expect(seen.agent_services).toEqual(['web-py']);
    expect(seen.passing).toEqual(['web-py']);
    expect(seen.index).toBeGreaterThan(0);
    expect(seen.blocked_index).toBeGreaterThan(seen.index as number);
    expect(seen.blocked_ids).toEqual(['web-py', 'web-py2']);
    expect(seen.catalog).toEqual({ web: ['py'] });
    expect(seen.leader).toMatch(/:8300$/);
    expect(seen.catalog_after).toEqual({});
  });
});
