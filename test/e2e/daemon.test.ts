/**
 * End to end: the real daemon as a child process, driven by the real CLI, resolved by node's resolver and
 * the dns2 client. Short TTLs and timeouts, bounded polling on conditions, no fixed sleeps.
 */
import { Resolver } from 'node:dns/promises';
import { UDPClient } from 'dns2';
import { ControlClient } from '../../src/control/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { srvPorts, startDaemon, until, type Daemon } from './daemon.js';
import * as scenario from './scenarios.js';

describe('beacon serve end to end (node resolver, dns2)', () => {
  let daemon: Daemon;
  const ports: scenario.PortsOf = (service) => srvPorts(daemon.dnsPort, `_${service}._tcp.local`);

  beforeAll(async () => {
    daemon = await startDaemon(scenario.SCENARIO_FLAGS);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('registered -> in DNS, deregistered -> out', () => scenario.registeredThenDeregistered(daemon, ports));

  it('dns2 sees SRV, TXT and subtype PTR of a registered instance', async () => {
    await daemon.ok('register', 'dnstwo', 'd-1', '--port', '8090', '--meta', 'version=1.2', '--tag', 'v1');
    const query = UDPClient({ dns: '127.0.0.1', port: daemon.dnsPort });
    const srvAnswer = await query('_dnstwo._tcp.local', 'SRV');
    expect(srvAnswer.answers.map((a) => (a as unknown as { port: number }).port)).toEqual([8090]);
    const txt = await query('d-1._dnstwo._tcp.local', 'TXT');
    expect(JSON.stringify(txt.answers)).toContain('version=1.2');
    const subtype = await query('_v1._sub._dnstwo._tcp.local', 'PTR');
    expect(subtype.answers).toHaveLength(1);
    await daemon.ok('deregister', 'dnstwo', 'd-1');
    expect((await query('_dnstwo._tcp.local', 'SRV')).answers).toEqual([]);
  });

  it('heartbeats stop -> out of DNS after the TTL; a heartbeat brings it back', () => scenario.heartbeatsStop(daemon, ports));

  it('HTTP check target starts failing -> out of DNS; recovers -> back', () => scenario.httpCheckFailsAndRecovers(daemon, ports));

  it('a check target that never answers -> unhealthy at its timeout, while other checks and DNS stay responsive', () => scenario.hungCheck(daemon, ports));

  it('3 reported failures -> circuit open -> out of DNS -> after the open timeout, half-open -> back', () => scenario.circuitOpensAndHalfOpens(daemon, ports));

  it('100 concurrent registrations through the real daemon\'s socket (SQLite): all 100 listed and in DNS', async () => {
    const client = new ControlClient({ socketPath: `${daemon.dataDir}/beacon.sock` });
    const acks = await Promise.all(Array.from({ length: 100 }, (_, i) => client.register('crowd', `c-${i}`, { address: '127.0.0.1', port: 20_000 + i })));
    expect(new Set(acks.map((a) => a.index)).size).toBe(100);
    const listed = await client.instances('crowd');
    expect(listed.instances.map((i) => i.port).sort()).toEqual(Array.from({ length: 100 }, (_, i) => 20_000 + i));
    // Over TCP (an answer this large does not fit UDP), DNS has all 100 too.
    const resolver = new Resolver();
    resolver.setServers([`127.0.0.1:${daemon.dnsPort}`]);
    expect((await resolver.resolveSrv('_crowd._tcp.local')).length).toBe(100);
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

  it('reports DNS counters in stats and Prometheus metrics', async () => {
    const target = await scenario.checkTarget();
    target.setStatus(500);
    try {
      await daemon.ok('register', 'metered', 'm1', '--port', '5501');
      await daemon.ok('register', 'metered', 'm2', '--port', '5502', '--http-check', target.url, '--check-interval', '100ms');
      for (let i = 0; i < 3; i++) await daemon.ok('report', 'metered', 'm1', 'failure');
      expect(await ports('metered')).toEqual([]);
      await until(() => daemon.ok('show', 'metered', 'm2', '--json'), (out) => out.includes('"health": "unhealthy"'));
      const stats = JSON.parse(await daemon.ok('stats', '--json')) as { dns: { queries: number }; eventLoop: { maxStallMs: number; samples: number; windowMs: number } };
      expect(stats.dns.queries).toBeGreaterThan(0);
      // The daemon's event-loop stalls since the previous stats read: a real window with samples in it.
      expect(stats.eventLoop.samples).toBeGreaterThan(0);
      expect(stats.eventLoop.maxStallMs).toBeGreaterThanOrEqual(0);
      expect(stats.eventLoop.windowMs).toBeGreaterThan(0);
      const metrics = await new ControlClient({ socketPath: `${daemon.dataDir}/beacon.sock` }).metrics();
      expect(metrics).toMatch(/beacon_dns_queries_total\{qtype="SRV"\} [1-9]/);
      expect(metrics).toMatch(/beacon_dns_responses_total\{rcode="NOERROR"\} [1-9]/);
      expect(metrics).toMatch(/beacon_dns_cache_hits_total \d+/);
      expect(metrics).toMatch(/beacon_check_results_total\{result="fail",type="http"\} [1-9]/);
      expect(metrics).toMatch(/beacon_breaker_transitions_total\{from="closed",to="open"\} [1-9]/);
      expect(metrics).toMatch(/beacon_registrations_total\{kind="new"\} [1-9]/);
    } finally {
      await target.close();
    }
  });
});
