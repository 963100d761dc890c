/** The core e2e session and the README session, resolved with `dig` against the real daemon. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until, type Daemon } from '../e2e/daemon.js';
import * as scenario from '../e2e/scenarios.js';
import { replaySession } from '../e2e/session.js';
import { digShort as dig } from './support/dns-tools.js';

/** Sorted SRV ports from `dig +short` lines (`priority weight port target`). */
async function digPorts(port: number, service: string): Promise<number[]> {
  const lines = await dig(port, `_${service}._tcp.local`, 'SRV');
  return lines.map((l) => Number(l.split(' ')[2])).sort((a, b) => a - b);
}

describe('e2e with dig', () => {
  let daemon: Daemon;
  const ports: scenario.PortsOf = (service) => digPorts(daemon.dnsPort, service);
  beforeAll(async () => {
    daemon = await startDaemon(scenario.SCENARIO_FLAGS);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('replays the README session with dig', async () => {
    const results = await replaySession(daemon, (port, name, type) => dig(port, name, type));
    for (const r of results) expect({ command: r.command, output: r.actual }).toEqual({ command: r.command, output: r.expected });
  });

  it('registered -> in DNS, deregistered -> out', () => scenario.registeredThenDeregistered(daemon, ports, 'digweb'));

  it('answers the same over TCP', async () => {
    await daemon.ok('register', 'digtcp', 't1', '--port', '5001');
    expect(await dig(daemon.dnsPort, '_digtcp._tcp.local', 'SRV', true)).toEqual(['0 1 5001 127-0-0-1.addr.local.']);
    await daemon.ok('deregister', 'digtcp', 't1');
    await until(() => dig(daemon.dnsPort, '_digtcp._tcp.local', 'SRV', true), (l) => l.length === 0);
  });

  it('heartbeats stop -> out after the TTL', () => scenario.heartbeatsStop(daemon, ports, 'digbeat'));

  it('HTTP check fails -> out; recovers -> back', () => scenario.httpCheckFailsAndRecovers(daemon, ports, 'digcheck'));

  it('a hung check -> unhealthy at its timeout while DNS and other checks go on', () => scenario.hungCheck(daemon, ports, 'dig'));

  it('3 failures -> circuit open -> out -> half-open -> back', () => scenario.circuitOpensAndHalfOpens(daemon, ports, 'digcb'));
});
