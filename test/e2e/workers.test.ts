/**
 * `beacon serve --workers 2`: two DNS worker processes share the DNS sockets and answer from replicas of the
 * daemon's registry. Every answer after an acknowledged write must reflect it, whichever worker reads it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { srvPorts, startDaemon, type Daemon } from './daemon.js';
import * as scenario from './scenarios.js';
import { buildQuery, decode, udpQuery } from '../dns/helpers.js';
import { serialGreater } from '../../src/dns/zone-serial.js';

/** The SOA serials of `count` queries, each from a new socket (so the kernel spreads them over the workers). */
async function soaSerials(port: number, count: number): Promise<number[]> {
  const replies = await Promise.all(Array.from({ length: count }, () => udpQuery(port, buildQuery('local', 'SOA'))));
  return replies.map((r) => Number(decode(r).answer[0]?.split(' ')[6]));
}

describe('beacon serve --workers 2', () => {
  let daemon: Daemon;
  const ports: scenario.PortsOf = (service) => srvPorts(daemon.dnsPort, `_${service}._tcp.local`);

  beforeAll(async () => {
    daemon = await startDaemon([...scenario.SCENARIO_FLAGS, '--workers', '2']);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('runs two DNS worker processes', () => {
    expect(daemon.logs.some((line) => line['msg'] === 'DNS workers serving' && line['workers'] === 2)).toBe(true);
  });

  it('every answer after an acknowledged write reflects it, whichever worker reads the query', async () => {
    for (let round = 0; round < 5; round++) {
      await daemon.ok('register', 'rw', `rw-${round}`, '--port', String(30_000 + round));
      const seen = await Promise.all(Array.from({ length: 20 }, () => ports('rw')));
      for (const answer of seen) expect(answer).toContain(30_000 + round);
      await daemon.ok('deregister', 'rw', `rw-${round}`);
      const after = await Promise.all(Array.from({ length: 20 }, () => ports('rw')));
      for (const answer of after) expect(answer).not.toContain(30_000 + round);
    }
  });

  it('the SOA serial grows with an acknowledged write, and every worker answers the same one', async () => {
    const before = await soaSerials(daemon.dnsPort, 20);
    expect(new Set(before).size).toBe(1);
    await daemon.ok('register', 'serial', 'serial-1', '--port', '32000');
    const after = await soaSerials(daemon.dnsPort, 20);
    expect(new Set(after).size).toBe(1);
    expect(serialGreater(after[0]!, before[0]!), `${before[0]} -> ${after[0]}`).toBe(true);
    // Negative answers carry the same serial in their authority section.
    const nx = decode(await udpQuery(daemon.dnsPort, buildQuery('nothing-here.local', 'A')));
    expect(Number(nx.authority[0]?.split(' ')[6])).toBe(after[0]);
  });

  it('registered -> in DNS, deregistered -> out', () => scenario.registeredThenDeregistered(daemon, ports));

  it('heartbeats stop -> out of DNS after the TTL (the daemon reaps, the workers follow)', () => scenario.heartbeatsStop(daemon, ports));

  it('3 reported failures -> circuit open -> out of DNS -> half-open -> back, in every worker', () => scenario.circuitOpensAndHalfOpens(daemon, ports));

  it('reports the workers\' DNS counters summed in /v1/stats', () => scenario.workerCountersReachStats(daemon, ports));
});
