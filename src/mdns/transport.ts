/**
 * The real MdnsTransport: an IPv4 UDP socket on port 5353 joined to 224.0.0.251 and an IPv6 one joined to
 * ff02::fb (RFC 6762 §3), on each chosen interface (SO_REUSEADDR, so avahi or another responder on the host
 * can share the port). multicast-dns decodes and encodes the messages (dns-packet) and does the sending;
 * membership and the outgoing interface are managed here because multicast-dns handles one interface only.
 * Group sends (announcements, goodbyes, multicast answers) go out on both families; a unicast reply goes back
 * on the socket of the family it is addressed to.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import multicastDns from 'multicast-dns';
import { InvalidArgumentError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { MdnsPacket, MdnsPeer, MdnsTransport } from './responder.js';
import { MDNS_GROUP_V4, MDNS_GROUP_V6, MDNS_PORT } from './wire.js';

/** Options of the UDP transport. */
export interface UdpTransportOptions {
  /** Interface names (`eth0`) or IPv4 addresses; default: every non-loopback interface with an IPv4 address. */
  readonly interfaces?: readonly string[];
  /** UDP port (5353; tests may use another). */
  readonly port?: number;
  readonly logger?: Logger;
}

/** An open transport, the IPv4 interface addresses it serves and the interfaces (scopes) it serves over IPv6. */
export type UdpTransport = MdnsTransport & { readonly interfaceAddresses: readonly string[]; readonly ipv6Scopes: readonly string[] };

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

/**
 * The IPv6 scopes (interface names) for the chosen IPv4 interface addresses: the interfaces that also have a
 * link-local IPv6 address (fe80::/10), since mDNS over IPv6 is link-local (RFC 6762 §3). Others are skipped.
 */
export function resolveIpv6Scopes(
  interfaceAddresses: readonly string[],
  log: Logger = silentLogger,
  all: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): string[] {
  const scopes: string[] = [];
  for (const address of interfaceAddresses) {
    const name = Object.keys(all).find((n) => all[n]?.some((a) => a.family === 'IPv4' && a.address === address));
    if (name === undefined) {
      log.debug({ address }, 'mdns: no interface holds this address; IPv6 not served for it');
      continue;
    }
    const linkLocal = all[name]?.some((a) => a.family === 'IPv6' && /^fe[89ab]/i.test(a.address));
    if (!linkLocal) log.debug({ interface: name }, 'mdns: interface has no IPv6 link-local address; IPv6 not served on it');
    else if (!scopes.includes(name)) scopes.push(name);
  }
  return scopes;
}

/** One socket of one address family, with the check that tells our own multicast echoes from peers' messages. */
interface FamilySocket {
  readonly socket: Socket;
  readonly mdns: ReturnType<typeof multicastDns>;
  /** Whether the message being emitted is a copy of one we sent. */
  wasEcho(): boolean;
}

async function openFamilySocket(
  family: 'udp4' | 'udp6',
  port: number,
  isEcho: (bytes: Buffer) => boolean,
  log: Logger,
): Promise<FamilySocket> {
  const socket: Socket = createSocket({ type: family, reuseAddr: true, ...(family === 'udp6' ? { ipv6Only: true } : {}) });
  let lastWasEcho = false;
  // Registered before multicast-dns's own listener, so the echo check runs before the decoded message is emitted.
  socket.on('message', (bytes: Buffer) => {
    lastWasEcho = isEcho(bytes);
  });
  // multicast-dns insists on a group and an interface for udp6; membership is ours (multicast: false).
  const mdns = family === 'udp4'
    ? multicastDns({ socket, port, bind: '0.0.0.0', multicast: false })
    : multicastDns({ socket, port, bind: '::', multicast: false, type: 'udp6', ip: MDNS_GROUP_V6, interface: '::' });
  mdns.on('warning', (err: Error) => log.debug({ err, family }, 'mdns: undecodable or unsent message'));
  await new Promise<void>((resolve, reject) => {
    mdns.once('ready', resolve);
    mdns.once('error', reject);
  });
  // RFC 6762 §11: multicast with IP TTL (hop limit) 255. Loopback on, so responders and resolvers on this host hear us.
  socket.setMulticastTTL(255);
  socket.setMulticastLoopback(true);
  mdns.on('error', (err: Error) => log.error({ err, family }, 'mdns: socket error'));
  return { socket, mdns, wasEcho: () => lastWasEcho };
}

/** Open both sockets, join the groups on every interface and resolve once bound. */
export async function openUdpTransport(options: UdpTransportOptions = {}): Promise<UdpTransport> {
  const log = options.logger ?? silentLogger;
  const port = options.port ?? MDNS_PORT;
  const interfaceAddresses = resolveInterfaces(options.interfaces);
  const ipv6Scopes = resolveIpv6Scopes(interfaceAddresses, log);
  const recentlySent = new Map<string, number>();
  const isEcho = (bytes: Buffer): boolean => {
    const sentAt = recentlySent.get(createHash('sha1').update(bytes).digest('hex'));
    return sentAt !== undefined && Date.now() - sentAt < ECHO_MEMORY_MS;
  };
  const v4 = await openFamilySocket('udp4', port, isEcho, log);
  for (const address of interfaceAddresses) v4.socket.addMembership(MDNS_GROUP_V4, address);
  let v6: FamilySocket | undefined;
  if (ipv6Scopes.length > 0) {
    v6 = await openFamilySocket('udp6', port, isEcho, log);
    for (const scope of ipv6Scopes) v6.socket.addMembership(MDNS_GROUP_V6, `::%${scope}`);
  }
  const families = v6 === undefined ? [v4] : [v4, v6];

  // Sends go one after another so that the outgoing interface set for one is not changed under it by the next.
  let queue: Promise<void> = Promise.resolve();
  const sendOn = (family: FamilySocket, packet: MdnsPacket, to: MdnsPeer, via: string | undefined): Promise<void> =>
    new Promise((resolve) => {
      if (via !== undefined) family.socket.setMulticastInterface(via);
      const done = (err: Error | null): void => {
        if (err) log.debug({ err, to: to.address }, 'mdns: send failed');
        resolve();
      };
      const peer = { address: to.address, port: to.port };
      if (packet.type === 'response') family.mdns.respond({ ...packet, answers: packet.answers ?? [] }, peer, done);
      else family.mdns.query({ ...packet, questions: packet.questions ?? [] }, peer, done);
    });
  const enqueue = (send: () => Promise<void>): void => {
    queue = queue.then(send);
  };

  return {
    interfaceAddresses,
    ipv6Scopes,
    send(packet, to) {
      const now = Date.now();
      for (const [digest, at] of recentlySent) if (now - at >= ECHO_MEMORY_MS) recentlySent.delete(digest);
      recentlySent.set(createHash('sha1').update(dnsPacket.encode(packet)).digest('hex'), now);
      if (to !== undefined) {
        // A unicast reply goes back over the family it was asked over (the address carries the scope if link-local).
        const family = isIPv6(to.address) ? v6 : v4;
        if (family === undefined) log.debug({ to: to.address }, 'mdns: no IPv6 socket for an IPv6 peer; reply dropped');
        else enqueue(() => sendOn(family, packet, to, undefined));
        return;
      }
      for (const via of interfaceAddresses) enqueue(() => sendOn(v4, packet, { address: MDNS_GROUP_V4, port }, via));
      if (v6 !== undefined) {
        const socket6 = v6;
        for (const scope of ipv6Scopes) enqueue(() => sendOn(socket6, packet, { address: `${MDNS_GROUP_V6}%${scope}`, port }, `::%${scope}`));
      }
    },
    onMessage(listener) {
      const unsubscribes = families.map((family) => {
        const handler = (packet: MdnsPacket, rinfo: { address: string; port: number }): void => {
          if (family.wasEcho()) return;
          listener(packet, { address: rinfo.address, port: rinfo.port });
        };
        family.mdns.on('packet', handler);
        return () => family.mdns.off('packet', handler);
      });
      return () => unsubscribes.forEach((unsubscribe) => unsubscribe());
    },
    async close() {
      await queue;
      await Promise.all(families.map((family) => new Promise<void>((resolve) => family.mdns.destroy(() => resolve()))));
    },
  };
}
