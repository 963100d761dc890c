/**
 * `beacon serve --dns-thread`: one process, DNS answered by a worker thread from a replica of the registry on
 * an event loop of its own. Every answer after an acknowledged write must reflect it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { srvPorts, startDaemon, type Daemon } from './daemon.js';
import * as scenario from './scenarios.js';
import { buildQuery, decode, udpQuery } from '../dns/helpers.js';
import { serialGreater } from '../../src/dns/zone-serial.js';

/** Pids of the processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent pid; the command name before it is in parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process ended while we read
    }
  }
  return children;
}

/** The SOA serial in the answer to a SOA query for local. */
async function soaSerial(port: number): Promise<number> {
  return Number(decode(await udpQuery(port, buildQuery('local', 'SOA'))).answer[0]?.split(' ')[6]);
}

describe('beacon serve --dns-thread', () => {
  let daemon: Daemon;
  const ports: scenario.PortsOf = (service) => srvPorts(daemon.dnsPort, `_${service}._tcp.local`);

  beforeAll(async () => {
    daemon = await startDaemon([...scenario.SCENARIO_FLAGS, '--dns-thread']);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('answers DNS from a thread: one worker serves, and the daemon forks no process', async () => {
    expect(daemon.logs.some((line) => line['msg'] === 'DNS workers serving' && line['workers'] === 1)).toBe(true);
    const stats = JSON.parse(await daemon.ok('stats', '--json')) as { workers?: { serving: number; pids: number[] } };
    expect(stats.workers).toMatchObject({ serving: 1, pids: [] });
    expect(childrenOf(daemon.child.pid!)).toEqual([]);
  });

  it('every answer after an acknowledged write reflects it', async () => {
    for (let round = 0; round < 5; round++) {
      await daemon.ok('register', 'rw', `rw-${round}`, '--port', String(30_000 + round));
      expect(await ports('rw')).toContain(30_000 + round);
      await daemon.ok('deregister', 'rw', `rw-${round}`);
      expect(await ports('rw')).not.toContain(30_000 + round);
    }
  });

  it('the SOA serial grows with an acknowledged write', async () => {
    const before = await soaSerial(daemon.dnsPort);
    await daemon.ok('register', 'serial', 'serial-1', '--port', '32000');
    const after = await soaSerial(daemon.dnsPort);
    expect(serialGreater(after, before), `${before} -> ${after}`).toBe(true);
  });

  it('registered -> in DNS, deregistered -> out', () => scenario.registeredThenDeregistered(daemon, ports));

  it('heartbeats stop -> out of DNS after the TTL (the main loop reaps, the thread follows)', () => scenario.heartbeatsStop(daemon, ports));

  it('3 reported failures -> circuit open -> out of DNS -> half-open -> back', () => scenario.circuitOpensAndHalfOpens(daemon, ports));

  it('reports the thread\'s DNS counters in /v1/stats', () => scenario.workerCountersReachStats(daemon, ports));
});
