/**
 * The real MdnsTransport: one IPv4 UDP socket on port 5353 (SO_REUSEADDR, so avahi or another responder on
 * the host can share the port), joined to 224.0.0.251 on each chosen interface. multicast-dns decodes and
 * encodes the messages (dns-packet) and does the sending; membership and the outgoing interface are managed
 * here because multicast-dns handles one interface only.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { isIPv4 } from 'node:net';
import dnsPacket from 'dns-packet';
import multicastDns from 'multicast-dns';
import { InvalidArgumentError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { MdnsPacket, MdnsPeer, MdnsTransport } from './responder.js';
import { MDNS_GROUP_V4, MDNS_PORT } from './wire.js';

/** Options of the UDP transport. */
export interface UdpTransportOptions {
  /** Interface names (`eth0`) or IPv4 addresses; default: every non-loopback interface with an IPv4 address. */
  readonly interfaces?: readonly string[];
  /** UDP port (5353; tests may use another). */
  readonly port?: number;
  readonly logger?: Logger;
}

/** An open transport and the IPv4 interface addresses it serves. */
export type UdpTransport = MdnsTransport & { readonly interfaceAddresses: readonly string[] };

/** How long a sent message is remembered, so its multicast loopback copy is not taken for another host's. */
const ECHO_MEMORY_MS = 5000;

/** Resolve interface names or addresses to the IPv4 addresses to join the group on. */
export function resolveInterfaces(requested: readonly string[] | undefined): string[] {
  const all = networkInterfaces();
  if (requested === undefined || requested.length === 0) {
    const out: string[] = [];
    for (const addresses of Object.values(all)) {
      const v4 = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
      if (v4 !== undefined) out.push(v4.address);
    }
    if (out.length === 0) throw new InvalidArgumentError('no network interface with an IPv4 address for multicast DNS', 'mdns');
    return out;
  }
  return requested.map((wanted) => {
    if (isIPv4(wanted)) return wanted;
    const v4 = all[wanted]?.find((a) => a.family === 'IPv4');
    if (v4 === undefined) throw new InvalidArgumentError(`interface ${wanted} does not exist or has no IPv4 address`, 'mdns');
    return v4.address;
  });
}

/** Open the socket, join the group on every interface and resolve once bound. */
export async function openUdpTransport(options: UdpTransportOptions = {}): Promise<UdpTransport> {
  const log = options.logger ?? silentLogger;
  const port = options.port ?? MDNS_PORT;
  const interfaceAddresses = resolveInterfaces(options.interfaces);
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  const recentlySent = new Map<string, number>();
  let lastWasEcho = false;
  // Registered before multicast-dns's own listener, so the echo check runs before the decoded message is emitted.
  socket.on('message', (bytes: Buffer) => {
    const digest = createHash('sha1').update(bytes).digest('hex');
    const sentAt = recentlySent.get(digest);
    lastWasEcho = sentAt !== undefined && Date.now() - sentAt < ECHO_MEMORY_MS;
  });
  const mdns = multicastDns({ socket, port, bind: '0.0.0.0', multicast: false });
  mdns.on('warning', (err: Error) => log.debug({ err }, 'mdns: undecodable or unsent message'));
  await new Promise<void>((resolve, reject) => {
    mdns.once('ready', resolve);
    mdns.once('error', reject);
  });
  for (const address of interfaceAddresses) socket.addMembership(MDNS_GROUP_V4, address);
  // RFC 6762 §11: multicast with IP TTL 255. Loopback on, so responders and resolvers on this host hear us.
  socket.setMulticastTTL(255);
  socket.setMulticastLoopback(true);
  mdns.on('error', (err: Error) => log.error({ err }, 'mdns: socket error'));

  // Sends go one after another so that the outgoing interface set for one is not changed under it by the next.
  let queue: Promise<void> = Promise.resolve();
  const sendOn = (packet: MdnsPacket, to: MdnsPeer, via: string | undefined): Promise<void> =>
    new Promise((resolve) => {
      if (via !== undefined) socket.setMulticastInterface(via);
      const done = (err: Error | null): void => {
        if (err) log.debug({ err, to: to.address }, 'mdns: send failed');
        resolve();
      };
      const peer = { address: to.address, port: to.port };
      if (packet.type === 'response') mdns.respond({ ...packet, answers: packet.answers ?? [] }, peer, done);
      else mdns.query({ ...packet, questions: packet.questions ?? [] }, peer, done);
    });

  return {
    interfaceAddresses,
    send(packet, to) {
      const now = Date.now();
      for (const [digest, at] of recentlySent) if (now - at >= ECHO_MEMORY_MS) recentlySent.delete(digest);
      recentlySent.set(createHash('sha1').update(dnsPacket.encode(packet)).digest('hex'), now);
      if (to !== undefined) queue = queue.then(() => sendOn(packet, to, undefined));
      else for (const via of interfaceAddresses) queue = queue.then(() => sendOn(packet, { address: MDNS_GROUP_V4, port }, via));
    },
    onMessage(listener) {
      const handler = (packet: MdnsPacket, rinfo: { address: string; port: number }): void => {
        if (lastWasEcho) return;
        listener(packet, { address: rinfo.address, port: rinfo.port });
      };
      mdns.on('packet', handler);
      return () => mdns.off('packet', handler);
    },
    async close() {
      await queue;
      await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    },
  };
}
