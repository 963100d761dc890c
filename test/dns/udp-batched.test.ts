// The batched UDP transport: the native addon on its own (bind v4/v6 on port 0, batches, bounds, drops,
// counters, close, worker threads) and behind the DNS server. Real sockets on loopback only.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { loadUdpBatchAddon, chooseUdpTransport, type UdpBatchAddon } from '../../src/dns/udp-batched.js';
import type { DnsServer } from '../../src/dns/server.js';
import { FakeView } from './fake-view.js';
import { EXCHANGE_TIMEOUT_MS, buildQuery, decode, serveOnLoopback, udpQuery } from './helpers.js';

const ADDON_INDEX = new URL('../../native/udp-batch/index.cjs', import.meta.url).pathname;

function addon(): UdpBatchAddon {
  const load = loadUdpBatchAddon();
  if (!load.ok) throw new Error(load.reason);
  return load.addon;
}

type Native = InstanceType<UdpBatchAddon['UdpBatchSocket']>;
const opened: Native[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

/** A native socket that echoes every datagram with its first byte inverted; `seen` collects each batch's size. */
function echoSocket(options: { address: string; batchSize?: number; batchesPerEvent?: number; eventBudgetUs?: number; onBatch?: (count: number, socket: Native) => void }): { socket: Native; seen: number[] } {
  const seen: number[] = [];
  const { UdpBatchSocket } = addon();
  const bounds = {
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(options.batchesPerEvent ? { batchesPerEvent: options.batchesPerEvent } : {}),
    ...(options.eventBudgetUs !== undefined ? { eventBudgetUs: options.eventBudgetUs } : {}),
  };
  const socket: Native = new UdpBatchSocket({ address: options.address, port: 0, reusePort: false, ipv6Only: false, ...bounds } as never, (count) => {
    seen.push(count);
    for (let i = 0; i < count; i++) {
      const length = socket.lengths[i]!;
      if (length < 0) continue;
      const offset = i * socket.slotSize;
      socket.recv.copy(socket.send, offset, offset, offset + length);
      socket.send[offset] = socket.send[offset]! ^ 0xff;
      socket.replyLengths[i] = length;
    }
    options.onBatch?.(count, socket);
  });
  opened.push(socket);
  return { socket, seen };
}

/** Send datagrams from one client socket and wait (bounded) for `expect` replies. */
async function exchange(port: number, messages: Buffer[], expected: number, host = '127.0.0.1'): Promise<Buffer[]> {
  const client = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const replies: Buffer[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${replies.length}/${expected} replies within ${EXCHANGE_TIMEOUT_MS} ms`)), EXCHANGE_TIMEOUT_MS);
      client.on('message', (m) => {
        replies.push(m);
        if (replies.length === expected) {
          clearTimeout(timer);
          resolve();
        }
      });
      for (const m of messages) client.send(m, port, host);
    });
  } finally {
    client.close();
  }
  return replies;
}

describe('native batched UDP socket', () => {
  it('loads on Linux', () => {
    const load = loadUdpBatchAddon();
    expect(load.ok ? 'loaded' : load.reason).toBe('loaded');
  });

  it('binds port 0 on IPv4 and IPv6 and reports the bound address', () => {
    const v4 = echoSocket({ address: '127.0.0.1' }).socket.address();
    const v6 = echoSocket({ address: '::1' }).socket.address();
    expect(v4).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
    expect(v6).toMatchObject({ address: '::1', family: 'IPv6' });
    expect(v4.port).toBeGreaterThan(0);
    expect(v6.port).toBeGreaterThan(0);
  });

  it('answers datagrams in batches over IPv4 and IPv6 and counts them', async () => {
    for (const address of ['127.0.0.1', '::1']) {
      const { socket, seen } = echoSocket({ address, batchSize: 8 });
      const messages = Array.from({ length: 40 }, (_, i) => Buffer.from(`query-${i}`));
      const replies = await exchange(socket.address().port, messages, 40, address);
      const expected = messages.map((m) => Buffer.from([m[0]! ^ 0xff, ...m.subarray(1)]).toString('latin1')).sort();
      expect(replies.map((r) => r.toString('latin1')).sort()).toEqual(expected);
      expect(Math.max(...seen)).toBeLessThanOrEqual(8);
      expect(socket.stats()).toEqual({ received: 40, sent: 40, batches: seen.length, sendErrors: 0, drops: 0 });
    }
  });

  it('drops datagrams larger than a slot and keeps answering', async () => {
    const { socket } = echoSocket({ address: '127.0.0.1' });
    const replies = await exchange(socket.address().port, [Buffer.alloc(socket.slotSize + 1, 1), Buffer.from('small')], 1);
    expect(replies.map((r) => r.subarray(1).toString())).toEqual(['mall']);
    expect(socket.stats()).toMatchObject({ received: 2, sent: 1, drops: 1 });
  });

  it('refuses to send a reply length past its slot', async () => {
    let first = true;
    const { socket } = echoSocket({
      address: '127.0.0.1',
      onBatch: (_count, s) => {
        if (first) s.replyLengths[0] = s.slotSize + 1;
        first = false;
      },
    });
    // Loopback keeps the order: 'bad' is handled first (alone or in the same batch), so one reply means it was refused.
    const replies = await exchange(socket.address().port, [Buffer.from('bad'), Buffer.from('good')], 1);
    expect(replies.map((r) => r.subarray(1).toString())).toEqual(['ood']);
    expect(socket.stats()).toMatchObject({ received: 2, sent: 1, sendErrors: 1 });
  });

  /**
   * Queue 20 datagrams before the server's loop turn reads any (the sends complete first), then one more to
   * flush, on a socket reading one datagram per batch with these bounds. Returns how many batches had been
   * handled when an immediate queued in the first batch ran: below 20 means the readable event ended before
   * all 20 were read. `perBatch` runs in every batch.
   */
  async function immediateRunsAfter(bounds: { batchesPerEvent: number; eventBudgetUs?: number }, perBatch: () => void = () => undefined): Promise<number> {
    let immediateRanAt = -1;
    let batches = 0;
    const { socket } = echoSocket({
      address: '127.0.0.1',
      batchSize: 1,
      ...bounds,
      onBatch: () => {
        batches++;
        if (batches === 1) setImmediate(() => (immediateRanAt = batches));
        perBatch();
      },
    });
    const client = dgram.createSocket('udp4');
    const messages = Array.from({ length: 20 }, (_, i) => Buffer.from(`q${i}`));
    await Promise.all(messages.map((m) => new Promise<void>((resolve) => client.send(m, socket.address().port, '127.0.0.1', () => resolve()))));
    client.close();
    await exchange(socket.address().port, [Buffer.from('last')], 1);
    expect(batches).toBe(21);
    return immediateRanAt;
  }

  it('yields to the event loop between batches (bounded batches per readable event)', async () => {
    // One batch per wake-up: the immediate runs before the last of the 20 is read; unbounded, after all of them.
    const ranAt = await immediateRunsAfter({ batchesPerEvent: 1 });
    expect(ranAt).toBeGreaterThan(0);
    expect(ranAt).toBeLessThan(20);
  });

  it('stops reading batches once a readable event has used its time budget, whatever the batch count allows', async () => {
    // Room for 1,024 batches per event: only the time budget can end the event early. Each batch busies the loop
    // until the monotonic clock has moved 50 us, past a 1 us budget whatever the machine's speed; with no budget
    // (0) all 20 queued datagrams are read in the first event.
    const spin = (): void => {
      const until = process.hrtime.bigint() + 50_000n;
      while (process.hrtime.bigint() < until);
    };
    const bounded = await immediateRunsAfter({ batchesPerEvent: 1024, eventBudgetUs: 1 }, spin);
    expect(bounded).toBeGreaterThan(0);
    expect(bounded).toBeLessThan(20);
    expect(await immediateRunsAfter({ batchesPerEvent: 1024, eventBudgetUs: 0 }, spin)).toBeGreaterThanOrEqual(20);
  });

  it('serve() answers the datagrams waiting now, before the loop polls, and reads nothing from inside a batch', () => {
    let nested = -1;
    const { socket, seen } = echoSocket({ address: '127.0.0.1', onBatch: (_count, s) => void (nested = s.serve(0)) });
    const port = socket.address().port;
    // The datagrams land in the socket's queue while this thread is blocked (a child process sends them), so
    // no readable event can have taken them: only serve() can answer them here.
    execFileSync(process.execPath, ['-e', `const s = require('node:dgram').createSocket('udp4'); let n = 0;
      for (let i = 0; i < 3; i++) s.send(Buffer.from([i, 1, 2]), ${port}, '127.0.0.1', () => { if (++n === 3) s.close(); });`]);
    expect(socket.serve(0)).toBe(3);
    expect(seen).toEqual([3]);
    expect(nested).toBe(0);
    expect(socket.stats()).toMatchObject({ received: 3, batches: 1 });
    expect(socket.serve(0)).toBe(0); // nothing waiting
    expect(socket.serve()).toBe(0); // absent: the readable event's own budget
    for (const bad of ['soon', -1, 1.5, 2_000_000]) expect(() => socket.serve(bad as number)).toThrow(/budgetUs/);
  });

  it('closes at once: the port is free again, close is idempotent, counters stay readable', () => {
    const { UdpBatchSocket } = addon();
    const { socket } = echoSocket({ address: '127.0.0.1' });
    const { port } = socket.address();
    expect(() => new UdpBatchSocket({ address: '127.0.0.1', port, reusePort: false, ipv6Only: false }, () => undefined)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    socket.close();
    socket.close();
    expect(socket.stats().received).toBe(0);
    const again = new UdpBatchSocket({ address: '127.0.0.1', port, reusePort: false, ipv6Only: false }, () => undefined);
    opened.push(again);
    expect(again.address().port).toBe(port);
  });

  it('shares a port between SO_REUSEPORT sockets only', () => {
    const { UdpBatchSocket } = addon();
    const a = new UdpBatchSocket({ address: '127.0.0.1', port: 0, reusePort: true, ipv6Only: false }, () => undefined);
    opened.push(a);
    const { port } = a.address();
    const b = new UdpBatchSocket({ address: '127.0.0.1', port, reusePort: true, ipv6Only: false }, () => undefined);
    opened.push(b);
    expect(b.address().port).toBe(port);
    expect(() => new UdpBatchSocket({ address: '127.0.0.1', port, reusePort: false, ipv6Only: false }, () => undefined)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
  });

  it('rejects bad options with a clear error', () => {
    const { UdpBatchSocket } = addon();
    expect(() => new UdpBatchSocket({ address: 'localhost', port: 0, reusePort: false, ipv6Only: false }, () => undefined)).toThrow(/IPv4 or IPv6 literal/);
    expect(() => new UdpBatchSocket({ address: '127.0.0.1', port: 70000, reusePort: false, ipv6Only: false }, () => undefined)).toThrow(/port must be/);
    expect(() => new UdpBatchSocket({ address: '127.0.0.1', port: 0, batchSize: 65 } as never, () => undefined)).toThrow(/batchSize must be/);
  });

  it('closes its socket when a worker thread ends without closing it', async () => {
    // The worker opens a socket, reports the port and is terminated: the env cleanup hook must release the port.
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { UdpBatchSocket } = require(${JSON.stringify(ADDON_INDEX)});
      const s = new UdpBatchSocket({ address: '127.0.0.1', port: 0 }, () => {});
      parentPort.postMessage(s.address().port);`;
    const worker = new Worker(code, { eval: true });
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    const { UdpBatchSocket } = addon();
    const again = new UdpBatchSocket({ address: '127.0.0.1', port, reusePort: false, ipv6Only: false }, () => undefined);
    opened.push(again);
    expect(again.address().port).toBe(port);
  });

});

describe('DNS server on the batched transport', () => {
  let server: DnsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers a query, reports the transport and counts batches and drops', async () => {
    const view = new FakeView().set({ service: 'web', id: 'a', address: '10.0.0.1', port: 80 });
    server = await serveOnLoopback(view, { udpTransport: 'batched' });
    expect(server.udpTransport).toBe('batched');
    expect(server.udpTransportReason).toBeUndefined();
    const port = server.addresses.udp[0]!.port;
    const reply = decode(await udpQuery(port, buildQuery('_web._tcp.local.', 'SRV', { id: 7 })));
    expect(reply).toMatchObject({ id: 7, qr: true, rcode: 'NOERROR' });
    await exchange(port, [Buffer.alloc(5000), buildQuery('_web._tcp.local.', 'SRV', { id: 8 })], 1);
    expect(server.udpCounters()).toMatchObject({ received: 3, sent: 2, drops: 1, sendErrors: 0 });
    expect(server.stats().dropped).toBe(1);
  });

  it('runs on dgram when asked, and explains why auto fell back', async () => {
    const view = new FakeView();
    server = await serveOnLoopback(view, { udpTransport: 'dgram' });
    expect(server.udpTransport).toBe('dgram');
    expect(server.udpCounters()).toBeUndefined();
    expect(chooseUdpTransport('auto', [{ port: 53 }], false)).toMatchObject({ transport: 'batched' });
    expect(chooseUdpTransport('dgram', [{ port: 53 }], false)).toEqual({ transport: 'dgram' });
  });

});
