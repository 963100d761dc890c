/**
 * docs/ARCHITECTURE.md, "Protocol duties": EDNS(0), truncation, TCP framing/pipelining/idle timeout/cap/
 * back-pressure, NOTIMP, FORMERR, dropped responses, IPv6, over real sockets.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer, type DnsServerOptions } from '../../src/dns/server.js';
import { FakeView } from './fake-view.js';
import { TcpClient, buildQuery, decode, tcpQuery, udpQuery, EXCHANGE_TIMEOUT_MS, serveOnLoopback, testUdpTransport } from './helpers.js';

let server: DnsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function bigView(n = 60): FakeView {
  const view = new FakeView();
  view.setMany(Array.from({ length: n }, (_, i) => ({ service: 'big', id: `big-instance-${i + 1}`, address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 9000 + i })));
  view.set({ service: 'small', id: 's1', address: '10.2.0.1', port: 1 });
  return view;
}

async function start(view: FakeView = bigView(), extra: Partial<DnsServerOptions> = {}): Promise<number> {
  server = await serveOnLoopback(view, extra);
  return server.addresses.udp[0]!.port;
}

describe('EDNS(0) (RFC 6891)', () => {
  it('echoes an OPT with our 1232 payload and copies the DO bit; no OPT without one', async () => {
    const port = await start();
    const withOpt = decode(await udpQuery(port, buildQuery('_small._tcp.local.', 'SRV', { edns: 4096, dnssecOk: true })));
    expect(withOpt.opt).toEqual({ udpPayloadSize: 1232, version: 0, extendedRcode: 0, do: true });
    const withoutDo = decode(await udpQuery(port, buildQuery('_small._tcp.local.', 'SRV', { edns: 4096 })));
    expect(withoutDo.opt?.do).toBe(false);
    const plain = decode(await udpQuery(port, buildQuery('_small._tcp.local.', 'SRV')));
    expect(plain.opt).toBeUndefined();
    expect(plain.answer).toHaveLength(1);
  });

  it('answers EDNS version 1 with BADVERS and an OPT of version 0', async () => {
    const port = await start();
    const r = decode(await udpQuery(port, buildQuery('_small._tcp.local.', 'SRV', { edns: 1232, ednsVersion: 1 })));
    expect(r.rcode).toBe('BADVERS');
    expect(r.opt).toMatchObject({ version: 0, extendedRcode: 1 });
    expect(r.answer).toEqual([]);
  });
});

describe('truncation (60 instances)', () => {
  it('UDP without EDNS: TC set and no partial answer', async () => {
    const port = await start();
    const reply = await udpQuery(port, buildQuery('_big._tcp.local.', 'SRV'));
    const r = decode(reply);
    expect(reply.length).toBeLessThanOrEqual(512);
    expect(r.tc).toBe(true);
    expect(r.answer).toEqual([]);
    expect(r.question).toEqual(['_big._tcp.local. IN SRV']);
    expect(server!.stats().truncated).toBe(1);
  });

  it('TCP returns the full set', async () => {
    const port = await start();
    const r = decode(await tcpQuery(port, buildQuery('_big._tcp.local.', 'SRV')));
    expect(r.tc).toBe(false);
    expect(r.answer).toHaveLength(60);
    expect(r.additional).toHaveLength(60);
  });

  it('EDNS 1232: either everything fits or TC with an empty answer section', async () => {
    const port = await start();
    for (const qtype of ['SRV', 'PTR', 'A']) {
      const reply = await udpQuery(port, buildQuery('_big._tcp.local.', qtype, { edns: 1232 }));
      const r = decode(reply);
      expect(reply.length).toBeLessThanOrEqual(1232);
      if (r.tc) expect(r.answer).toEqual([]);
      else expect(r.answer).toHaveLength(60);
    }
  });

  it('a client EDNS size above 1232 is capped at 1232', async () => {
    const port = await start();
    const reply = await udpQuery(port, buildQuery('_big._tcp.local.', 'PTR', { edns: 65000 }));
    expect(reply.length).toBeLessThanOrEqual(1232);
  });

  it('drops whole additional RRsets before setting TC', async () => {
    const port = await start(bigView(12));
    const reply = await udpQuery(port, buildQuery('_big._tcp.local.', 'PTR'));
    const r = decode(reply);
    expect(reply.length).toBeLessThanOrEqual(512);
    expect(r.tc).toBe(false);
    expect(r.answer).toHaveLength(12);
    expect(r.additional.length).toBeLessThan(12 * 3);
    // Every additional SRV kept comes with its TXT (whole RRsets only, in order)
    const full = decode(await tcpQuery(port, buildQuery('_big._tcp.local.', 'PTR')));
    expect(full.additional.slice(0, r.additional.length)).toEqual(r.additional);
  });
});

describe('TCP (RFC 7766)', () => {
  it('answers pipelined queries in order on one connection', async () => {
    const port = await start();
    const c = await TcpClient.connect(port);
    try {
      const names = ['_small._tcp.local.', 'nope.local.', '_big._tcp.local.'];
      names.forEach((n, i) => c.send(buildQuery(n, 'SRV', { id: 100 + i })));
      const replies = (await c.waitFor(3)).map(decode);
      expect(replies.map((r) => r.id)).toEqual([100, 101, 102]);
      expect(replies.map((r) => r.rcode)).toEqual(['NOERROR', 'NXDOMAIN', 'NOERROR']);
      expect(replies[2]!.answer).toHaveLength(60);
    } finally {
      c.close();
    }
  });

  it('reassembles a query split across writes, one octet at a time', async () => {
    const port = await start();
    const c = await TcpClient.connect(port);
    try {
      const q = buildQuery('_small._tcp.local.', 'SRV', { id: 9 });
      const framed = Buffer.concat([Buffer.from([0, q.length]), q]);
      for (const byte of framed) c.socket.write(Buffer.from([byte]));
      const [reply] = await c.waitFor(1);
      expect(decode(reply!).id).toBe(9);
    } finally {
      c.close();
    }
  });

  it('closes idle connections after the idle timeout', async () => {
    const port = await start(bigView(), { tcpIdleTimeoutMs: 100 });
    const c = await TcpClient.connect(port);
    c.send(buildQuery('_small._tcp.local.', 'SRV'));
    await c.waitFor(1);
    await c.waitClosed(EXCHANGE_TIMEOUT_MS); // bounded wait for the server's close, no sleep
    expect(c.closed).toBe(true);
  });

  it('refuses connections over the per-client limit and keeps serving the others', async () => {
    const port = await start(bigView(), { tcp: { maxPerClient: 2 } });
    const a = await TcpClient.connect(port);
    const b = await TcpClient.connect(port);
    a.send(buildQuery('_small._tcp.local.', 'SRV', { id: 1 }));
    b.send(buildQuery('_small._tcp.local.', 'SRV', { id: 2 }));
    await a.waitFor(1);
    await b.waitFor(1);
    const third = await TcpClient.connect(port);
    await third.waitClosed();
    expect(third.received).toHaveLength(0);
    expect(server!.stats().tcpRejected).toBe(1);
    a.send(buildQuery('_small._tcp.local.', 'SRV', { id: 3 }));
    expect(decode((await a.waitFor(2))[1]!).id).toBe(3);
    a.close();
    b.close();
  });

  it('at the global cap, closes the longest-idle connection for a new one instead of refusing it', async () => {
    const port = await start(bigView(), { maxTcpConnections: 2 });
    const a = await TcpClient.connect(port);
    a.send(buildQuery('_small._tcp.local.', 'SRV', { id: 1 }));
    await a.waitFor(1);
    const b = await TcpClient.connect(port);
    b.send(buildQuery('_small._tcp.local.', 'SRV', { id: 2 }));
    await b.waitFor(1);
    const third = await TcpClient.connect(port);
    third.send(buildQuery('_small._tcp.local.', 'SRV', { id: 3 }));
    expect(decode((await third.waitFor(1))[0]!).id).toBe(3);
    await a.waitClosed();
    expect(server!.stats()).toMatchObject({ tcpRejected: 0, tcpEvictedIdle: 1, tcpEvictedStalled: 0 });
    b.send(buildQuery('_small._tcp.local.', 'SRV', { id: 4 }));
    expect(decode((await b.waitFor(2))[1]!).id).toBe(4);
    b.close();
    third.close();
  });

  it('applies back-pressure to a client that does not read, and loses nothing once it does', async () => {
    const port = await start();
    const c = await TcpClient.connect(port);
    try {
      c.socket.pause(); // stop reading: ~2.6 KB per reply x 2000 fills every socket buffer
      const n = 2000;
      const q = buildQuery('_big._tcp.local.', 'SRV');
      const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
      const batch = Buffer.concat(Array.from({ length: n }, () => framed));
      c.socket.write(batch);
      c.socket.resume();
      const replies = await c.waitFor(n, 20_000);
      expect(replies).toHaveLength(n);
      expect(replies.every((r) => decode(r).answer.length === 60)).toBe(true);
    } finally {
      c.close();
    }
  });
});

describe('opcodes, malformed and unwanted messages', () => {
  it('answers an unknown opcode with NOTIMP', async () => {
    const port = await start();
    const r = decode(await udpQuery(port, buildQuery('_small._tcp.local.', 'SRV', { opcode: 2, id: 55 })));
    expect([r.id, r.qr, r.rcode]).toEqual([55, true, 'NOTIMP']);
  });

  it('replies to another opcode with every flag set with QR, the opcode and NOTIMP only (RFC 1035 §4.1.1), UDP and TCP', async () => {
    const port = await start();
    for (const opcode of [1, 2, 5, 15]) {
      const query = buildQuery('_small._tcp.local.', 'SRV', { opcode, id: 60 + opcode });
      query.writeUInt16BE((opcode << 11) | 0x07f0, 2); // AA TC RD RA Z AD CD all set
      for (const reply of [await udpQuery(port, query), await tcpQuery(port, query)]) {
        const decoded = dnsPacket.decode(reply);
        expect(decoded.id).toBe(60 + opcode);
        // The whole flags word: QR, the opcode, rcode 4; nothing else.
        expect(reply.readUInt16BE(2)).toBe(0x8000 | (opcode << 11) | 4);
        const named = decoded as unknown as Record<string, boolean>;
        const set = ['flag_qr', 'flag_aa', 'flag_tc', 'flag_rd', 'flag_ra', 'flag_z', 'flag_ad', 'flag_cd'].filter((f) => named[f]);
        expect(set).toEqual(['flag_qr']);
        expect(decode(reply).rcode).toBe('NOTIMP');
      }
    }
  });

  it('still copies RD and CD to a QUERY reply', async () => {
    const port = await start();
    const query = buildQuery('_small._tcp.local.', 'SRV', { id: 70 });
    query.writeUInt16BE(0x0110, 2); // RD CD
    const reply = await udpQuery(port, query);
    expect(reply.readUInt16BE(2) & 0x0110).toBe(0x0110);
  });

  it('answers FORMERR to a query with no question or trailing garbage', async () => {
    const port = await start();
    const noQuestion = buildQuery('_small._tcp.local.', 'SRV', { id: 56 });
    noQuestion.writeUInt16BE(0, 4);
    const r1 = decode(await udpQuery(port, noQuestion.subarray(0, 12)));
    expect([r1.id, r1.rcode]).toEqual([56, 'FORMERR']);
    const garbage = Buffer.concat([buildQuery('_small._tcp.local.', 'SRV', { id: 57 }), Buffer.from([1, 2, 3])]);
    const r2 = decode(await udpQuery(port, garbage));
    expect([r2.id, r2.rcode]).toEqual([57, 'FORMERR']);
  });

  it('refuses zone transfers and classes other than IN', async () => {
    const port = await start();
    expect(decode(await udpQuery(port, buildQuery('local.', 'AXFR'))).rcode).toBe('REFUSED');
    expect(decode(await udpQuery(port, buildQuery('version.bind.', 'TXT', { qclass: 3 }))).rcode).toBe('REFUSED');
  });

  it('never answers a response (QR set) and keeps answering queries', async () => {
    const port = await start();
    const socket = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    const canaryAnswered = new Promise<void>((resolve) => {
      socket.on('message', (m) => {
        replies.push(m);
        if (m.readUInt16BE(0) === 2) resolve();
      });
    });
    const response = buildQuery('_small._tcp.local.', 'SRV', { id: 1 });
    response[2] = (response[2] ?? 0) | 0x80;
    socket.send(response, port, '127.0.0.1');
    socket.send(Buffer.from([1, 2, 3]), port, '127.0.0.1'); // shorter than a header: dropped too
    socket.send(buildQuery('_small._tcp.local.', 'SRV', { id: 2 }), port, '127.0.0.1');
    await canaryAnswered;
    socket.close();
    expect(replies.map((r) => r.readUInt16BE(0))).toEqual([2]);
    expect(server!.stats().dropped).toBe(2);
  });
});

describe('listen addresses', () => {
  it('accepts a host name as the listen address', async () => {
    server = await startDnsServer({ view: bigView(1), listen: [{ host: 'localhost', port: 0 }], zones: [], udpTransport: testUdpTransport() });
    const { address, port } = server.addresses.udp[0]!;
    expect(decode(await udpQuery(port, buildQuery('_small._tcp.local.', 'SRV'), address)).answer).toHaveLength(1);
  });
});

describe('IPv6', () => {
  it('serves on ::1 over UDP and TCP on the same port', async () => {
    const view = bigView(1);
    server = await startDnsServer({ view, listen: [{ host: '::1', port: 0 }], zones: [], udpTransport: testUdpTransport() });
    const port = server.addresses.udp[0]!.port;
    expect(server.addresses.tcp[0]!.port).toBe(port);
    expect(decode(await udpQuery(port, buildQuery('_small._tcp.local.', 'SRV'), '::1')).answer).toHaveLength(1);
    expect(decode(await tcpQuery(port, buildQuery('_small._tcp.local.', 'SRV'), '::1')).answer).toHaveLength(1);
  });
});
