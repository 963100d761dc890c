/**
 * Test helpers: build queries independently of src/dns (hand-built bytes, dns-packet), send them over real
 * UDP/TCP sockets on loopback, decode replies with dns-packet and print records as zone-file lines.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { startDnsServer, type DnsServer, type DnsServerOptions, type UdpTransportChoice } from '../../src/dns/server.js';
import type { DnsView } from '../../src/dns/view.js';

/** Wait bound for any single exchange (never a sleep: the promise settles on the reply). */
export const EXCHANGE_TIMEOUT_MS = 3000;

const TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, AXFR: 252, ANY: 255, CAA: 257 };

/** Encode a name from explicit labels (so dots and spaces inside a label stay inside it). */
export function wireName(labels: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'utf8');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Split a plain presentation name (no escapes) into labels. */
export function labelsOf(name: string): string[] {
  return name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
}

export interface QueryOptions {
  id?: number;
  /** EDNS UDP payload size; false (default) = no OPT. */
  edns?: number | false;
  ednsVersion?: number;
  dnssecOk?: boolean;
  rd?: boolean;
  opcode?: number;
  qclass?: number;
}

/** A query built by hand (header + question [+ OPT]). `name` is labels, or a plain name. */
export function buildQuery(name: string | readonly string[], type: string | number, o: QueryOptions = {}): Buffer {
  const labels = typeof name === 'string' ? labelsOf(name) : name;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(o.id ?? 0x1234, 0);
  header.writeUInt16BE(((o.opcode ?? 0) << 11) | (o.rd === false ? 0 : 0x0100), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(o.edns === undefined || o.edns === false ? 0 : 1, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(typeof type === 'number' ? type : (TYPES[type] ?? 0), 0);
  q.writeUInt16BE(o.qclass ?? 1, 2);
  const parts = [header, wireName(labels), q];
  if (o.edns !== undefined && o.edns !== false) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(o.edns, 3);
    opt[6] = o.ednsVersion ?? 0;
    opt.writeUInt16BE(o.dnssecOk ? 0x8000 : 0, 7);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

/** Send one UDP datagram and wait for the reply whose ID matches; rejects after the bound. */
export function udpQuery(port: number, msg: Buffer, host = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const id = msg.readUInt16BE(0);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP reply within ${EXCHANGE_TIMEOUT_MS} ms`));
    }, EXCHANGE_TIMEOUT_MS);
    socket.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === id) {
        clearTimeout(timer);
        socket.close();
        resolve(reply);
      }
    });
    socket.send(msg, port, host);
  });
}

/** A TCP connection speaking RFC 7766 framing; replies are queued in arrival order. */
export class TcpClient {
  private buffer = Buffer.alloc(0);
  private readonly replies: Buffer[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 2 && this.buffer.length >= 2 + this.buffer.readUInt16BE(0)) {
        const len = this.buffer.readUInt16BE(0);
        this.replies.push(this.buffer.subarray(2, 2 + len));
        this.buffer = this.buffer.subarray(2 + len);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new TcpClient(socket)));
      socket.once('error', reject);
    });
  }

  send(msg: Buffer): void {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    this.socket.write(Buffer.concat([len, msg]));
  }

  /** Wait (bounded) until `n` replies arrived or the connection closed; returns the replies so far. */
  async waitFor(n: number, timeoutMs = EXCHANGE_TIMEOUT_MS): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.replies.length}/${n} TCP replies within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies.slice(0, n);
  }

  /** Wait (bounded) until a reply with this ID arrived; returns every reply received so far. */
  async waitForId(id: number, timeoutMs = EXCHANGE_TIMEOUT_MS): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.replies.some((r) => r.length >= 2 && r.readUInt16BE(0) === id)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) throw new Error(`no TCP reply with id ${id} (${this.closed ? 'closed' : 'timeout'})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return [...this.replies];
  }

  /** Wait (bounded) for the server to close the connection. */
  async waitClosed(timeoutMs = EXCHANGE_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  get received(): readonly Buffer[] {
    return this.replies;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One query over TCP on a fresh connection. */
export async function tcpQuery(port: number, msg: Buffer, host = '127.0.0.1'): Promise<Buffer> {
  const c = await TcpClient.connect(port, host);
  try {
    c.send(msg);
    const [reply] = await c.waitFor(1);
    if (!reply) throw new Error('connection closed without a reply');
    return reply;
  } finally {
    c.close();
  }
}

const typeName = (t: string | number): string => String(t);

function rdataText(a: dnsPacket.Answer): string {
  const d = (a as { data?: unknown }).data;
  switch (a.type) {
    case 'A':
    case 'AAAA':
      return String(d);
    case 'PTR':
    case 'CNAME':
    case 'NS':
      return `${String(d)}.`;
    case 'SRV': {
      const s = d as dnsPacket.SrvAnswer['data'];
      return `${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${s.target}.`;
    }
    case 'TXT': {
      const list = (Array.isArray(d) ? d : [d]) as (Buffer | string)[];
      return list.map((s) => `"${Buffer.isBuffer(s) ? s.toString('utf8') : s}"`).join(' ');
    }
    case 'SOA': {
      const s = d as dnsPacket.SoaAnswer['data'];
      return `${s.mname}. ${s.rname}. ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    default:
      return JSON.stringify(d);
  }
}

/** A decoded record as a zone-file line: `name. ttl IN TYPE rdata` (names as dns-packet decodes them). */
export function recordLine(a: dnsPacket.Answer): string {
  const name = a.name === '' || a.name === '.' ? '.' : `${a.name}.`;
  return `${name} ${(a as { ttl?: number }).ttl ?? 0} IN ${typeName(a.type)} ${rdataText(a)}`;
}

/** The decoded reply, in the shape tests compare. */
export interface Decoded {
  readonly id: number;
  readonly qr: boolean;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly rcode: string;
  readonly question: string[];
  readonly answer: string[];
  readonly authority: string[];
  readonly additional: string[];
  readonly opt?: { udpPayloadSize: number; version: number; extendedRcode: number; do: boolean };
  readonly packet: dnsPacket.DecodedPacket;
}

/** Decode with dns-packet (an independent decoder) and render the sections as zone-file lines. */
export function decode(reply: Buffer): Decoded {
  const p = dnsPacket.decode(reply);
  const flags = p.flags ?? 0;
  const optRecord = (p.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  const extended = optRecord ? (optRecord.extendedRcode ?? 0) : 0;
  const rcodeNumber = (flags & 0xf) | (extended << 4);
  const rcodeNames: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' };
  return {
    id: p.id ?? -1,
    qr: p.type === 'response',
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    rcode: rcodeNames[rcodeNumber] ?? `RCODE${rcodeNumber}`,
    question: (p.questions ?? []).map((q) => `${q.name}. ${q.class ?? 'IN'} ${q.type}`),
    answer: (p.answers ?? []).map(recordLine),
    authority: (p.authorities ?? []).map(recordLine),
    additional: (p.additionals ?? []).filter((a) => a.type !== 'OPT').map(recordLine),
    opt: optRecord
      ? {
          udpPayloadSize: optRecord.udpPayloadSize ?? 0,
          version: (optRecord as { ednsVersion?: number }).ednsVersion ?? 0,
          extendedRcode: extended,
          do: ((optRecord.flags ?? 0) & 0x8000) !== 0,
        }
      : undefined,
    packet: p,
  };
}

/**
 * The UDP transport the DNS suite runs against: BEACON_TEST_UDP_TRANSPORT=batched|dgram|auto (default auto),
 * so CI runs the whole suite once per transport.
 */
export function testUdpTransport(): UdpTransportChoice {
  const value = process.env.BEACON_TEST_UDP_TRANSPORT ?? 'auto';
  if (value !== 'auto' && value !== 'batched' && value !== 'dgram') throw new Error(`BEACON_TEST_UDP_TRANSPORT must be auto, batched or dgram, got ${value}`);
  return value;
}

/** A DNS server for `view` on 127.0.0.1, port 0, without static zones, on the test's UDP transport (options override). */
export function serveOnLoopback(view: DnsView, options: Partial<DnsServerOptions> = {}): Promise<DnsServer> {
  return startDnsServer({ view, listen: [{ host: '127.0.0.1', port: 0 }], zones: [], udpTransport: testUdpTransport(), ...options });
}
