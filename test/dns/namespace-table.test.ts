/**
 * The DNS namespace as tables, in process (no sockets): the classifier's kinds for every name shape, then
 * every namespace row ({qname, qtype, rcode, answer, authority, additional}) run through the request handler
 * and decoded by dns-packet, and a check that each row of the documented namespace table
 * (docs/ARCHITECTURE.md, "DNS namespace"; README's "What DNS answers" until then) has cases here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Authority, parseDomain } from '../../src/dns/authority.js';
import { DnsRequestHandler } from '../../src/dns/handler.js';
import { nameFromLabels, parseName, type Name } from '../../src/dns/name.js';
import { classifyQuery, type QueryKind } from '../../src/dns/query-kind.js';
import { parseZoneFile } from '../../src/dns/zonefile.js';
import { buildQuery, decode, labelsOf } from './helpers.js';
import { LOCAL_ZONE, TEST_ZONE, namespaceCases, worldView } from './world.js';

const DOMAIN = parseDomain('local.');
const STATIC_APEX = parseName('example.test.');

/** The apex of the zone a name falls in, as the authority finds it. */
function zoneApex(name: Name): Name | undefined {
  const labels = name.map((l) => l.toString('utf8').toLowerCase());
  if (labels.slice(-2).join('.') === 'example.test') return STATIC_APEX;
  if (labels.at(-1) === 'local') return DOMAIN;
  return undefined;
}

const kind = (labels: string | string[]): QueryKind => {
  const name = nameFromLabels(typeof labels === 'string' ? labelsOf(labels) : labels);
  return classifyQuery(name, DOMAIN, zoneApex(name));
};

describe('query classifier: name -> DNS-SD query kind', () => {
  const rows: [string | string[], QueryKind][] = [
    ['local.', { kind: 'static' }],
    ['ns1.example.test.', { kind: 'static' }],
    ['example.test.', { kind: 'static' }],
    ['example.com.', { kind: 'outside' }],
    ['test.', { kind: 'outside' }],
    ['b._dns-sd._udp.local.', { kind: 'browse-domain', label: 'b' }],
    ['LB._DNS-SD._UDP.local.', { kind: 'browse-domain', label: 'lb' }],
    ['db._dns-sd._udp.local.', { kind: 'nonexistent' }],
    ['_services._dns-sd._udp.local.', { kind: 'enumerate' }],
    ['x.y._dns-sd._udp.local.', { kind: 'nonexistent' }],
    ['_dns-sd._udp.local.', { kind: 'empty-non-terminal', node: 'dns-sd' }],
    ['_tcp.local.', { kind: 'empty-non-terminal', node: 'protocol', protocol: 'tcp' }],
    ['_udp.local.', { kind: 'empty-non-terminal', node: 'protocol', protocol: 'udp' }],
    ['_API._Tcp.local.', { kind: 'service', service: 'api', protocol: 'tcp' }],
    ['_dnsq._udp.local.', { kind: 'service', service: 'dnsq', protocol: 'udp' }],
    ['_dns-sd._tcp.local.', { kind: 'service', service: 'dns-sd', protocol: 'tcp' }],
    ['API-1._api._tcp.local.', { kind: 'instance', service: 'api', protocol: 'tcp', id: 'API-1', foldedId: 'api-1' }],
    [['Kitchen Printer.2', '_printer', '_tcp', 'local'], { kind: 'instance', service: 'printer', protocol: 'tcp', id: 'Kitchen Printer.2', foldedId: 'kitchen printer.2' }],
    [['CAFé ☕', '_printer', '_tcp', 'local'], { kind: 'instance', service: 'printer', protocol: 'tcp', id: 'CAFé ☕', foldedId: 'café ☕' }],
    ['_sub._api._tcp.local.', { kind: 'empty-non-terminal', node: 'sub', service: 'api', protocol: 'tcp' }],
    ['_Primary._sub._api._tcp.local.', { kind: 'subtype', service: 'api', protocol: 'tcp', tag: 'primary' }],
    ['v2._sub._api._tcp.local.', { kind: 'subtype', service: 'api', protocol: 'tcp', tag: 'v2' }],
    ['a.b._api._tcp.local.', { kind: 'nonexistent' }],
    ['a.b.c._api._tcp.local.', { kind: 'nonexistent' }],
    ['addr.local.', { kind: 'empty-non-terminal', node: 'addr' }],
    ['10-0-0-1.addr.local.', { kind: 'address-name', address: '10.0.0.1' }],
    ['fd00--1.addr.local.', { kind: 'address-name', address: 'fd00::1' }],
    ['0--1.addr.local.', { kind: 'address-name', address: '::1' }],
    ['--1.addr.local.', { kind: 'nonexistent' }],
    ['999-0-0-1.addr.local.', { kind: 'nonexistent' }],
    ['FD00--1.addr.local.', { kind: 'address-name', address: 'fd00::1' }],
    ['fd00-0-0-0-0-0-0-1.addr.local.', { kind: 'nonexistent' }],
    ['x.10-0-0-1.addr.local.', { kind: 'host' }],
    ['printer-host.local.', { kind: 'host' }],
    ['www.local.', { kind: 'host' }],
    ['foo._tcp.local.', { kind: 'host' }],
    ['_._tcp.local.', { kind: 'host' }],
  ];
  it.each(rows.map(([q, k]) => [Array.isArray(q) ? q.join('|') : q, q, k] as const))('%s', (_title, qname, expected) => {
    expect(kind(qname)).toEqual(expected);
  });
});

const SERIAL = 2024010199;

/** The namespace world's handler, in process: the fake registry and both static zones, no sockets. */
function worldHandler(): DnsRequestHandler {
  const zones = [parseZoneFile(LOCAL_ZONE), parseZoneFile(TEST_ZONE)];
  const authority = new Authority({ domain: DOMAIN, answerTtl: 5, negativeTtl: 5, zones, nameServerAddresses: ['127.0.0.1'], serial: SERIAL });
  return new DnsRequestHandler({ authority, view: worldView(), domain: DOMAIN });
}

describe('DNS namespace table, in process through the request handler, decoded by dns-packet', () => {
  const handler = worldHandler();
  it.each(namespaceCases(SERIAL))('%s', (_title, c) => {
    // Asked twice: the second reply comes from the cache and must say the same.
    for (let round = 0; round < 2; round++) {
      const reply = handler.handle(buildQuery(c.qname, c.qtype, { edns: 1232, id: 100 + round }), 'udp');
      expect(reply).toBeDefined();
      const r = decode(reply!);
      expect(r.id).toBe(100 + round);
      expect(r.qr).toBe(true);
      expect(r.rcode).toBe(c.rcode);
      expect(r.aa).toBe(c.aa ?? true);
      expect(r.tc).toBe(false);
      expect(r.opt?.udpPayloadSize).toBe(1232);
      if (c.answer) expect([...r.answer].sort()).toEqual([...c.answer].sort());
      if (c.authority) expect(r.authority).toEqual(c.authority);
      if (c.additional) expect([...r.additional].sort()).toEqual([...c.additional].sort());
    }
  });
});

/** Documented namespace rows (first cell, verbatim) -> the cases above that exercise them. */
const DOCUMENTED_ROWS: Record<string, string[]> = {
  '`D` SOA, NS': ['apex SOA', 'apex NS with glue for the generated ns.D'],
  '`b._dns-sd._udp.D`, `lb._dns-sd._udp.D` PTR': ['browse domain b', 'browse domain lb'],
  '`_services._dns-sd._udp.D` PTR': ['service enumeration lists every registered service'],
  '`_S._P.D` PTR': ['service PTR: eligible instances + SRV/TXT/A/AAAA', 'service without eligible instance: NODATA + SOA (PTR)'],
  '`_T._sub._S._P.D` PTR': ['subtype PTR: only instances with the tag', 'subtype PTR: tags match case-insensitively', 'subtype nobody carries: NODATA'],
  '`_S._P.D` SRV': ['service SRV (RFC 2782 style) with target addresses', 'SRV targets: host name and derived name, both with addresses', 'SRV target outside our zones: no additional record'],
  '`_S._P.D` A / AAAA': ['service A', 'service AAAA'],
  '`I._S._P.D` SRV / TXT': ['instance SRV', 'instance TXT from metadata', 'instance TXT without metadata: one empty string', 'unhealthy instance: NODATA, never its data', 'unknown instance: NXDOMAIN'],
  '`10-0-0-1.addr.D` A, `fd00--1.addr.D` AAAA': ['address-derived target, IPv4', 'address-derived target, IPv6', 'address-derived target, other type: NODATA', 'not an address: NXDOMAIN', 'instance host name inside the zone answers A'],
};

/** The first cells of the `| query | answer |` table in the architecture document (or README until it exists). */
function documentedRows(): string[] {
  const root = new URL('../../', import.meta.url);
  for (const file of ['docs/ARCHITECTURE.md', 'README.md']) {
    const path = new URL(file, root);
    if (!existsSync(path)) continue;
    const lines = readFileSync(path, 'utf8').split('\n');
    const header = lines.findIndex((l) => /^\|\s*query\s*\|\s*answer\s*\|/i.test(l));
    if (header < 0) continue;
    const rows: string[] = [];
    for (const line of lines.slice(header + 2)) {
      if (!line.startsWith('|')) break;
      rows.push((line.split('|')[1] ?? '').trim());
    }
    return rows;
  }
  return [];
}

describe('the documented namespace table is covered', () => {
  it('has a case for every row, and every case named here exists', () => {
    const rows = documentedRows();
    expect(rows.length).toBeGreaterThanOrEqual(9);
    expect(rows.filter((row) => DOCUMENTED_ROWS[row] === undefined)).toEqual([]);
    const titles = new Set(namespaceCases(SERIAL).map(([t]) => t));
    expect(Object.values(DOCUMENTED_ROWS).flat().filter((t) => !titles.has(t))).toEqual([]);
  });
});
