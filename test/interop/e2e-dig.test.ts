/** The e2e core session and the README session, resolved with `dig` against the real daemon. */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until, type Daemon } from '../e2e/daemon.js';
import { replaySession } from '../e2e/session.js';

function dig(port: number, name: string, type: string, tcp = false): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const args = ['@127.0.0.1', '-p', String(port), '+short', '+time=2', '+tries=2', ...(tcp ? ['+tcp'] : []), name, type];
    execFile('dig', args, { timeout: 15_000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split('\n').filter((l) => l !== ''));
    });
  });
}

describe('e2e with dig', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startDaemon(['--breaker-failures', '3', '--breaker-open-timeout', '1500ms']);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('replays the README session with dig', async () => {
    const results = await replaySession(daemon, (port, name, type) => dig(port, name, type));
    for (const r of results) expect({ command: r.command, output: r.actual }).toEqual({ command: r.command, output: r.expected });
  });

  it('registered -> in DNS over UDP and TCP; heartbeats stop -> out after the TTL', async () => {
    await daemon.ok('register', 'dug', 'd1', '--port', '5001', '--ttl', '1500ms');
    expect(await dig(daemon.dnsPort, '_dug._tcp.local', 'SRV')).toEqual(['0 1 5001 127-0-0-1.addr.local.']);
    expect(await dig(daemon.dnsPort, '_dug._tcp.local', 'SRV', true)).toEqual(['0 1 5001 127-0-0-1.addr.local.']);
    await until(() => dig(daemon.dnsPort, '_dug._tcp.local', 'SRV'), (lines) => lines.length === 0, 10_000);
  });

  it('3 reported failures -> circuit open -> out of dig answers -> half-open -> back', async () => {
    await daemon.ok('register', 'cbdig', 'x1', '--port', '5101');
    await daemon.ok('register', 'cbdig', 'x2', '--port', '5102');
    for (let i = 0; i < 3; i++) await daemon.ok('report', 'cbdig', 'x1', 'failure');
    expect(await dig(daemon.dnsPort, '_cbdig._tcp.local', 'SRV')).toEqual(['0 1 5102 127-0-0-1.addr.local.']);
    await until(() => dig(daemon.dnsPort, '_cbdig._tcp.local', 'SRV'), (lines) => lines.length === 2, 10_000);
  });
});
