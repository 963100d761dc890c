/**
 * `beacon serve --workers 2` under `kill -9`: a dead DNS worker is replaced, brought up to date, and DNS is
 * answered again within 2 s of each kill (one worker, the other, then both at once); `/health` answers 503
 * naming DNS while a worker is missing, and a write made while none serves is answered by the replacements.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until, type Daemon } from './daemon.js';
import * as scenario from './scenarios.js';
import { buildQuery, tcpQuery } from '../dns/helpers.js';

interface Health {
  readonly status: number;
  readonly body: { status: string; problems?: { component: string; message: string }[] };
}
interface WorkerStats {
  readonly expected: number;
  readonly serving: number;
  readonly restarts: number;
  readonly pids: number[];
}

/** `GET /health` over the control socket (the client turns a 503 into an error; here the body matters). */
function health(daemon: Daemon): Promise<Health> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath: path.join(daemon.dataDir, 'beacon.sock'), path: '/health' }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Health['body'] }));
    });
    request.on('error', reject);
  });
}

async function workers(daemon: Daemon): Promise<WorkerStats> {
  return (JSON.parse(await daemon.ok('stats', '--json')) as { workers: WorkerStats }).workers;
}

/** SRV ports of `name` over UDP, or undefined when no answer came within `timeoutMs`. */
function udpSrvPorts(port: number, name: string, timeoutMs: number): Promise<number[] | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const query = buildQuery(name, 'SRV');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.on('message', (reply) => {
      if (reply.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      clearTimeout(timer);
      socket.close();
      resolve((dnsPacket.decode(reply).answers ?? []).flatMap((a) => (a.type === 'SRV' ? [a.data.port] : [])));
    });
    socket.send(query, port, '127.0.0.1');
  });
}

/**
 * Query until an answer holding `expected` arrives; resolves with the time it took after `since`. Each try
 * waits at most 200 ms, and the loop gives up at 2 s (the bound under test).
 */
async function answeredAgain(port: number, name: string, expected: number, since: number): Promise<number> {
  while (Date.now() - since < 2_000) {
    const ports = await udpSrvPorts(port, name, 200);
    if (ports?.includes(expected)) return Date.now() - since;
  }
  throw new Error(`no UDP answer with port ${expected} for ${name} within 2 s of the kill`);
}

describe('beacon serve --workers 2 under kill -9', () => {
  let daemon: Daemon;

  beforeAll(async () => {
    daemon = await startDaemon([...scenario.SCENARIO_FLAGS, '--workers', '2']);
    await daemon.ok('register', 'sup', 's0', '--port', '32000');
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('starts healthy with two serving workers', async () => {
    expect(await health(daemon)).toEqual({ status: 200, body: { status: 'ok', index: expect.any(Number) } });
    expect(await workers(daemon)).toMatchObject({ expected: 2, serving: 2, restarts: 0 });
  });

  it.each([
    ['the first worker', (pids: number[]) => pids.slice(0, 1)],
    ['the other worker', (pids: number[]) => pids.slice(1, 2)],
    ['both workers at once', (pids: number[]) => pids],
  ])('kill -9 of %s: /health reports the gap, DNS answers again within 2 s, a write in the gap is served', async (_name, pick) => {
    const before = await workers(daemon);
    expect(before.serving).toBe(2);
    const victims = pick(before.pids);
    const killedAt = Date.now();
    for (const pid of victims) process.kill(pid, 'SIGKILL');

    // The gap is seen by /health (bounded wait: a replacement needs at least its 100 ms backoff to start).
    const gap = await until(() => health(daemon), (h) => h.status === 503, 2_000, 5);
    expect(gap.body.status).toBe('unavailable');
    expect(gap.body.problems).toEqual([{ component: 'dns', message: expect.stringMatching(/^\d of 2 DNS workers serving/) }]);
    // With both killed, the standby may already serve one slot when /health is read: 0 or 1 of 2.
    const serving = Number(gap.body.problems?.[0]?.message.split(' ')[0]);
    expect(serving).toBeGreaterThanOrEqual(2 - victims.length);
    expect(serving).toBeLessThan(2);

    // A write while workers are missing is acknowledged, and the replacements answer it.
    const port = 33_000 + victims.length * 10 + before.restarts;
    await daemon.ok('register', 'gap', `g-${port}`, '--port', String(port));

    expect(await answeredAgain(daemon.dnsPort, '_sup._tcp.local', 32000, killedAt)).toBeLessThan(2_000);
    const after = await until(() => workers(daemon), (w) => w.serving === 2, 15_000, 20);
    expect(after.restarts).toBe(before.restarts + victims.length);
    for (const pid of victims) expect(after.pids).not.toContain(pid);
    expect(await health(daemon)).toMatchObject({ status: 200, body: { status: 'ok' } });

    // Every worker now answers the write made during the gap, over UDP and TCP.
    for (let i = 0; i < 10; i++) expect(await udpSrvPorts(daemon.dnsPort, '_gap._tcp.local', 1_000)).toContain(port);
    const tcp = dnsPacket.decode(await tcpQuery(daemon.dnsPort, buildQuery('_gap._tcp.local', 'SRV')));
    expect((tcp.answers ?? []).flatMap((a) => (a.type === 'SRV' ? [a.data.port] : []))).toContain(port);
  });

  it('logs each exit and replacement', () => {
    expect(daemon.logs.filter((line) => line['msg'] === 'DNS worker exited; replacing it')).toHaveLength(4);
    expect(daemon.logs.filter((line) => line['msg'] === 'DNS worker replaced and serving')).toHaveLength(4);
  });
});
