/**
 * RFC 7766 §6.2.3 and §10 against an abusive client: one loopback address holds 300 connections trickling a
 * message (a 0xFFFF length prefix, then a byte every 200 ms), another holds 2,000 idle ones, and a second
 * client's `dig +tcp` (from another loopback address) must still be answered within dig's own 1 s timeout;
 * UDP too. The abusive connections must all be closed (the message deadline here is 500 ms); the waits are
 * bounded waits on close events. Run with the per-client limit (the default) and without it (then the global
 * cap's eviction is what keeps the door open).
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { FakeView } from '../dns/fake-view.js';
import { serveOnLoopback } from '../dns/helpers.js';

const ABUSER_TRICKLE = '127.0.0.2';
const ABUSER_IDLE = '127.0.0.3';
const CLIENT = '127.0.0.1';
const DEADLINE_MS = 500;

let server: DnsServer | undefined;
const sockets: net.Socket[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

/** Open `n` connections from `localAddress`, in batches; resolves once each connected or was closed. */
async function open(port: number, localAddress: string, n: number, onConnect: (s: net.Socket) => void): Promise<net.Socket[]> {
  const opened: net.Socket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port, localAddress });
        sockets.push(s);
        s.on('error', () => undefined);
        s.once('connect', () => {
          onConnect(s);
          resolve(s);
        });
        s.once('close', () => resolve(s));
      }),
    );
    opened.push(...(await Promise.all(batch)));
  }
  return opened;
}

/** Resolves when every socket has closed; rejects after `ms` (a bound, not a measurement). */
function allClosed(list: readonly net.Socket[], ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = list.filter((s) => !s.closed).length;
    if (left === 0) return resolve();
    const timer = setTimeout(() => reject(new Error(`${left} abusive connection(s) still open after ${ms} ms`)), ms);
    for (const s of list) {
      if (s.closed) continue;
      s.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}

/** dig from the well-behaved client's address, one try, 1 s timeout: it fails unless answered within 1 s. */
function dig(port: number, tcp: boolean): Promise<string[]> {
  const args = ['-b', CLIENT, '@127.0.0.1', '-p', String(port), '+short', '+tries=1', '+time=1', ...(tcp ? ['+tcp'] : []), '_small._tcp.local', 'SRV'];
  return new Promise((resolve, reject) => {
    execFile('dig', args, { timeout: 5_000 }, (error, stdout) => {
      if (error) reject(new Error(`dig ${tcp ? '+tcp ' : ''}got no answer within 1 s: ${stdout}`));
      else resolve(stdout.split('\n').filter((l) => l !== ''));
    });
  });
}

const ANSWER = ['0 1 1 10-2-0-1.addr.local.'];

describe.each([
  ['per-client limit (default)', {}],
  ['no per-client limit: eviction at the global cap', { maxPerClient: 100_000 }],
])('TCP under abuse, %s', (_title, limits) => {
  it('300 trickling and 2,000 idle connections do not keep dig +tcp (or UDP) from an answer within 1 s; all are closed', async () => {
    const view = new FakeView().set({ service: 'small', id: 's1', address: '10.2.0.1', port: 1 });
    server = await serveOnLoopback(view, { tcp: { messageDeadlineMs: DEADLINE_MS, idleTimeoutMs: 10_000, maxConnections: 256, ...limits } });
    const port = server.addresses.tcp[0]!.port;

    const trickling = await open(port, ABUSER_TRICKLE, 300, (s) => {
      s.write(Buffer.from([0xff, 0xff]));
      timers.push(setInterval(() => {
        if (!s.closed) s.write(Buffer.from([0x41]));
      }, 200));
    });
    expect(await dig(port, true)).toEqual(ANSWER);
    expect(await dig(port, false)).toEqual(ANSWER);

    const idle = await open(port, ABUSER_IDLE, 2000, () => undefined);
    expect(await dig(port, true)).toEqual(ANSWER);
    expect(await dig(port, false)).toEqual(ANSWER);

    await allClosed([...trickling, ...idle], 10 * DEADLINE_MS);
    const stats = server.stats();
    // Every abusive connection was refused, evicted or closed at its deadline; dig's were answered.
    const closedForAbuse = stats.tcpRejected + stats.tcpEvictedIdle + stats.tcpEvictedStalled + stats.tcpDeadlineClosed;
    expect(closedForAbuse).toBeGreaterThanOrEqual(2300);
    expect(stats.tcpDeadlineClosed).toBeGreaterThan(0);
    expect(stats.responsesByRcode['NOERROR']).toBe(4);
  });
});
