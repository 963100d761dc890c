/**
 * TCP limits (RFC 7766 §6.2.3, §10) over real loopback sockets: a message deadline that bytes do not extend,
 * eviction of the longest-waiting connection at the cap, a per-client limit, and closing after a dropped
 * message. Deadlines are short and every wait is a bounded wait on a close event, never a sleep.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DnsServer, DnsServerOptions } from '../../src/dns/server.js';
import { clientKey, resolveTcpLimits } from '../../src/dns/tcp-transport.js';
import { FakeView } from './fake-view.js';
import { TcpClient, buildQuery, decode, serveOnLoopback } from './helpers.js';

let server: DnsServer | undefined;
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  await server?.close();
  server = undefined;
});

async function start(tcp: DnsServerOptions['tcp']): Promise<number> {
  const view = new FakeView().set({ service: 'small', id: 's1', address: '10.2.0.1', port: 1 });
  server = await serveOnLoopback(view, { tcp });
  return server.addresses.tcp[0]!.port;
}

/** Write one byte every `everyMs` until the connection closes. */
function trickle(c: TcpClient, everyMs: number): void {
  timers.push(setInterval(() => {
    if (!c.closed) c.socket.write(Buffer.from([0x41]));
  }, everyMs));
}

const query = (id: number) => buildQuery('_small._tcp.local.', 'SRV', { id });

describe('message deadline', () => {
  it('closes a connection that trickles a message one byte at a time (bytes do not extend the deadline)', async () => {
    const port = await start({ messageDeadlineMs: 300, idleTimeoutMs: 60_000 });
    const c = await TcpClient.connect(port);
    c.socket.write(Buffer.from([0xff, 0xff])); // announce 65535 octets, then send them slowly
    trickle(c, 50);
    await c.waitClosed(5_000);
    expect(server!.stats()).toMatchObject({ tcpDeadlineClosed: 1, tcpOpen: 0 });
  });

  it('closes a connection that opens and sends nothing, even with a long idle timeout', async () => {
    const port = await start({ messageDeadlineMs: 300, idleTimeoutMs: 60_000 });
    const c = await TcpClient.connect(port);
    await c.waitClosed(5_000);
    expect(server!.stats().tcpDeadlineClosed).toBe(1);
  });

  it('gives each message its own deadline after a complete one, and answers what came in time', async () => {
    const port = await start({ messageDeadlineMs: 300, idleTimeoutMs: 60_000 });
    const c = await TcpClient.connect(port);
    c.send(query(1));
    expect(decode((await c.waitFor(1))[0]!).id).toBe(1);
    c.socket.write(Buffer.from([0x00]));
    trickle(c, 50);
    await c.waitClosed(5_000);
    expect(server!.stats()).toMatchObject({ tcpDeadlineClosed: 1, tcpIdleClosed: 0 });
  });
});

describe('eviction at the global cap', () => {
  it('closes the connection stuck mid-message longest for a new client', async () => {
    const port = await start({ maxConnections: 2, messageDeadlineMs: 60_000, idleTimeoutMs: 60_000 });
    const stalled = await TcpClient.connect(port);
    stalled.socket.write(Buffer.from([0x00, 0x40, 0x01])); // a message started, never finished
    const idle = await TcpClient.connect(port);
    idle.send(query(2));
    await idle.waitFor(1); // idle from now on: it has waited less than the stalled one
    const fresh = await TcpClient.connect(port);
    fresh.send(query(3));
    expect(decode((await fresh.waitFor(1))[0]!).id).toBe(3);
    await stalled.waitClosed();
    expect(idle.closed).toBe(false);
    expect(server!.stats()).toMatchObject({ tcpEvictedStalled: 1, tcpEvictedIdle: 0, tcpRejected: 0, tcpOpen: 2 });
    idle.close();
    fresh.close();
  });
});

describe('dropped messages', () => {
  it('closes the connection after a message with QR set, answering nothing after it', async () => {
    const port = await start({});
    const c = await TcpClient.connect(port);
    const response = query(5);
    response[2] = response[2]! | 0x80;
    c.send(response);
    c.send(query(6));
    await c.waitClosed();
    expect(c.received).toHaveLength(0);
    expect(server!.stats()).toMatchObject({ tcpDropClosed: 1, dropped: 1 });
  });

  it('closes the connection after a message shorter than a header, having answered the ones before it', async () => {
    const port = await start({});
    const c = await TcpClient.connect(port);
    c.send(query(7));
    c.send(Buffer.from([1, 2, 3]));
    await c.waitClosed();
    expect(c.received.map((r) => decode(r).id)).toEqual([7]);
    expect(server!.stats().tcpDropClosed).toBe(1);
  });
});

describe('limits configuration', () => {
  it('counts clients by address, and IPv6 clients by /64', () => {
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2::ffff'));
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'));
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });

  it('fills defaults and rejects limits below 1', () => {
    expect(resolveTcpLimits({ maxPerClient: 4 })).toEqual({ maxConnections: 256, maxPerClient: 4, messageDeadlineMs: 5000, idleTimeoutMs: 10000 });
    expect(() => resolveTcpLimits({ messageDeadlineMs: 0 })).toThrow(/tcp.messageDeadlineMs/);
    expect(() => resolveTcpLimits({ maxConnections: 1.5 })).toThrow(/tcp.maxConnections/);
  });
});
