/**
 * An in-memory MdnsTransport. Everything the responder sends is encoded and decoded again with dns-packet
 * (as an independent codec, so what the tests read is what would go on the wire); `deliver` hands the
 * responder a message as if it came from a peer, also through the codec (the QU bit set on the wire).
 */
import { isIPv6 } from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import type { MdnsPacket, MdnsPeer, MdnsTransport } from '../../src/mdns/responder.js';

export interface Sent {
  readonly packet: MdnsPacket;
  /** undefined = multicast to the group. */
  readonly to: MdnsPeer | undefined;
  /** The address families it goes out on, as the UDP transport sends: a group send on both, a reply on its peer's. */
  readonly families: readonly ('IPv4' | 'IPv6')[];
  /** Raw class field of each record in the answer section (cache-flush bit included). */
  readonly answerClasses: readonly number[];
}

export const PEER: MdnsPeer = { address: '192.0.2.50', port: 5353 };
/** A peer on the link over IPv6: link-local, with the scope the socket reports it with. */
export const PEER6: MdnsPeer = { address: 'fe80::50%eth0', port: 5353 };

export class FakeTransport implements MdnsTransport {
  readonly sent: Sent[] = [];
  private readonly listeners = new Set<(packet: MdnsPacket, from: MdnsPeer) => void>();
  closed = false;

  send(packet: Packet, to?: MdnsPeer): void {
    const bytes = dnsPacket.encode(packet);
    const families = to === undefined ? (['IPv4', 'IPv6'] as const) : [isIPv6(to.address) ? ('IPv6' as const) : ('IPv4' as const)];
    this.sent.push({ packet: dnsPacket.decode(bytes) as MdnsPacket, to, families, answerClasses: answerClasses(bytes) });
  }

  onMessage(listener: (packet: MdnsPacket, from: MdnsPeer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Hand the responder a message from `from`; `qu` sets the unicast-response bit on every question. */
  deliver(packet: Packet, from: MdnsPeer = PEER, qu = false): void {
    const bytes = dnsPacket.encode(packet);
    if (qu) setQuBits(bytes, packet.questions?.length ?? 0);
    const decoded = dnsPacket.decode(bytes) as MdnsPacket;
    for (const listener of this.listeners) listener(decoded, from);
  }

  /** Forget what was sent so far. */
  clear(): void {
    this.sent.length = 0;
  }
}

/** Walk the question section and set the top bit of each QCLASS (RFC 6762 §5.4). */
function setQuBits(bytes: Buffer, count: number): void {
  let offset = 12;
  for (let i = 0; i < count; i++) {
    offset = skipName(bytes, offset);
    bytes.writeUInt16BE(bytes.readUInt16BE(offset + 2) | 0x8000, offset + 2);
    offset += 4;
  }
}

function skipName(bytes: Buffer, offset: number): number {
  for (;;) {
    const len = bytes[offset] ?? 0;
    if (len === 0) return offset + 1;
    if ((len & 0xc0) === 0xc0) return offset + 2;
    offset += len + 1;
  }
}

/** The raw CLASS field of every answer-section record. */
function answerClasses(bytes: Buffer): number[] {
  const qd = bytes.readUInt16BE(4);
  const an = bytes.readUInt16BE(6);
  let offset = 12;
  for (let i = 0; i < qd; i++) offset = skipName(bytes, offset) + 4;
  const out: number[] = [];
  for (let i = 0; i < an; i++) {
    offset = skipName(bytes, offset);
    out.push(bytes.readUInt16BE(offset + 2));
    offset += 10 + bytes.readUInt16BE(offset + 8);
  }
  return out;
}
