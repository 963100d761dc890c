/**
 * SRV targets: the names clients resolve to reach an instance.
 *
 * Scheme (documented in zones/README.md and README's namespace section): an instance with `host` uses that
 * host name. Otherwise a name is derived from its IP literal under `addr.<domain>`: IPv4 dots become dashes
 * (`10.0.0.1` → `10-0-0-1.addr.local.`); IPv6 is written in RFC 5952 canonical form with colons as dashes,
 * and a `::` at either end gets a `0` on its outer side (`fd00::1` → `fd00--1`, `::1` → `0--1`,
 * `::` → `0--0`, `2001:db8::` → `2001-db8--0`), because a host name label may neither start nor end with a
 * hyphen (RFC 952, RFC 1123 §2.1) and glibc's resolver refuses names that do. The mapping is one-to-one, so
 * the name alone tells its address: any canonical `*.addr.<domain>` name answers A/AAAA without a registry
 * lookup. An instance whose address is a host name (not a literal) uses that name as its target.
 */
import { type DnsInstance } from './view.js';
import { type Name, type Label, parseName, nameKey, isSubdomain, namesEqual } from './name.js';
import { parseAddress, parseIPv4, parseIPv6, formatIPv6 } from './ip.js';
import { durableName } from './durable.js';

/** The label under which address-derived target names live. */
export const ADDR_LABEL = 'addr';

/** The address-derived label for an IP literal (`10-0-0-1`, `fd00--1`, `0--1`), or undefined for a host name. */
export function addressLabel(address: string): string | undefined {
  const parsed = parseAddress(address);
  if (!parsed) return undefined;
  if (parsed.family === 4) return [...parsed.octets].join('-');
  return ipv6Label(parsed.octets);
}

/** RFC 5952 text with colons as dashes, a leading or trailing `::` padded with `0` so no hyphen ends the label. */
function ipv6Label(octets: Buffer): string {
  let text = formatIPv6(octets);
  if (text.startsWith('::')) text = '0' + text;
  if (text.endsWith('::')) text += '0';
  return text.replace(/:/g, '-');
}

/** The IP literal (IPv4 dotted, IPv6 RFC 5952) an address-derived label stands for, if the label is canonical. */
export function addressFromLabel(label: string): string | undefined {
  if (/^\d{1,3}(-\d{1,3}){3}$/.test(label)) {
    const text = label.replace(/-/g, '.');
    const v4 = parseIPv4(text);
    return v4 && [...v4].join('-') === label ? text : undefined;
  }
  if (!/^[0-9a-f][0-9a-f-]*[0-9a-f]$/.test(label)) return undefined;
  const v6 = parseIPv6(label.replace(/-/g, ':'));
  // Only the canonical label of an address names it (one name per address): `0-0-0-0-0-0-0-1` does not.
  return v6 && ipv6Label(v6) === label ? formatIPv6(v6) : undefined;
}

/** Parse a host name as given by an instance (trailing dot optional); undefined when unusable. */
export function hostName(host: string): Name | undefined {
  try {
    const name = parseName(host.endsWith('.') ? host : host + '.');
    return name.length > 0 ? name : undefined;
  } catch {
    return undefined;
  }
}

// Address-derived target names per domain, memoised (bounded) so cache misses share names and their keys.
// Their labels are durable (durable.ts) and `addr.<domain>` is shared, so a memoised name costs its
// array and one label.
const targetMemo = new WeakMap<Name, { readonly addrZone: Name; readonly names: Map<string, Name> }>();
const TARGET_MEMO_LIMIT = 1024;

/** `<label>.addr.<domain>` for an address-derived label, shared between calls. */
function addressTarget(label: string, domain: Name): Name {
  let memo = targetMemo.get(domain);
  if (!memo) {
    memo = { addrZone: durableName([ADDR_LABEL], domain), names: new Map() };
    targetMemo.set(domain, memo);
  }
  let name = memo.names.get(label);
  if (!name) {
    name = durableName([label], memo.addrZone);
    if (memo.names.size >= TARGET_MEMO_LIMIT) memo.names.clear();
    memo.names.set(label, name);
  }
  return name;
}

/** The SRV target of an instance under DNS-SD domain `domain` (see the module comment). */
export function srvTarget(instance: DnsInstance, domain: Name): Name | undefined {
  if (instance.host !== undefined && instance.host !== '') {
    const named = hostName(instance.host);
    if (named) return named;
  }
  const label = addressLabel(instance.address);
  if (label !== undefined) return addressTarget(label, domain);
  return hostName(instance.address);
}

/**
 * Host names that instances claim (their `host`), inside the DNS-SD domain, with the addresses of the
 * eligible instances that claim them. The DNS layer answers A/AAAA for these names. Updated per instance
 * (claims are counted), so a change costs what it changes, and reports which names' answers may have changed.
 */
export class HostIndex {
  /** host key → address → how many eligible instances claim that host with that address ('' for a non-literal) */
  private readonly hosts = new Map<string, Map<string, number>>();
  /** key of a name strictly between a host and the domain apex → how many claims sit below it */
  private readonly interior = new Map<string, number>();

  constructor(private readonly domain: Name) {}

  /** Addresses (IP literals) of eligible instances whose host is this name key. */
  addresses(key: string): readonly string[] | undefined {
    const claims = this.hosts.get(key);
    if (!claims) return undefined;
    const all: string[] = [];
    for (const address of claims.keys()) if (address !== '') all.push(address);
    return all;
  }

  /** Whether the name is a host or an empty non-terminal above one. */
  exists(key: string): boolean {
    return this.hosts.has(key) || this.interior.has(key);
  }

  /**
   * One eligible instance changed: `before` left (if given), `after` arrived (if given). Returns the keys of
   * every name whose A/AAAA answer or existence may have changed (its old and new host and their ancestors).
   */
  change(before: DnsInstance | undefined, after: DnsInstance | undefined): string[] {
    if (before !== undefined && after !== undefined && before.host === after.host && before.address === after.address) return [];
    const touched = new Set<string>();
    if (before !== undefined) this.claim(before, -1, touched);
    if (after !== undefined) this.claim(after, +1, touched);
    return [...touched];
  }

  private claim(inst: DnsInstance, delta: 1 | -1, touched: Set<string>): void {
    if (inst.host === undefined || inst.host === '') return;
    const name = hostName(inst.host);
    if (!name || !isSubdomain(name, this.domain) || namesEqual(name, this.domain)) return;
    const key = nameKey(name);
    const claims = this.hosts.get(key) ?? new Map<string, number>();
    const address = parseAddress(inst.address) ? inst.address : '';
    const n = (claims.get(address) ?? 0) + delta;
    if (n > 0) claims.set(address, n);
    else claims.delete(address);
    if (claims.size > 0) this.hosts.set(key, claims);
    else this.hosts.delete(key);
    this.walkInterior(name, delta, touched);
    touched.add(key);
  }

  /** Adjust the counts of the names between `name` (exclusive) and the apex (exclusive). */
  private walkInterior(name: Name, delta: number, touched: Set<string>): void {
    for (let i = 1; i < name.length - this.domain.length; i++) {
      const key = nameKey(name.slice(i) as Label[]);
      const n = (this.interior.get(key) ?? 0) + delta;
      if (n > 0) this.interior.set(key, n);
      else this.interior.delete(key);
      touched.add(key);
    }
  }
}
