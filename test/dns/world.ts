/** The world the namespace suites (unit and interop) query: a fake registry, static zones, expectations. */
import { FakeView } from './fake-view.js';
import type { DnsServer } from '../../src/dns/server.js';
import { parseZoneFile } from '../../src/dns/zonefile.js';
import { serveOnLoopback } from './helpers.js';

/** Static data merged under local. */
export const LOCAL_ZONE = `
$ORIGIN local.
$TTL 60
www     IN A     192.0.2.10
alias   IN CNAME www
`;
/** A second, static-only zone. */
export const TEST_ZONE = `
$ORIGIN example.test.
@    3600 IN SOA ns1 admin 2024010101 7200 3600 1209600 300
@         IN NS  ns1
ns1       IN A   192.0.2.53
`;

/** The registry the namespace table is checked against. */
export function worldView(): FakeView {
  const view = new FakeView();
  view.set({ service: 'api', id: 'api-1', address: '10.0.0.1', port: 8080, weight: 10, tags: ['primary', 'v2'], metadata: { version: '1.2', zone: 'eu' } });
  view.set({ service: 'api', id: 'api-2', address: 'fd00::1', port: 8081, priority: 1, weight: 5, tags: ['V2'] });
  view.set({ service: 'api', id: 'api-3', address: '10.0.0.3', port: 8083 }, false);
  view.set({ service: 'db', id: 'db-1', address: '10.0.0.20', port: 5432 }, false);
  view.set({ service: 'printer', id: 'Kitchen Printer.2', address: '10.0.0.7', port: 631, host: 'printer-host.local' });
  view.set({ service: 'printer', id: 'Café ☕', address: '10.0.0.8', port: 631 });
  view.set({ service: 'dnsq', protocol: 'udp', id: 'ext', address: '10.0.0.9', port: 53, host: 'ext.example.com' });
  return view;
}

/** One table row. */
export interface NamespaceCase {
  qname: string | string[];
  qtype: string;
  rcode: string;
  answer?: string[];
  authority?: string[];
  additional?: string[];
  aa?: boolean;
}


const API_PTR_ADDITIONAL = [
  'api-1._api._tcp.local. 5 IN SRV 0 10 8080 10-0-0-1.addr.local.',
  'api-1._api._tcp.local. 5 IN TXT "version=1.2" "zone=eu"',
  'api-2._api._tcp.local. 5 IN SRV 1 5 8081 fd00--1.addr.local.',
  'api-2._api._tcp.local. 5 IN TXT ""',
  '10-0-0-1.addr.local. 5 IN A 10.0.0.1',
  'fd00--1.addr.local. 5 IN AAAA fd00::1',
];

/** Every namespace row as {qname, qtype, rcode, sections} with zone-file lines; `serial` is the generated SOA's. */
export const namespaceCases = (serial: number): [string, NamespaceCase][] => {
  const SOA = (): string => `local. 5 IN SOA ns.local. hostmaster.local. ${serial} 3600 600 86400 5`;
  return [
  // apex
  ['apex SOA', { qname: 'local.', qtype: 'SOA', rcode: 'NOERROR', answer: [SOA()] }],
  ['apex NS with glue for the generated ns.D', { qname: 'local.', qtype: 'NS', rcode: 'NOERROR', answer: ['local. 5 IN NS ns.local.'], additional: ['ns.local. 5 IN A 127.0.0.1'] }],
  // browse domains, enumeration
  ['browse domain b', { qname: 'b._dns-sd._udp.local.', qtype: 'PTR', rcode: 'NOERROR', answer: ['b._dns-sd._udp.local. 5 IN PTR local.'] }],
  ['browse domain lb', { qname: 'lb._dns-sd._udp.local.', qtype: 'PTR', rcode: 'NOERROR', answer: ['lb._dns-sd._udp.local. 5 IN PTR local.'] }],
  ['service enumeration lists every registered service', {
    qname: '_services._dns-sd._udp.local.', qtype: 'PTR', rcode: 'NOERROR',
    answer: [
      '_services._dns-sd._udp.local. 5 IN PTR _api._tcp.local.',
      '_services._dns-sd._udp.local. 5 IN PTR _db._tcp.local.',
      '_services._dns-sd._udp.local. 5 IN PTR _dnsq._udp.local.',
      '_services._dns-sd._udp.local. 5 IN PTR _printer._tcp.local.',
    ],
  }],
  // service PTR with RFC 6763 §12.1 additional records; the unhealthy api-3 never appears
  ['service PTR: eligible instances + SRV/TXT/A/AAAA', {
    qname: '_api._tcp.local.', qtype: 'PTR', rcode: 'NOERROR',
    answer: ['_api._tcp.local. 5 IN PTR api-1._api._tcp.local.', '_api._tcp.local. 5 IN PTR api-2._api._tcp.local.'],
    additional: API_PTR_ADDITIONAL,
  }],
  ['service SRV (RFC 2782 style) with target addresses', {
    qname: '_api._tcp.local.', qtype: 'SRV', rcode: 'NOERROR',
    answer: ['_api._tcp.local. 5 IN SRV 0 10 8080 10-0-0-1.addr.local.', '_api._tcp.local. 5 IN SRV 1 5 8081 fd00--1.addr.local.'],
    additional: ['10-0-0-1.addr.local. 5 IN A 10.0.0.1', 'fd00--1.addr.local. 5 IN AAAA fd00::1'],
  }],
  ['service A', { qname: '_api._tcp.local.', qtype: 'A', rcode: 'NOERROR', answer: ['_api._tcp.local. 5 IN A 10.0.0.1'] }],
  ['service AAAA', { qname: '_api._tcp.local.', qtype: 'AAAA', rcode: 'NOERROR', answer: ['_api._tcp.local. 5 IN AAAA fd00::1'] }],
  ['service TXT: NODATA', { qname: '_api._tcp.local.', qtype: 'TXT', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  // instances
  ['instance SRV', {
    qname: 'api-1._api._tcp.local.', qtype: 'SRV', rcode: 'NOERROR',
    answer: ['api-1._api._tcp.local. 5 IN SRV 0 10 8080 10-0-0-1.addr.local.'], additional: ['10-0-0-1.addr.local. 5 IN A 10.0.0.1'],
  }],
  ['instance TXT from metadata', { qname: 'api-1._api._tcp.local.', qtype: 'TXT', rcode: 'NOERROR', answer: ['api-1._api._tcp.local. 5 IN TXT "version=1.2" "zone=eu"'] }],
  ['instance TXT without metadata: one empty string', { qname: 'api-2._api._tcp.local.', qtype: 'TXT', rcode: 'NOERROR', answer: ['api-2._api._tcp.local. 5 IN TXT ""'] }],
  ['instance A: NODATA', { qname: 'api-1._api._tcp.local.', qtype: 'A', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  ['unhealthy instance: NODATA, never its data', { qname: 'api-3._api._tcp.local.', qtype: 'SRV', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  ['unknown instance: NXDOMAIN', { qname: 'nope._api._tcp.local.', qtype: 'SRV', rcode: 'NXDOMAIN', answer: [], authority: [SOA()] }],
  // registered service with no eligible instance, unknown service, empty non-terminals
  ['service without eligible instance: NODATA + SOA (SRV)', { qname: '_db._tcp.local.', qtype: 'SRV', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  ['service without eligible instance: NODATA + SOA (PTR)', { qname: '_db._tcp.local.', qtype: 'PTR', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  ['unregistered service: NXDOMAIN + SOA', { qname: '_nope._tcp.local.', qtype: 'PTR', rcode: 'NXDOMAIN', answer: [], authority: [SOA()] }],
  ['unregistered protocol of a service: NXDOMAIN', { qname: '_api._udp.local.', qtype: 'SRV', rcode: 'NXDOMAIN', answer: [], authority: [SOA()] }],
  ['empty non-terminal _tcp.D: NODATA', { qname: '_tcp.local.', qtype: 'PTR', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  ['empty non-terminal _sub: NODATA', { qname: '_sub._api._tcp.local.', qtype: 'PTR', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  ['unknown name in the zone: NXDOMAIN', { qname: 'nothing-here.local.', qtype: 'A', rcode: 'NXDOMAIN', answer: [], authority: [SOA()] }],
  // subtypes
  ['subtype PTR: only instances with the tag', {
    qname: '_primary._sub._api._tcp.local.', qtype: 'PTR', rcode: 'NOERROR',
    answer: ['_primary._sub._api._tcp.local. 5 IN PTR api-1._api._tcp.local.'],
    additional: API_PTR_ADDITIONAL.filter((l) => !l.includes('api-2') && !l.includes('fd00')),
  }],
  ['subtype PTR: tags match case-insensitively', {
    qname: '_v2._sub._api._tcp.local.', qtype: 'PTR', rcode: 'NOERROR',
    answer: ['_v2._sub._api._tcp.local. 5 IN PTR api-1._api._tcp.local.', '_v2._sub._api._tcp.local. 5 IN PTR api-2._api._tcp.local.'],
    additional: API_PTR_ADDITIONAL,
  }],
  ['subtype nobody carries: NODATA', { qname: '_gpu._sub._api._tcp.local.', qtype: 'PTR', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  // SRV targets
  ['address-derived target, IPv4', { qname: '10-0-0-1.addr.local.', qtype: 'A', rcode: 'NOERROR', answer: ['10-0-0-1.addr.local. 5 IN A 10.0.0.1'] }],
  ['address-derived target, IPv6', { qname: 'fd00--1.addr.local.', qtype: 'AAAA', rcode: 'NOERROR', answer: ['fd00--1.addr.local. 5 IN AAAA fd00::1'] }],
  ['address-derived target, other type: NODATA', { qname: '10-0-0-1.addr.local.', qtype: 'AAAA', rcode: 'NOERROR', answer: [], authority: [SOA()] }],
  ['not an address: NXDOMAIN', { qname: '999-0-0-1.addr.local.', qtype: 'A', rcode: 'NXDOMAIN', answer: [], authority: [SOA()] }],
  ['instance host name inside the zone answers A', { qname: 'printer-host.local.', qtype: 'A', rcode: 'NOERROR', answer: ['printer-host.local. 5 IN A 10.0.0.7'] }],
  ['SRV targets: host name and derived name, both with addresses', {
    qname: '_printer._tcp.local.', qtype: 'SRV', rcode: 'NOERROR',
    answer: ['_printer._tcp.local. 5 IN SRV 0 1 631 printer-host.local.', '_printer._tcp.local. 5 IN SRV 0 1 631 10-0-0-8.addr.local.'],
    additional: ['printer-host.local. 5 IN A 10.0.0.7', '10-0-0-8.addr.local. 5 IN A 10.0.0.8'],
  }],
  ['SRV target outside our zones: no additional record', { qname: '_dnsq._udp.local.', qtype: 'SRV', rcode: 'NOERROR', answer: ['_dnsq._udp.local. 5 IN SRV 0 1 53 ext.example.com.'], additional: [] }],
  // UTF-8 and names with dots and spaces (dns-packet joins labels with dots; the label check is below)
  ['instance name with a dot and a space', {
    qname: ['Kitchen Printer.2', '_printer', '_tcp', 'local'], qtype: 'SRV', rcode: 'NOERROR',
    answer: ['Kitchen Printer.2._printer._tcp.local. 5 IN SRV 0 1 631 printer-host.local.'], additional: ['printer-host.local. 5 IN A 10.0.0.7'],
  }],
  ['UTF-8 instance name', { qname: ['Café ☕', '_printer', '_tcp', 'local'], qtype: 'TXT', rcode: 'NOERROR', answer: ['Café ☕._printer._tcp.local. 5 IN TXT ""'] }],
  ['UTF-8 instance name, case folding is ASCII-only', { qname: ['CAFé ☕', '_printer', '_tcp', 'local'], qtype: 'TXT', rcode: 'NOERROR', answer: ['CAFé ☕._printer._tcp.local. 5 IN TXT ""'] }],
  // static zone data merged under the same apex, and a second zone
  ['static record in the DNS-SD domain', { qname: 'www.local.', qtype: 'A', rcode: 'NOERROR', answer: ['www.local. 60 IN A 192.0.2.10'] }],
  ['static CNAME is followed inside our zones', { qname: 'alias.local.', qtype: 'A', rcode: 'NOERROR', answer: ['alias.local. 60 IN CNAME www.local.', 'www.local. 60 IN A 192.0.2.10'] }],
  ['second zone', { qname: 'ns1.example.test.', qtype: 'A', rcode: 'NOERROR', answer: ['ns1.example.test. 3600 IN A 192.0.2.53'] }],
  ['second zone NXDOMAIN: its own SOA, TTL = min(TTL, minimum)', {
    qname: 'nothing.example.test.', qtype: 'A', rcode: 'NXDOMAIN', answer: [],
    authority: ['example.test. 300 IN SOA ns1.example.test. admin.example.test. 2024010101 7200 3600 1209600 300'],
  }],
  // outside our zones
  ['out of zone: REFUSED, not authoritative', { qname: 'example.com.', qtype: 'A', rcode: 'REFUSED', answer: [], authority: [], aa: false }],
  ['parent of our zone: REFUSED', { qname: 'test.', qtype: 'SOA', rcode: 'REFUSED', answer: [], authority: [], aa: false }],
];
};

/** The world served on 127.0.0.1 port 0: the fake registry merged with both static zones. */
export function serveWorld(): Promise<DnsServer> {
  return serveOnLoopback(worldView(), { zones: [parseZoneFile(LOCAL_ZONE), parseZoneFile(TEST_ZONE)] });
}
