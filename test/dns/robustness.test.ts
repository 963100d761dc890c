/**
 * Malformed and unusual messages: BIND's dns_message_parse corpus (test/fixtures/dns-corpus/)
 * over UDP and TCP, and seeded random-bytes fuzzing of the request handler. Every reply must be well-formed
 * (QR set, same ID, decodable by dns-packet) or absent, and a canary query is answered after each message.
 */
import dgram from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/balancer/strategies.js';
import type { DnsServer } from '../../src/dns/server.js';
import { Authority, parseDomain } from '../../src/dns/authority.js';
import { DnsRequestHandler } from '../../src/dns/handler.js';
import { FakeView } from './fake-view.js';
import { TcpClient, buildQuery, decode, tcpQuery, EXCHANGE_TIMEOUT_MS, serveOnLoopback } from './helpers.js';
import { ParsedQuery, parseQuery } from '../../src/dns/wire.js';

const CORPUS = fileURLToPath(new URL('../fixtures/dns-corpus/', import.meta.url));

function corpus(): { name: string; bytes: Buffer }[] {
  return readdirSync(CORPUS)
    .filter((name) => name.endsWith('.pkt'))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(join(CORPUS, name)) }));
}

function view(): FakeView {
  const v = new FakeView();
  v.set({ service: 'canary', id: 'c1', address: '10.0.0.1', port: 1 });
  v.setMany(Array.from({ length: 30 }, (_, i) => ({ service: 'many', id: `m${i}`, address: `10.3.0.${i + 1}`, port: i + 1, metadata: { k: 'v'.repeat(i * 10) } })));
  return v;
}

/** A reply must be a response to the message: QR set, the same ID, and decodable by an independent decoder. */
function checkReply(reply: Buffer, request: Buffer): void {
  expect(reply.length).toBeGreaterThanOrEqual(12);
  expect(reply[2]! & 0x80).toBe(0x80);
  expect(reply.readUInt16BE(0)).toBe(request.readUInt16BE(0));
  expect(() => dnsPacket.decode(reply)).not.toThrow();
}

const CANARY_ID_BASE = 0xa000;
const canary = (i: number): Buffer => buildQuery('_canary._tcp.local.', 'SRV', { id: CANARY_ID_BASE + (i % 0x1000) });

describe('BIND dns_message_parse corpus', () => {
  let server: DnsServer;
  let port: number;
  beforeAll(async () => {
    server = await serveOnLoopback(view());
    port = server.addresses.udp[0]!.port;
  });
  afterAll(async () => {
    await server.close();
  });

  it('is present (test/fixtures/dns-corpus/)', () => {
    expect(existsSync(CORPUS)).toBe(true);
    expect(corpus().length).toBeGreaterThanOrEqual(300);
  });

  it('over UDP: every reply well-formed or none, and the canary answered after each message', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    let inbox: Buffer[] = [];
    let wake: (() => void) | undefined;
    socket.on('message', (m) => {
      inbox.push(m);
      wake?.();
    });
    let answered = 0;
    try {
      for (const [i, { name, bytes }] of corpus().entries()) {
        const probe = canary(i);
        socket.send(bytes, port, '127.0.0.1');
        socket.send(probe, port, '127.0.0.1');
        const deadline = Date.now() + EXCHANGE_TIMEOUT_MS;
        const isProbeReply = (m: Buffer): boolean => m.length >= 12 && m.readUInt16BE(0) === probe.readUInt16BE(0) && (m[2]! & 0x80) !== 0 && m.length > 12 + 4 && decode(m).answer.length === 1;
        while (!inbox.some(isProbeReply)) {
          if (Date.now() > deadline) throw new Error(`no canary reply after ${name}`);
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 50);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
        const others = inbox.filter((m) => !isProbeReply(m));
        expect(others.length, name).toBeLessThanOrEqual(1);
        for (const reply of others) {
          answered++;
          checkReply(reply, bytes);
        }
        inbox = [];
      }
    } finally {
      socket.close();
    }
    expect(answered).toBeGreaterThan(0);
    expect(server.stats().internalErrors).toBe(0);
  });

  it('over TCP: every reply well-formed or none, and the canary answered after each message', async () => {
    let answered = 0;
    let closedAfterDrop = 0;
    for (const [i, { name, bytes }] of corpus().entries()) {
      if (bytes.length > 65535) continue;
      const probe = canary(i);
      const c = await TcpClient.connect(port);
      try {
        c.send(bytes);
        if (bytes.length < 12 || (bytes[2]! & 0x80) !== 0) {
          // A message the server drops (shorter than a header, or a response) closes the connection, unanswered;
          // the canary then goes over a new connection.
          await c.waitClosed();
          expect(c.received, name).toHaveLength(0);
          closedAfterDrop++;
          expect(decode(await tcpQuery(port, probe)).answer, name).toHaveLength(1);
          continue;
        }
        c.send(probe);
        const replies = await c.waitForId(probe.readUInt16BE(0));
        const last = replies[replies.length - 1]!;
        expect(decode(last).answer, name).toHaveLength(1);
        const before = replies.slice(0, -1);
        expect(before.length, name).toBeLessThanOrEqual(1);
        for (const reply of before) {
          answered++;
          checkReply(reply, bytes);
        }
      } finally {
        c.close();
      }
    }
    expect(answered).toBeGreaterThan(0);
    expect(closedAfterDrop).toBeGreaterThan(0);
    expect(server.stats().internalErrors).toBe(0);
  });
});

describe('request handler fuzzing (seeded, bounded)', () => {
  const domain = parseDomain('local.');
  const handler = new DnsRequestHandler({
    authority: new Authority({ domain, answerTtl: 5, negativeTtl: 5, zones: [] }),
    view: view(),
    domain,
  });
  const seeds = [1, 2, 3];
  const ITERATIONS = 4000;

  it.each(seeds)('random bytes never make it throw, and replies are responses to the request (seed %i)', (seed) => {
    const rnd = seededRandom(seed); // the project's mulberry32: a failure reproduces from its seed
    const templates = [
      buildQuery('_many._tcp.local.', 'PTR', { edns: 1232 }),
      buildQuery('m1._many._tcp.local.', 'SRV'),
      buildQuery('_services._dns-sd._udp.local.', 'PTR', { edns: 512, dnssecOk: true }),
      buildQuery('10-0-0-1.addr.local.', 'A'),
    ];
    let replies = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      let msg: Buffer;
      if (i % 2 === 0) {
        msg = Buffer.from(Array.from({ length: Math.floor(rnd() * 600) }, () => Math.floor(rnd() * 256)));
        if (msg.length > 2 && rnd() < 0.7) msg[2] = msg[2]! & 0x7f; // mostly queries, so the parser goes deep
      } else {
        msg = Buffer.from(templates[i % templates.length]!);
        const flips = 1 + Math.floor(rnd() * 4);
        for (let f = 0; f < flips; f++) msg[Math.floor(rnd() * msg.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.2) msg = msg.subarray(0, Math.floor(rnd() * msg.length));
      }
      let reply: Buffer | undefined;
      expect(() => {
        reply = handler.handle(msg, rnd() < 0.5 ? 'udp' : 'tcp');
      }).not.toThrow();
      if (reply) {
        replies++;
        expect(reply[2]! & 0x80).toBe(0x80);
        expect(reply.readUInt16BE(0)).toBe(msg.readUInt16BE(0));
      }
    }
    expect(replies).toBeGreaterThan(ITERATIONS / 10);
    expect(handler.stats().internalErrors).toBe(0);
  });
});

describe('answerInto, the batched transport entry, answers exactly as handle does', () => {
  const domain = parseDomain('local.');
  const make = () => new DnsRequestHandler({ authority: new Authority({ domain, answerTtl: 5, negativeTtl: 5, zones: [] }), view: view(), domain, maxAnswers: 3 });

  it.each([
    [1, 'without'],
    [2, 'without'],
    [1, 'with'],
    [2, 'with'],
  ] as const)('same replies for the same requests, from a receive slot with stale octets after the datagram (seed %i, %s a kept view of the send slot)', (seed, kept) => {
    // Two handlers with the same data see the same requests: their caches and rotations move in step.
    const plain = make();
    const slotted = make();
    const rnd = seededRandom(seed);
    const templates = [
      buildQuery('_many._tcp.local.', 'PTR', { edns: 1232 }), // 30 PTRs, 3 per reply (windows)
      buildQuery('_many._tcp.local.', 'SRV', { edns: 1232 }),
      buildQuery('m1._many._tcp.local.', 'SRV'),
      buildQuery('M29._MANY._tcp.local.', 'TXT', { edns: 4096 }),
      buildQuery('canary._dns-sd._udp.local.', 'PTR'),
      buildQuery('_canary._tcp.local.', 'SRV'), // 1 SRV: a cached reply copied into the slot
      buildQuery('10-0-0-1.addr.local.', 'A'),
      buildQuery('nothing.local.', 'A'),
      buildQuery('a.', 'A', { opcode: 5 }),
      buildQuery('_canary._tcp.local.', 'SRV', { edns: 1232, ednsVersion: 1 }),
    ];
    const slot = Buffer.alloc(1500);
    const out = Buffer.alloc(1500);
    let written = 0;
    for (let i = 0; i < 3000; i++) {
      let msg = Buffer.from(templates[i % templates.length]!);
      msg.writeUInt16BE(Math.floor(rnd() * 0x10000), 0);
      if (rnd() < 0.2) msg[Math.floor(rnd() * msg.length)] = Math.floor(rnd() * 256);
      if (rnd() < 0.05) msg = msg.subarray(0, Math.floor(rnd() * msg.length));
      slot.fill(Math.floor(rnd() * 256));
      msg.copy(slot);
      // Now and then a send slot too small for the reply: nothing is sent, as on a socket with small slots.
      const room = rnd() < 0.1 ? 40 : out.length;
      out.fill(0xee);
      const expected = plain.handle(msg, 'udp');
      const into = out.subarray(0, room);
      const length = slotted.answerInto(slot, msg.length, into, kept === 'with' ? new DataView(into.buffer, into.byteOffset, into.length) : undefined);
      if (expected === undefined || expected.length > room) {
        expect(length).toBe(-1);
      } else {
        expect(out.subarray(0, length)).toEqual(expected);
        expect(out[length]).toBe(length < room ? 0xee : out[length]); // nothing written past the reply
        written++;
      }
    }
    expect(written).toBeGreaterThan(2000);
    // The same counts (the sampled latencies aside: they are timings).
    const counts = (h: DnsRequestHandler) => ({ ...h.stats(), answerLatency: undefined });
    expect(counts(slotted)).toEqual(counts(plain));
  });
});

describe('cached questions whose keys share a hash', () => {
  it('each get their own reply, in either case and EDNS shape, over both entry points', () => {
    const domain = parseDomain('local.');
    const handler = new DnsRequestHandler({ authority: new Authority({ domain, answerTtl: 5, negativeTtl: 5, zones: [] }), view: view(), domain });
    // Two names whose cache keys (folded name + type A) have the same FNV-1a hash (found by search).
    const names = ['c479599.local.', 'c662382.local.'];
    const q = new ParsedQuery();
    const hashes = names.map((n) => (parseQuery(buildQuery(n, 'A'), q), q.keyHash));
    expect(hashes[0]).toBe(hashes[1]);
    const out = Buffer.alloc(1232);
    for (let round = 0; round < 3; round++) {
      for (const name of [...names, ...names.map((n) => n.toUpperCase())]) {
        for (const edns of [false, 1232] as const) {
          const msg = buildQuery(name, 'A', { edns, id: round });
          const replies = [handler.handle(msg, 'udp')!, out.subarray(0, handler.answerInto(msg, msg.length, out))];
          for (const reply of replies) {
            const decoded = decode(reply);
            expect([decoded.id, decoded.rcode, decoded.packet.questions?.[0]?.name]).toEqual([round, 'NXDOMAIN', name.slice(0, -1)]);
            expect(reply.subarray(12, 12 + name.length + 1)).toEqual(msg.subarray(12, 12 + name.length + 1)); // as asked
          }
        }
      }
    }
    expect(handler.stats()).toMatchObject({ cacheEntries: 2, cacheMisses: 2 });
  });
});
