/**
 * The question classifier: which kind of DNS-SD name a question asks about, decided from the name alone,
 * before any registry lookup. This is the one place the namespace table (docs/ARCHITECTURE.md, "DNS
 * namespace") is spelled as label patterns; the authority switches over the kinds and never counts labels.
 *
 * Under the DNS-SD domain D, with S a service, P `_tcp` or `_udp`, I an instance, T a subtype tag:
 *
 *   D                              static              zone data only (SOA, NS)
 *   b._dns-sd._udp.D, lb...        browse-domain       RFC 6763 §11
 *   _services._dns-sd._udp.D       enumerate           RFC 6763 §9
 *   _S._P.D                        service             RFC 6763 §4.1, RFC 2782
 *   I._S._P.D                      instance            RFC 6763 §4.1
 *   _T._sub._S._P.D                subtype             RFC 6763 §7.1
 *   L.addr.D                       address-name        L a canonical address label (see hosts.ts)
 *   _tcp.D, _udp.D, _dns-sd._udp.D, _sub._S._P.D, addr.D
 *                                  empty-non-terminal  names that exist only because names below them do
 *   other names under D            host                an instance's `host`, or static zone data
 *   under D but never a name       nonexistent         a non-canonical address label, too deep a DNS-SD name
 *   in another static zone         static
 *   in none of our zones           outside             REFUSED
 */
import { foldAscii } from '../ascii.js';
import { type Name, namesEqual } from './name.js';
import { ADDR_LABEL, addressFromLabel } from './hosts.js';

/** Transport protocol label of a DNS-SD service name. */
export type Protocol = 'tcp' | 'udp';

/**
 * Browse-domain labels answered under `_dns-sd._udp.D` (RFC 6763 §11): `b` (browse) and `lb` (legacy
 * browse). `db`, `r` and `dr` are not offered: there is no default-browse preference to state, and
 * registration through DNS is not accepted.
 */
export const BROWSE_DOMAIN_LABELS = ['b', 'lb'] as const;
/** One browse-domain label. */
export type BrowseDomainLabel = (typeof BROWSE_DOMAIN_LABELS)[number];

/** What a question name is, as far as the name alone tells. */
export type QueryKind =
  /** In none of our zones: REFUSED. */
  | { readonly kind: 'outside' }
  /** Zone data only: the DNS-SD domain's apex, or a name in another static zone. */
  | { readonly kind: 'static' }
  /** `b._dns-sd._udp.D` / `lb._dns-sd._udp.D`: PTR to D. */
  | { readonly kind: 'browse-domain'; readonly label: BrowseDomainLabel }
  /** `_services._dns-sd._udp.D`: PTR to every registered `_S._P.D`. */
  | { readonly kind: 'enumerate' }
  /** `_S._P.D`: the service's eligible instances (PTR, SRV, A, AAAA). */
  | { readonly kind: 'service'; readonly service: string; readonly protocol: Protocol }
  /** `I._S._P.D`: one instance's SRV and TXT. `id` as asked (UTF-8), `foldedId` ASCII-lower-cased. */
  | { readonly kind: 'instance'; readonly service: string; readonly protocol: Protocol; readonly id: string; readonly foldedId: string }
  /** `_T._sub._S._P.D`: PTR to the eligible instances tagged T (`tag` folded, without its `_`). */
  | { readonly kind: 'subtype'; readonly service: string; readonly protocol: Protocol; readonly tag: string }
  /** `L.addr.D` for a canonical address label L: A or AAAA of that address. */
  | { readonly kind: 'address-name'; readonly address: string }
  /** `_tcp.D` / `_udp.D`: exist while a service of that protocol does (`_udp` always: `_dns-sd._udp` is below). */
  | { readonly kind: 'empty-non-terminal'; readonly node: 'protocol'; readonly protocol: Protocol }
  /** `_dns-sd._udp.D`: above the browse and enumeration names. */
  | { readonly kind: 'empty-non-terminal'; readonly node: 'dns-sd' }
  /** `_sub._S._P.D`: above the subtype names, while the service is registered. */
  | { readonly kind: 'empty-non-terminal'; readonly node: 'sub'; readonly service: string; readonly protocol: Protocol }
  /** `addr.D`: above the address names. */
  | { readonly kind: 'empty-non-terminal'; readonly node: 'addr' }
  /** Any other name under D: a host name an instance claims, an empty non-terminal above one, or static data. */
  | { readonly kind: 'host' }
  /** Under D, but a name the namespace never holds. */
  | { readonly kind: 'nonexistent' };

const OUTSIDE: QueryKind = { kind: 'outside' };
const STATIC: QueryKind = { kind: 'static' };
const HOST: QueryKind = { kind: 'host' };
const NONEXISTENT: QueryKind = { kind: 'nonexistent' };
const ENUMERATE: QueryKind = { kind: 'enumerate' };
const DNS_SD_NODE: QueryKind = { kind: 'empty-non-terminal', node: 'dns-sd' };
const ADDR_NODE: QueryKind = { kind: 'empty-non-terminal', node: 'addr' };

const DNS_SD_LABEL = '_dns-sd';
const SERVICES_LABEL = '_services';
/** The subtype non-terminal label (RFC 6763 §7.1). */
export const SUBTYPE_LABEL = '_sub';

function protocolOf(label: string | undefined): Protocol | undefined {
  return label === '_tcp' ? 'tcp' : label === '_udp' ? 'udp' : undefined;
}

function isBrowseLabel(label: string | undefined): label is BrowseDomainLabel {
  return (BROWSE_DOMAIN_LABELS as readonly (string | undefined)[]).includes(label);
}

/**
 * Classify `name`. `zoneApex` is the apex of the closest enclosing zone we serve (undefined: none) and
 * `domain` the DNS-SD domain. Pure: it reads neither the registry nor the zone data.
 */
export function classifyQuery(name: Name, domain: Name, zoneApex: Name | undefined): QueryKind {
  if (zoneApex === undefined) return OUTSIDE;
  if (!namesEqual(zoneApex, domain)) return STATIC;
  const depth = name.length - domain.length;
  if (depth <= 0) return STATIC;
  // Labels relative to D, leaf first, ASCII-folded (RFC 4343): rel[depth - 1] is the label right below D.
  const rel = new Array<string>(depth);
  for (let i = 0; i < depth; i++) rel[i] = foldAscii((name[i] as Buffer).toString('utf8'));
  const top = rel[depth - 1];
  const protocol = protocolOf(top);
  if (protocol !== undefined) {
    if (depth === 1) return { kind: 'empty-non-terminal', node: 'protocol', protocol };
    const second = rel[depth - 2] ?? '';
    if (protocol === 'udp' && second === DNS_SD_LABEL) return dnsSd(rel);
    if (second.startsWith('_') && second.length > 1) return serviceTree(name, rel, second.slice(1), protocol);
    return HOST;
  }
  if (top === ADDR_LABEL) {
    if (depth === 1) return ADDR_NODE;
    if (depth === 2) {
      const address = addressFromLabel(rel[0] ?? '');
      return address === undefined ? NONEXISTENT : { kind: 'address-name', address };
    }
  }
  return HOST;
}

/** `_dns-sd._udp.D` and below: browse domains (RFC 6763 §11) and service enumeration (§9). */
function dnsSd(rel: readonly string[]): QueryKind {
  if (rel.length === 2) return DNS_SD_NODE;
  if (rel.length === 3) {
    const leaf = rel[0];
    if (isBrowseLabel(leaf)) return { kind: 'browse-domain', label: leaf };
    if (leaf === SERVICES_LABEL) return ENUMERATE;
  }
  return NONEXISTENT;
}

/** `_S._P.D` and below: the service, its instances, `_sub` and subtypes. */
function serviceTree(name: Name, rel: readonly string[], service: string, protocol: Protocol): QueryKind {
  switch (rel.length) {
    case 2:
      return { kind: 'service', service, protocol };
    case 3: {
      const foldedId = rel[0] ?? '';
      if (foldedId === SUBTYPE_LABEL) return { kind: 'empty-non-terminal', node: 'sub', service, protocol };
      return { kind: 'instance', service, protocol, id: (name[0] as Buffer).toString('utf8'), foldedId };
    }
    case 4: {
      if (rel[1] !== SUBTYPE_LABEL) return NONEXISTENT;
      const label = rel[0] ?? '';
      return { kind: 'subtype', service, protocol, tag: label.startsWith('_') ? label.slice(1) : label };
    }
    default:
      return NONEXISTENT;
  }
}
