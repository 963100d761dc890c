/** RFC 1035 master-file parsing: directives, parentheses, escapes, relative names, clear errors. */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseZoneFile, loadZoneDirectory } from '../../src/dns/zonefile.js';
import { recordToText } from '../../src/dns/rr/index.js';
import { nameToPresentation } from '../../src/dns/name.js';
import { DEFAULT_ZONES_DIR } from '../../src/dns/server.js';
import { InvalidConfigurationError } from '../../src/errors.js';

const lines = (text: string, origin?: string): string[] => parseZoneFile(text, { origin }).records.map(recordToText);

describe('zone file parser', () => {
  it('reads a full zone: $ORIGIN, $TTL, @, relative names, parentheses and comments', () => {
    const zone = parseZoneFile(`
$ORIGIN example.test.
$TTL 1h
@   IN SOA ns1 hostmaster (
        2024010101 ; serial
        2h         ; refresh
        30m        ; retry
        2w         ; expire
        300 )      ; minimum
    IN NS  ns1                ; owner inherited from the line above
ns1 IN A   192.0.2.53
ns1 IN AAAA 2001:db8::53
www 60 IN CNAME ns1
mail IN 120 MX 10 ns1.example.test.
_http._tcp IN SRV 0 5 80 www
4.2.0.192.in-addr.arpa.example.test. PTR www
txt IN TXT "hello world" unquoted "semi;colon" "quote\\"inside"
`);
    expect(nameToPresentation(zone.apex)).toBe('example.test.');
    expect(zone.records.map(recordToText)).toEqual([
      'example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 1800 1209600 300',
      'example.test. 3600 IN NS ns1.example.test.',
      'ns1.example.test. 3600 IN A 192.0.2.53',
      'ns1.example.test. 3600 IN AAAA 2001:db8::53',
      'www.example.test. 60 IN CNAME ns1.example.test.',
      'mail.example.test. 120 IN MX 10 ns1.example.test.',
      '_http._tcp.example.test. 3600 IN SRV 0 5 80 www.example.test.',
      '4.2.0.192.in-addr.arpa.example.test. 3600 IN PTR www.example.test.',
      'txt.example.test. 3600 IN TXT "hello world" "unquoted" "semi;colon" "quote\\"inside"',
    ]);
  });

  it('handles escapes in names and strings: \\. \\\\ \\032 and UTF-8', () => {
    const zone = parseZoneFile(`
$ORIGIN local.
$TTL 5
Kitchen\\032Printer\\.2._ipp._tcp  IN TXT "a\\032b" "caf\\195\\169"
Café._ipp._tcp                     IN TXT ""
back\\\\slash                      IN A 10.0.0.1
`);
    const [first, second, third] = zone.records;
    expect(first!.name[0]!.toString('utf8')).toBe('Kitchen Printer.2');
    expect(recordToText(first!)).toBe('Kitchen\\032Printer\\.2._ipp._tcp.local. 5 IN TXT "a b" "caf\\195\\169"');
    expect(first!.data.kind === 'TXT' && first!.data.strings[1]!.toString('utf8')).toBe('café');
    expect(second!.name[0]!.toString('utf8')).toBe('Café');
    expect(second!.data).toEqual({ kind: 'TXT', strings: [Buffer.alloc(0)] });
    expect(third!.name[0]!.toString('latin1')).toBe('back\\slash');
    expect(nameToPresentation(third!.name)).toBe('back\\\\slash.local.');
  });

  it('takes the origin from options when the file has none, and the apex from the SOA', () => {
    expect(lines('www 300 IN A 192.0.2.1', 'local')).toEqual(['www.local. 300 IN A 192.0.2.1']);
    const z = parseZoneFile('$TTL 60\nsub.example. IN SOA ns hm 1 2 3 4 5\nwww.sub.example. IN A 192.0.2.2', { origin: 'example.' });
    expect(nameToPresentation(z.apex)).toBe('sub.example.');
  });

  it('reads RFC 3597 generic records', () => {
    expect(lines('$ORIGIN t.\nx 60 IN TYPE65280 \\# 4 0a000001', undefined)).toEqual(['x.t. 60 IN TYPE65280 \\# 4 0a000001']);
  });

  const bad: [string, string, RegExp][] = [
    ['an unknown type', '$ORIGIN t.\n$TTL 5\nx IN BOGUS 1', /zone:3: unknown record type "BOGUS"/],
    ['a bad IPv4 address', '$ORIGIN t.\n$TTL 5\n\nx IN A 300.1.1.1', /zone:4: A: "300.1.1.1" is not an IPv4 address/],
    ['an unclosed parenthesis', '$ORIGIN t.\n$TTL 5\nx IN SOA a b (1 2 3\n4 5', /zone:3: unclosed "\("/],
    ['an unterminated string', '$ORIGIN t.\n$TTL 5\nx IN TXT "abc', /zone:3: unterminated quoted string/],
    ['a missing TTL', '$ORIGIN t.\nx IN A 192.0.2.1', /zone:2: no TTL/],
    ['a record outside the zone', '$ORIGIN t.\n$TTL 5\nx.other. IN A 192.0.2.1', /zone:3: x\.other\. is outside the zone t\./],
    ['a wrong field count', '$ORIGIN t.\n$TTL 5\nx IN SRV 0 5 80', /zone:3: SRV takes 4 field/],
    ['an SRV port out of range', '$ORIGIN t.\n$TTL 5\nx IN SRV 0 5 70000 y', /zone:3: SRV port: expected an integer 0..65535/],
    ['a TXT string over 255 octets', `$ORIGIN t.\n$TTL 5\nx IN TXT "${'a'.repeat(256)}"`, /zone:3: TXT string of 256 octets/],
    ['a bad escape', '$ORIGIN t.\n$TTL 5\nx\\999 IN A 192.0.2.1', /zone:3: owner: escape \\999 is above 255/],
    ['an over-long label', `$ORIGIN t.\n$TTL 5\n${'a'.repeat(64)} IN A 192.0.2.1`, /zone:3: owner: DNS label of 64 octets/],
    ['class CH', '$ORIGIN t.\n$TTL 5\nx CH TXT "a"', /zone:3: class CH is not supported/],
    ['$INCLUDE', '$INCLUDE other.zone', /zone:1: unsupported directive \$INCLUDE/],
    ['no origin at all', 'x 5 IN A 192.0.2.1', /relative name "x" without an origin/],
  ];
  it.each(bad)('rejects %s with the line number', (_what, text, message) => {
    const attempt = (): unknown => parseZoneFile(text, { fileName: 'zone' });
    expect(attempt).toThrow(InvalidConfigurationError);
    expect(attempt).toThrow(message);
  });
});

describe('zone directories', () => {
  it('loads *.zone files with the file name as the initial origin, and rejects two files for one apex', () => {
    const dir = mkdtempSync(join(tmpdir(), 'beacon-zones-'));
    try {
      writeFileSync(join(dir, 'example.test.zone'), '$TTL 5\nwww IN A 192.0.2.1\n');
      writeFileSync(join(dir, 'README.md'), 'not a zone');
      const zones = loadZoneDirectory(dir);
      expect(zones.map((z) => nameToPresentation(z.apex))).toEqual(['example.test.']);
      expect(zones[0]!.records.map(recordToText)).toEqual(['www.example.test. 5 IN A 192.0.2.1']);
      writeFileSync(join(dir, 'zz.zone'), '$ORIGIN example.test.\n$TTL 5\nftp IN A 192.0.2.2\n');
      expect(() => loadZoneDirectory(dir)).toThrow(/a second zone file for example\.test\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ships a loadable example zone for local.', () => {
    const zones = loadZoneDirectory(DEFAULT_ZONES_DIR);
    expect(zones.map((z) => nameToPresentation(z.apex))).toEqual(['local.']);
    expect(zones[0]!.records.every((r) => r.type !== 6)).toBe(true); // no SOA: Beacon generates it
  });

  it('reports a missing directory clearly', () => {
    expect(() => loadZoneDirectory('/nonexistent/beacon-zones')).toThrow(/cannot read zone directory/);
  });
});
