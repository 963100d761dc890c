/**
 * End to end: the real daemon as a child process, driven by the real CLI, resolved by node's resolver and
 * the dns2 client. Short TTLs and timeouts, bounded polling on conditions, no fixed sleeps.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { UDPClient } from 'dns2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { srvPorts, startDaemon, until, type Daemon } from './daemon.js';

/** A local HTTP check target whose status the test sets; `hang` makes it never answer. */
async function checkTarget() {
  let status = 200;
  let hang = false;
  let requests = 0;
  const pending = new Set<Socket>();
  const server = http.createServer((req, res) => {
    requests++;
    if (hang) {
      pending.add(req.socket);
      req.socket.once('close', () => pending.delete(req.socket));
      return;
    }
    res.statusCode = status;
    res.end(String(status));
  });
  server.on('connection', (s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`,
    setStatus: (s: number) => (status = s),
    setHang: (h: boolean) => (hang = h),
    requests: () => requests,
    pending,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('beacon serve end to end', () => {
  let daemon: Daemon;
  const name = (service: string) => `_${service}._tcp.local`;

  beforeAll(async () => {
    daemon = await startDaemon(['--breaker-failures', '3', '--breaker-open-timeout', '1500ms', '--answer-ttl', '1', '--negative-ttl', '1']);
  });
  afterAll(async () => {
    const code = await daemon?.stop();
    expect(code).toBe(0);
  });

  it('registered -> in DNS (node resolver and dns2), deregistered -> out', async () => {
    const out = await daemon.ok('register', 'web', 'web-1', '--address', '127.0.0.1', '--port', '8080', '--meta', 'version=1.2', '--tag', 'v1');
    expect(out).toMatch(/^registered web\/web-1 at 127\.0\.0\.1:8080 \(healthy, index \d+\)/);
    expect(await srvPorts(daemon.dnsPort, name('web'))).toEqual([8080]);

    const query = UDPClient({ dns: '127.0.0.1', port: daemon.dnsPort });
    const srvAnswer = await query('_web._tcp.local', 'SRV');
    expect(srvAnswer.answers.map((a) => (a as unknown as { port: number }).port)).toEqual([8080]);
    const txt = await query('web-1._web._tcp.local', 'TXT');
    expect(JSON.stringify(txt.answers)).toContain('version=1.2');
    const subtype = await query('_v1._sub._web._tcp.local', 'PTR');
    expect(subtype.answers).toHaveLength(1);

    await daemon.ok('deregister', 'web', 'web-1');
    expect(await srvPorts(daemon.dnsPort, name('web'))).toEqual([]);
  });

  it('heartbeats stop -> out of DNS after the TTL; a heartbeat brings it back', async () => {
    await daemon.ok('register', 'beat', 'b1', '--port', '9001', '--ttl', '1500ms');
    await daemon.ok('register', 'beat', 'b2', '--port', '9002', '--ttl', '60s');
    expect(await srvPorts(daemon.dnsPort, name('beat'))).toEqual([9001, 9002]);
    expect(await daemon.ok('heartbeat', 'beat', 'b1')).toBe('beat/b1: healthy\n');
    // No more heartbeats for b1: it leaves DNS once its TTL has passed; b2 stays.
    await until(() => srvPorts(daemon.dnsPort, name('beat')), (ports) => ports.length === 1 && ports[0] === 9002, 10_000);
    const listed = JSON.parse(await daemon.ok('instances', 'beat', '--json')) as { instances: { id: string; health: string; note?: string }[] };
    expect(listed.instances.find((i) => i.id === 'b1')).toMatchObject({ health: 'unhealthy' });
    await daemon.ok('heartbeat', 'beat', 'b1');
    expect(await srvPorts(daemon.dnsPort, name('beat'))).toEqual([9001, 9002]);
  });

  it('HTTP check target starts failing -> out of DNS; recovers -> back', async () => {
    const target = await checkTarget();
    try {
      await daemon.ok('register', 'checked', 'c1', '--port', '7001', '--http-check', target.url, '--check-interval', '200ms', '--check-timeout', '2s');
      await until(() => srvPorts(daemon.dnsPort, name('checked')), (p) => p.length === 1);
      target.setStatus(500);
      await until(() => srvPorts(daemon.dnsPort, name('checked')), (p) => p.length === 0);
      const shown = JSON.parse(await daemon.ok('show', 'checked', 'c1', '--json')) as { instance: { health: string; note: string } };
      expect(shown.instance).toMatchObject({ health: 'unhealthy', note: 'HTTP 500' });
      target.setStatus(200);
      await until(() => srvPorts(daemon.dnsPort, name('checked')), (p) => p.length === 1 && p[0] === 7001);
    } finally {
      await daemon.cli('deregister', 'checked', 'c1');
      await target.close();
    }
  });

  it('a check target that never answers -> unhealthy at its timeout, while other checks and DNS stay responsive', async () => {
    const hung = await checkTarget();
    const lively = await checkTarget();
    hung.setHang(true);
    try {
      await daemon.ok('register', 'lively', 'l1', '--port', '7101', '--http-check', lively.url, '--check-interval', '100ms', '--check-timeout', '1s');
      await daemon.ok('register', 'hung', 'h1', '--port', '7201', '--http-check', hung.url, '--check-interval', '30s', '--check-timeout', '3s');
      // The hung probe is in flight (its connection is open and unanswered)...
      await until(async () => hung.pending.size, (n) => n === 1);
      const livelyBefore = lively.requests();
      // ...and meanwhile DNS answers and the other check keeps probing.
      expect(await srvPorts(daemon.dnsPort, name('lively'))).toEqual([7101]);
      await until(async () => lively.requests(), (n) => n >= livelyBefore + 3);
      expect(hung.pending.size).toBe(1);
      const before = JSON.parse(await daemon.ok('show', 'hung', 'h1', '--json')) as { instance: { health: string } };
      expect(before.instance.health).toBe('unknown');
      // At its timeout the probe is cut off: connection closed, instance unhealthy.
      const after = await until(
        async () => JSON.parse(await daemon.ok('show', 'hung', 'h1', '--json')) as { instance: { health: string; note?: string } },
        (v) => v.instance.health === 'unhealthy',
      );
      expect(after.instance.note).toBe('timeout after 3000 ms');
      await until(async () => hung.pending.size, (n) => n === 0);
      expect(await srvPorts(daemon.dnsPort, name('hung'))).toEqual([]);
    } finally {
      await daemon.cli('deregister', 'hung', 'h1');
      await daemon.cli('deregister', 'lively', 'l1');
      await hung.close();
      await lively.close();
    }
  });

  it('3 reported failures -> circuit open -> out of DNS -> after the open timeout, half-open -> back', async () => {
    await daemon.ok('register', 'cb', 'c1', '--port', '6001');
    await daemon.ok('register', 'cb', 'c2', '--port', '6002');
    expect(await srvPorts(daemon.dnsPort, name('cb'))).toEqual([6001, 6002]);
    expect(await daemon.ok('report', 'cb', 'c1', 'failure')).toBe('cb/c1: circuit closed\n');
    expect(await daemon.ok('report', 'cb', 'c1', 'failure')).toBe('cb/c1: circuit closed\n');
    expect(await daemon.ok('report', 'cb', 'c1', 'failure')).toBe('cb/c1: circuit open\n');
    expect(await srvPorts(daemon.dnsPort, name('cb'))).toEqual([6002]);
    const table = await daemon.ok('instances', 'cb');
    expect(table).toMatch(/c1\s+127\.0\.0\.1\s+6001\s+healthy, circuit open/);
    await until(() => srvPorts(daemon.dnsPort, name('cb')), (p) => p.includes(6001), 10_000);
    const shown = JSON.parse(await daemon.ok('show', 'cb', 'c1', '--json')) as { instance: { circuit: string } };
    expect(shown.instance.circuit).toBe('half-open');
    // Two successes (the success threshold) close it again.
    await daemon.ok('report', 'cb', 'c1', 'success');
    expect(await daemon.ok('report', 'cb', 'c1', 'success')).toBe('cb/c1: circuit closed\n');
  });

  it('gives a one-line error and a non-zero exit status', async () => {
    const unknown = await daemon.cli('heartbeat', 'web', 'ghost');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/^beacon: .*not found.*\[(SERVICE|INSTANCE)_NOT_FOUND\]\n$/);
    const bad = await daemon.cli('register', 'web', 'x', '--port', '70000');
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/INVALID_ARGUMENT/);
  });

  it('reports metrics and stats', async () => {
    const stats = JSON.parse(await daemon.ok('stats', '--json')) as { registry: { totalServices: number }; dns: { queries: number } };
    expect(stats.dns.queries).toBeGreaterThan(0);
    const watch = JSON.parse((await daemon.ok('services', '--json'))) as { services: { name: string }[] };
    expect(watch.services.map((s) => s.name)).toContain('cb');
  });
});
