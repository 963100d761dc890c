/** The codec where dns2 is wrong: SRV compression, TXT splitting, UTF-8 and dotted labels; the question parser. */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { nameFromLabels, nameToPresentation, parseName, nameKey, suffixKeys } from '../../src/dns/name.js';
import { RRType, metadataToTxt, type ResourceRecord } from '../../src/dns/records.js';
import { ParsedQuery, ParseStatus, encodeResponse, parseQuery, foldedQuestionName, questionKeyHash } from '../../src/dns/wire.js';
import { addressFromLabel, addressLabel } from '../../src/dns/hosts.js';
import { buildQuery, wireName } from './helpers.js';

const name = (text: string) => parseName(text);

function respond(answer: ResourceRecord[], question = buildQuery('x.local.', 'SRV').subarray(12)): Buffer {
  return encodeResponse({ id: 7, opcode: 0, aa: true, requestFlags: 0, rcode: 0, question, answer, authority: [], additional: [], limit: 65535 }).bytes;
}

describe('names', () => {
  it('round-trips presentation escapes: \\. \\\\ \\032 and UTF-8', () => {
    const n = nameFromLabels(['My.Printer \\ Café', '_ipp', '_tcp', 'local']);
    const text = nameToPresentation(n);
    expect(text).toBe('My\\.Printer\\032\\\\\\032Café._ipp._tcp.local.');
    expect(parseName(text)).toEqual(n);
    expect(nameToPresentation(n, true)).toBe('My\\.Printer\\032\\\\\\032Caf\\195\\169._ipp._tcp.local.');
    expect(parseName(nameToPresentation(n, true))).toEqual(n);
  });

  it('folds only ASCII for keys (RFC 4343)', () => {
    expect(nameKey(nameFromLabels(['CAFÉ', 'Local']))).toBe(nameKey(nameFromLabels(['cafÉ', 'local'])));
    expect(nameKey(nameFromLabels(['CAFÉ']))).not.toBe(nameKey(nameFromLabels(['café'])));
  });
});

describe('response encoder', () => {
  it('never compresses the SRV target, even when the name was written before (RFC 2782)', () => {
    const target = name('host.local.');
    const bytes = respond([
      { name: name('host.local.'), type: RRType.A, ttl: 5, data: { kind: 'A', address: Buffer.from([10, 0, 0, 1]) } },
      { name: name('x.local.'), type: RRType.SRV, ttl: 5, data: { kind: 'SRV', priority: 1, weight: 2, port: 3, target } },
    ]);
    const srvRdata = Buffer.concat([Buffer.from([0, 1, 0, 2, 0, 3]), wireName(['host', 'local'])]);
    expect(bytes.includes(srvRdata)).toBe(true);
    const decoded = dnsPacket.decode(bytes);
    expect(decoded.answers![1]).toMatchObject({ type: 'SRV', data: { priority: 1, weight: 2, port: 3, target: 'host.local' } });
  });

  it('compresses owner names and PTR targets against the question', () => {
    const q = buildQuery('_api._tcp.local.', 'PTR').subarray(12);
    const bytes = respond([{ name: name('_api._tcp.local.'), type: RRType.PTR, ttl: 5, data: { kind: 'PTR', target: name('i1._api._tcp.local.') } }], q);
    // header 12 + question 21 + owner pointer 2 + fixed 10 + rdata (label "i1" + pointer = 5)
    expect(bytes.length).toBe(12 + q.length + 2 + 10 + 5);
    expect((dnsPacket.decode(bytes).answers![0] as { data: string }).data).toBe('i1._api._tcp.local');
  });

  it('splits TXT values over 255 octets into several strings, each with its own length octet', () => {
    const strings = metadataToTxt({ big: 'x'.repeat(600), small: 'y' });
    expect(strings.map((s) => s.length)).toEqual([255, 255, 94, 7]);
    const bytes = respond([{ name: name('x.local.'), type: RRType.TXT, ttl: 5, data: { kind: 'TXT', strings } }]);
    const data = (dnsPacket.decode(bytes).answers![0] as { data: Buffer[] }).data;
    expect(Buffer.concat(data.slice(0, 3)).toString()).toBe(`big=${'x'.repeat(600)}`);
    expect(data[3]!.toString()).toBe('small=y');
  });

  it('lists TXT pairs in registration order with txtvers first (RFC 6763 §6.7)', () => {
    const text = (m: Record<string, string>) => metadataToTxt(m).map((b) => b.toString());
    expect(text({ zeta: '1', alpha: '2', mid: '3' })).toEqual(['zeta=1', 'alpha=2', 'mid=3']);
    expect(text({ path: '/x', a: 'b', txtvers: '1' })).toEqual(['txtvers=1', 'path=/x', 'a=b']);
    expect(text({ txtvers: '1', path: '/x', a: 'b' })).toEqual(['txtvers=1', 'path=/x', 'a=b']);
  });

  it('writes an empty TXT as one zero-length string (RFC 6763 §6.1)', () => {
    const bytes = respond([{ name: name('x.local.'), type: RRType.TXT, ttl: 5, data: { kind: 'TXT', strings: metadataToTxt({}) } }]);
    expect(bytes.subarray(bytes.length - 3)).toEqual(Buffer.from([0, 1, 0])); // RDLENGTH 1, one empty string
  });

  it('keeps UTF-8 and dots inside one label', () => {
    const target = nameFromLabels(['Café.2', '_ipp', '_tcp', 'local']);
    const bytes = respond([{ name: name('_ipp._tcp.local.'), type: RRType.PTR, ttl: 5, data: { kind: 'PTR', target } }]);
    const label = Buffer.from('Café.2', 'utf8');
    expect(bytes.includes(Buffer.concat([Buffer.from([label.length]), label]))).toBe(true);
  });
});

describe('question parser', () => {
  it('folds the question into the cache key and keeps the offsets', () => {
    const q = new ParsedQuery();
    const msg = buildQuery('_API._tcp.Local.', 'SRV', { edns: 4096, dnssecOk: true });
    expect(parseQuery(msg, q)).toBe(ParseStatus.Ok);
    const folded = foldedQuestionName(q, q.key.toString('latin1', 0, q.keyLength));
    expect(nameToPresentation(folded)).toBe('_api._tcp.local.');
    expect([q.qtype, q.qclass, q.hasOpt, q.optPayload, q.optDo, q.optVersion]).toEqual([33, 1, true, 4096, true, 0]);
  });

  it("gives the question's folded name the keys a name built label by label has", () => {
    const q = new ParsedQuery();
    for (const text of ['_API._tcp.Local.', 'Kitchen-Printer_2._IPP._tcp.local.', 'x.', '.']) {
      expect(parseQuery(buildQuery(text, 'A'), q)).toBe(ParseStatus.Ok);
      const folded = foldedQuestionName(q, q.key.toString('latin1', 0, q.keyLength));
      const built = parseName(text.toLowerCase());
      expect(folded.map((l) => l.toString('latin1'))).toEqual(built.map((l) => l.toString('latin1')));
      expect(nameKey(folded)).toBe(nameKey(built));
      expect(suffixKeys(folded)).toEqual(suffixKeys(built));
      expect(folded.map((_, i) => nameKey(folded.slice(i)))).toEqual(suffixKeys(built));
    }
  });

  it('rejects compression in the question, two OPTs, an OPT outside the additional section', () => {
    const q = new ParsedQuery();
    const pointer = Buffer.concat([buildQuery('a.', 'A').subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    expect(parseQuery(pointer, q)).toBe(ParseStatus.FormErr);
    const withOpt = buildQuery('a.', 'A', { edns: 1232 });
    const twoOpts = Buffer.concat([withOpt, withOpt.subarray(withOpt.length - 11)]);
    twoOpts.writeUInt16BE(2, 10);
    expect(parseQuery(twoOpts, q)).toBe(ParseStatus.FormErr);
    const optAsAnswer = Buffer.from(withOpt);
    optAsAnswer.writeUInt16BE(1, 6);
    optAsAnswer.writeUInt16BE(0, 10);
    expect(parseQuery(optAsAnswer, q)).toBe(ParseStatus.FormErr);
  });

  it('hashes the key as questionKeyHash hashes its string form: case folded, qtype included', () => {
    const q = new ParsedQuery();
    const hashes = ['_API._tcp.Local.', '_api._tcp.local.', '_api._udp.local.'].map((n) => {
      expect(parseQuery(buildQuery(n, 'SRV'), q)).toBe(ParseStatus.Ok);
      expect(q.keyHash).toBe(questionKeyHash(q.key.toString('latin1', 0, q.keyLength)));
      return q.keyHash;
    });
    expect(parseQuery(buildQuery('_api._tcp.local.', 'TXT'), q)).toBe(ParseStatus.Ok);
    expect([hashes[0] === hashes[1], hashes[1] === hashes[2], q.keyHash === hashes[0]]).toEqual([true, false, false]);
  });

  it('reads only msg[0, end) of a longer buffer (a receive slot), and never past the buffer', () => {
    const q = new ParsedQuery();
    const msg = buildQuery('_api._tcp.local.', 'SRV', { edns: 1232 });
    const slot = Buffer.concat([msg, Buffer.alloc(100, 0xff)]);
    expect(parseQuery(slot, q)).toBe(ParseStatus.FormErr); // the trailing octets belong to no record
    expect(parseQuery(slot, q, msg.length)).toBe(ParseStatus.Ok);
    expect([q.qtype, q.hasOpt, q.optPayload]).toEqual([33, true, 1232]);
    // The datagram cut short inside its OPT record or question: malformed, whatever follows in the slot.
    expect(parseQuery(slot, q, msg.length - 1)).toBe(ParseStatus.FormErr);
    expect(parseQuery(slot, q, 20)).toBe(ParseStatus.FormErr);
    expect(parseQuery(slot, q, 11)).toBe(ParseStatus.Drop);
    expect(parseQuery(msg, q, msg.length + 1)).toBe(ParseStatus.Drop);
  });

  it('drops responses and runts, flags other opcodes', () => {
    const q = new ParsedQuery();
    expect(parseQuery(Buffer.alloc(11), q)).toBe(ParseStatus.Drop);
    const response = buildQuery('a.', 'A');
    response[2] = response[2]! | 0x80;
    expect(parseQuery(response, q)).toBe(ParseStatus.Drop);
    expect(parseQuery(buildQuery('a.', 'A', { opcode: 5 }), q)).toBe(ParseStatus.NotImp);
  });
});

describe('addresses and address-derived names', () => {
  it.each([
    ['10.0.0.1', '10-0-0-1'],
    ['fd00::1', 'fd00--1'],
    ['::1', '0--1'],
    ['::', '0--0'],
    ['fe80::', 'fe80--0'],
    ['fe80::1', 'fe80--1'],
    ['2001:db8::', '2001-db8--0'],
    ['2001:db8:0:1:0:0:0:1', '2001-db8-0-1--1'],
    ['::ffff:192.0.2.1', '0--ffff-c000-201'],
    ['0.0.0.0', '0-0-0-0'],
  ])('%s <-> %s', (address, label) => {
    expect(addressLabel(address)).toBe(label);
    const back = addressFromLabel(label);
    expect(back).toBeDefined();
    expect(addressLabel(back!)).toBe(label);
  });

  it('gives every address a host-name label: letters, digits, inner hyphens only (RFC 952, RFC 1123 §2.1)', () => {
    const hostLabel = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
    const addresses = ['::', '::1', '::2:0', '1::', 'fe80::', '2001:db8::', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '0.0.0.0', '255.255.255.255', '10.0.0.1'];
    for (let i = 0; i < 256; i++) addresses.push(`${i.toString(16)}::`, `::${i.toString(16)}`, `::ffff:10.0.0.${i}`);
    for (const address of addresses) {
      const label = addressLabel(address);
      expect(label, address).toMatch(hostLabel);
      expect(addressFromLabel(label!), address).toBeDefined();
      expect(addressLabel(addressFromLabel(label!)!), address).toBe(label);
    }
  });

  it('maps a label back to the RFC 5952 text of its address', () => {
    expect(addressFromLabel('0--1')).toBe('::1');
    expect(addressFromLabel('0--0')).toBe('::');
    expect(addressFromLabel('2001-db8--0')).toBe('2001:db8::');
    expect(addressFromLabel('10-0-0-1')).toBe('10.0.0.1');
  });

  it('rejects non-canonical and non-address labels (one name per address)', () => {
    expect(addressFromLabel('--1')).toBeUndefined();
    expect(addressFromLabel('2001-db8--')).toBeUndefined();
    expect(addressFromLabel('0-0-0-0-0-0-0-1')).toBeUndefined();
    expect(addressFromLabel('00--1')).toBeUndefined();
    expect(addressFromLabel('fd00-0-0-0-0-0-0-1')).toBeUndefined();
    expect(addressFromLabel('010-0-0-1')).toBeUndefined();
    expect(addressFromLabel('printer')).toBeUndefined();
    expect(addressLabel('db.example.com')).toBeUndefined();
  });
});
