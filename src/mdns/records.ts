/**
 * The registry mapping for multicast DNS: which records an eligible instance and a host name publish under
 * `local.`, with the TTLs of RFC 6762 §10 (120 s for records that carry or are a host name, SRV and A/AAAA;
 * 4500 s for the rest, PTR and TXT) and the DNS-SD names of RFC 6763 (§4.1 instance names, §7.1 subtypes,
 * §9 service enumeration).
 */
import type { Answer } from 'dns-packet';
import { foldAscii } from '../ascii.js';
import { metadataToTxt } from '../dns/records.js';
import { formatIPv6, parseAddress } from '../dns/ip.js';
import { addressLabel, srvTarget } from '../dns/hosts.js';
import { nameToPresentation, parseName, isSubdomain, namesEqual } from '../dns/name.js';
import type { DnsInstance } from '../dns/view.js';
import { type OwnedRecord } from './wire.js';

/** The only domain multicast DNS answers for (RFC 6762 §3). */
export const MDNS_DOMAIN = 'local';
/** TTL of records that carry or name a host: SRV, A, AAAA (RFC 6762 §10). */
export const HOST_RECORD_TTL = 120;
/** TTL of other records: PTR, TXT (RFC 6762 §10, "75 minutes"). */
export const OTHER_RECORD_TTL = 4500;
/** The service enumeration name (RFC 6763 §9). */
export const ENUMERATION_NAME = `_services._dns-sd._udp.${MDNS_DOMAIN}`;

const LOCAL = parseName(MDNS_DOMAIN + '.');

/** `_service._protocol.local`. */
export function serviceTypeName(service: string, protocol: 'tcp' | 'udp'): string {
  return `_${service}._${protocol}.${MDNS_DOMAIN}`;
}

/** Where an instance's SRV points: a host name Beacon publishes A/AAAA for, or a name someone else answers. */
export type TargetRef =
  | { readonly kind: 'host'; readonly key: string; readonly name: string; readonly address: string }
  | { readonly kind: 'external'; readonly name: string };

/**
 * The SRV target of an instance under `local.`: its `host`, or a one-label name derived from its address
 * (`10-0-0-1.local`, the label of src/dns/hosts.ts). mDNS host names are one label under `local.` because
 * that is what resolvers ask the link for: nss-mdns's `mdns4_minimal` will not resolve `a.b.local`, so the
 * unicast server's `10-0-0-1.addr.<domain>` form is not used here. Beacon publishes the address for a target
 * under `local.` when the instance's address is an IP literal; any other target is left to whoever owns it.
 */
export function targetOf(instance: DnsInstance): TargetRef | undefined {
  const label = instance.host === undefined || instance.host === '' ? addressLabel(instance.address) : undefined;
  const name = label !== undefined ? parseName(`${label}.${MDNS_DOMAIN}.`) : srvTarget(instance, LOCAL);
  if (name === undefined) return undefined;
  const text = nameToPresentation(name).replace(/\.$/, '');
  if (/\\/.test(text)) return undefined; // a label with an escaped octet cannot be carried by dns-packet's dotted names
  if (isSubdomain(name, LOCAL) && !namesEqual(name, LOCAL) && parseAddress(instance.address) !== undefined) {
    return { kind: 'host', key: foldAscii(text), name: text, address: instance.address };
  }
  return { kind: 'external', name: text };
}

/**
 * Whether an instance name can be published: dns-packet writes names as dotted text, so a label with a dot
 * (allowed by RFC 6763 §4.3) would be split; such instances stay unicast-only.
 */
export function publishableLabel(label: string): boolean {
  return label.length > 0 && !label.includes('.') && Buffer.byteLength(label, 'utf8') <= 63;
}

/**
 * The instance label after `attempt` conflicts (RFC 6763 §4.1 / RFC 6762 §9): `web-1`, `web-1 (2)`, ...,
 * cut (on a UTF-8 boundary) so the label stays within 63 octets.
 */
export function instanceLabel(base: string, attempt: number): string {
  return withSuffix(base, attempt <= 1 ? '' : ` (${attempt})`);
}

/** The host label after `attempt` conflicts (RFC 6762 §9, "host-2" style): `10-0-0-1`, `10-0-0-1-2`, ... */
export function hostLabel(base: string, attempt: number): string {
  return withSuffix(base, attempt <= 1 ? '' : `-${attempt}`);
}

function withSuffix(base: string, suffix: string): string {
  let head = base;
  while (Buffer.byteLength(head + suffix, 'utf8') > 63) head = [...head].slice(0, -1).join('');
  return head + suffix;
}

/** What one eligible instance of `service` publishes, given its current instance name and SRV target name. */
export function instanceRecords(instance: DnsInstance, service: string, instanceName: string, target: string | undefined): OwnedRecord[] {
  const type = serviceTypeName(service, instance.protocol);
  const records: OwnedRecord[] = [
    shared({ name: type, type: 'PTR', ttl: OTHER_RECORD_TTL, data: instanceName }),
    shared({ name: ENUMERATION_NAME, type: 'PTR', ttl: OTHER_RECORD_TTL, data: type }),
  ];
  const subtypes = new Set<string>();
  for (const tag of instance.tags) {
    const folded = foldAscii(tag);
    // A subtype label is `_tag` (RFC 6763 §7.1); tags that cannot be one label are left out.
    if (folded === '' || folded.includes('.') || Buffer.byteLength(folded, 'utf8') > 62 || subtypes.has(folded)) continue;
    subtypes.add(folded);
    records.push(shared({ name: `_${folded}._sub.${type}`, type: 'PTR', ttl: OTHER_RECORD_TTL, data: instanceName }));
  }
  if (target !== undefined) {
    records.push(unique({
      name: instanceName,
      type: 'SRV',
      ttl: HOST_RECORD_TTL,
      data: { priority: instance.priority, weight: instance.weight, port: instance.port, target },
    }));
  }
  records.push(unique({ name: instanceName, type: 'TXT', ttl: OTHER_RECORD_TTL, data: [...metadataToTxt(instance.metadata)] }));
  return records;
}

/** The A/AAAA records of a host name Beacon publishes. */
export function hostRecords(hostName: string, addresses: Iterable<string>): OwnedRecord[] {
  const out: OwnedRecord[] = [];
  for (const address of addresses) {
    const parsed = parseAddress(address);
    if (parsed === undefined) continue;
    const text = parsed.family === 4 ? [...parsed.octets].join('.') : formatIPv6(parsed.octets);
    out.push(unique({ name: hostName, type: parsed.family === 4 ? 'A' : 'AAAA', ttl: HOST_RECORD_TTL, data: text }));
  }
  return out;
}

function shared(answer: Answer & { ttl: number }): OwnedRecord {
  return { answer, unique: false };
}

function unique(answer: Answer & { ttl: number }): OwnedRecord {
  return { answer, unique: true };
}
