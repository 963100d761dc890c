/**
 * Multicast DNS for the registry: `startMdnsResponder` publishes the DnsView's eligible instances under
 * `local.` on the link (RFC 6762, DNS-SD per RFC 6763), so Bonjour/avahi browsers and nss-mdns find them
 * without being pointed at the unicast server. mDNS only ever speaks for `local.` (RFC 6762 §3), whatever
 * domain the unicast server serves.
 */
import { silentLogger, moduleLogger, type Logger } from '../log.js';
import type { Clock } from '../clock.js';
import type { DnsView } from '../dns/view.js';
import { MdnsResponder, type MdnsRename, type MdnsStats, type MdnsTransport } from './responder.js';
import { openUdpTransport } from './transport.js';

export { MdnsResponder, type MdnsRename, type MdnsStats, type MdnsTransport, type MdnsPeer, type MdnsPacket } from './responder.js';
export { MDNS_DOMAIN } from './records.js';

/** Options of `startMdnsResponder`. */
export interface MdnsOptions {
  /** The registry as DNS sees it (createRegistryView). */
  readonly view: DnsView;
  /** Interface names or IPv4 addresses to serve (over IPv6 too where the interface has a link-local address); default: every non-loopback IPv4 interface. */
  readonly interfaces?: readonly string[];
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** UDP port (default 5353; anything else only makes sense in tests). */
  readonly port?: number;
  /** A transport to use instead of the UDP socket (tests). */
  readonly transport?: MdnsTransport;
}

/** A running responder. */
export interface MdnsResponderHandle {
  /** The IPv4 interface addresses joined (empty with an injected transport). */
  readonly interfaceAddresses: readonly string[];
  /** Counters, renames included. */
  stats(): MdnsStats;
  /** Published instance names (after renames), by `service/protocol/id`. */
  instanceNames(): ReadonlyMap<string, { readonly name: string; readonly state: 'probing' | 'announced' }>;
  /** Be told of renames after conflicts; returns the unsubscribe function. */
  onRename(listener: (rename: MdnsRename) => void): () => void;
  /** Send goodbyes for everything announced and close the socket. */
  close(): Promise<void>;
}

/** Bind the mDNS socket and start probing and announcing the view's eligible instances. */
export async function startMdnsResponder(options: MdnsOptions): Promise<MdnsResponderHandle> {
  const logger = moduleLogger(options.logger ?? silentLogger, 'mdns');
  const udp = options.transport === undefined
    ? await openUdpTransport({ ...(options.interfaces ? { interfaces: options.interfaces } : {}), ...(options.port !== undefined ? { port: options.port } : {}), logger })
    : undefined;
  const transport = options.transport ?? (udp as MdnsTransport);
  const responder = new MdnsResponder({ view: options.view, transport, logger, ...(options.clock ? { clock: options.clock } : {}) });
  responder.start();
  logger.info({ interfaces: udp?.interfaceAddresses ?? [], ipv6Scopes: udp?.ipv6Scopes ?? [] }, 'mdns: responder started');
  let closing: Promise<void> | undefined;
  return {
    interfaceAddresses: udp?.interfaceAddresses ?? [],
    stats: () => responder.stats(),
    instanceNames: () => responder.instanceNames(),
    onRename: (listener) => responder.onRename(listener),
    close() {
      closing ??= (async () => {
        responder.close();
        await transport.close();
      })();
      return closing;
    },
  };
}
