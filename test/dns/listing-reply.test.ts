/**
 * Service listings encoded from per-instance wire (listing-reply.ts) must be, octet for octet, the replies
 * the general path gives: the authority's records through wire.ts's encoder. Random services (IPv4 and IPv6
 * addresses, shared addresses, metadata of every size, ids of every length) are asked SRV, A, AAAA and PTR
 * under every size limit, with and without EDNS, and both encodings are compared; dns-packet decodes each
 * reply independently. The cases the module leaves to the general path are pinned too.
 */
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { FakeView, type FakeInstance } from './fake-view.js';
import { buildQuery, decode, serveOnLoopback, tcpQuery, udpQuery } from './helpers.js';
import { Authority, parseDomain } from '../../src/dns/authority.js';
import { HostIndex } from '../../src/dns/hosts.js';
import { ListingReplies, type ListingRequest } from '../../src/dns/listing-reply.js';
import { type Name, parseName } from '../../src/dns/name.js';
import { RRType } from '../../src/dns/records.js';
import { CLASSIC_UDP_LIMIT, EDNS_UDP_LIMIT, Flags, MAX_MESSAGE, encodeResponse } from '../../src/dns/wire.js';
import { seededRandom } from '../../src/balancer/strategies.js';

const LOCAL = parseDomain('local.');
const domain = LOCAL;
const TTL = 5;

/** The question section as a client sends it (name as typed, type, class IN). */
function questionBytes(name: string, qtype: number): Buffer {
  const labels = name.split('.').filter(Boolean);
  const parts = labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)]));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([...parts, tail]);
}

/** Both encodings of one listing question. */
function bothWays(
  view: FakeView,
  service: string,
  asked: string,
  qtype: number,
  limit: number,
  opt: ListingRequest['opt'],
  maxAnswers = 0,
  shared?: { readonly domain: Name; readonly replies: ListingReplies },
) {
  const domain = shared?.domain ?? LOCAL;
  const authority = new Authority({ domain, answerTtl: TTL, negativeTtl: TTL, zones: [], serial: 1 });
  const name = parseName(asked.toLowerCase());
  const listing = authority.listing(name, qtype, view);
  const request: ListingRequest = {
    id: 0x1234,
    requestFlags: Flags.RD | Flags.CD,
    question: questionBytes(asked, qtype),
    qtype,
    opt,
    limit,
    maxAnswers,
  };
  const fast = listing && (shared?.replies ?? new ListingReplies(domain, TTL)).encode(listing.service, listing.instances, request);
  const answer = authority.answer(name, qtype, view, new HostIndex(domain));
  const general = encodeResponse({
    id: request.id,
    opcode: 0,
    aa: answer.aa,
    requestFlags: request.requestFlags,
    rcode: answer.rcode,
    question: request.question,
    opt,
    limit,
    answer: answer.answer,
    authority: answer.authority,
    additional: answer.additional,
    rotatable: answer.rotation > 1,
  });
  return { listing, fast: fast && { ...fast, bytes: Buffer.from(fast.bytes) }, general, answer, service };
}

function randomService(rand: () => number, service: string, count: number): FakeInstance[] {
  const out: FakeInstance[] = [];
  for (let i = 0; i < count; i++) {
    // Some instances share an address (two ports on one host): their target is listed once.
    const k = rand() < 0.2 && i > 0 ? Math.floor(rand() * i) : i;
    const v6 = k % 3 === 0;
    const address = v6 ? `fd00::${(k + 1).toString(16)}` : `10.${(k >> 8) & 255}.${k & 255}.${1 + (k % 200)}`;
    const metadata: Record<string, string> = {};
    const pairs = Math.floor(rand() * 4);
    for (let m = 0; m < pairs; m++) metadata[`key${m}`] = 'v'.repeat(Math.floor(rand() * 300));
    const id = `${service}-${i}-${'x'.repeat(Math.floor(rand() * 40))}`.slice(0, 63);
    out.push({ service, id, address, port: 1000 + i, priority: i % 3, weight: 1 + (i % 5), metadata });
  }
  return out;
}

describe('service listings from per-instance wire', () => {
  const cases: { qtype: number; limit: number; opt: ListingRequest['opt'] }[] = [];
  for (const qtype of [RRType.SRV, RRType.A, RRType.AAAA, RRType.PTR]) {
    cases.push({ qtype, limit: CLASSIC_UDP_LIMIT, opt: undefined });
    cases.push({ qtype, limit: EDNS_UDP_LIMIT, opt: { do: true } });
    cases.push({ qtype, limit: MAX_MESSAGE, opt: undefined });
  }

  it('gives the general encoder\'s octets for random services, every type and size limit', () => {
    const rand = seededRandom(11);
    let compared = 0;
    let truncated = 0;
    let trimmed = 0;
    let leftOver = 0;
    for (let round = 0; round < 40; round++) {
      const view = new FakeView();
      const count = 2 + Math.floor(rand() * 60);
      view.setMany(randomService(rand, 'web', count));
      for (const { qtype, limit, opt } of cases) {
        // The question as asked, in mixed case: pointers and the echoed question must match all the same.
        const { fast, general, answer } = bothWays(view, 'web', round % 2 ? '_WEB._Tcp.Local.' : '_web._tcp.local.', qtype, limit, opt);
        if (fast === undefined) {
          // Left to the general path only: a TCP answer beyond one message (windows), fewer than two records,
          // or a reply whose additional names lie past a compression pointer's reach (0x3fff).
          expect(general.truncated || general.answerOffsets === undefined || general.answerOffsets.length <= 2 || general.bytes.length > 0x3fff).toBe(true);
          leftOver++;
          continue;
        }
        compared++;
        expect(fast.bytes.toString('hex')).toBe(general.bytes.toString('hex'));
        expect(fast.answerOffsets).toEqual(general.answerOffsets);
        // The cache entry's rotation: every shape of one question must agree on it, whichever path encoded it.
        expect(fast.rotation).toBe(answer.rotation);
        if (general.truncated) truncated++;
        if (general.trimmed) trimmed++;
        const decoded = dnsPacket.decode(fast.bytes);
        expect(decoded.id).toBe(0x1234);
      }
    }
    // The comparison covered answers that fit, TC replies and trimmed additional sections.
    expect(compared).toBeGreaterThan(300);
    expect(truncated).toBeGreaterThan(20);
    expect(trimmed).toBeGreaterThan(20);
    expect(leftOver).toBeLessThan(compared / 4);
  });

  it('lists each address once in A and AAAA answers, in the order of the instances', () => {
    const view = new FakeView().setMany([
      { service: 'api', id: 'a', address: '10.0.0.1', port: 1 },
      { service: 'api', id: 'b', address: '10.0.0.1', port: 2 },
      { service: 'api', id: 'c', address: '10.0.0.2', port: 3 },
      { service: 'api', id: 'd', address: 'fd00::1', port: 4 },
    ]);
    const { fast, general } = bothWays(view, 'api', '_api._tcp.local.', RRType.A, EDNS_UDP_LIMIT, { do: false });
    expect(fast?.rotation).toBe(2);
    const answers = dnsPacket.decode(fast!.bytes).answers ?? [];
    expect(answers.map((a) => (a.type === 'A' ? a.data : a.type))).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(fast!.bytes.equals(general.bytes)).toBe(true);
  });

  it('sends TC without records when the answer cannot fit a UDP reply', () => {
    const rand = seededRandom(3);
    const view = new FakeView().setMany(randomService(rand, 'big', 60));
    const { fast, general } = bothWays(view, 'big', '_big._tcp.local.', RRType.SRV, CLASSIC_UDP_LIMIT, undefined);
    expect(general.truncated).toBe(true);
    const decoded = dnsPacket.decode(fast!.bytes);
    expect(decoded.flag_tc).toBe(true);
    expect(decoded.answers).toHaveLength(0);
    expect(fast!.rotation).toBe(60);
    expect(fast!.bytes.equals(general.bytes)).toBe(true);
  });

  it('settles a UDP TC from the first instances that overflow, whatever the rest of a large service holds', () => {
    const rand = seededRandom(17);
    const members = randomService(rand, 'big', 400);
    // Past the overflow point: an id equal to another but for case, which sends a PTR listing that fits to
    // the general path (its compression). The TC reply and its rotation are the general path's.
    members[350] = { ...members[350]!, id: members[10]!.id.toUpperCase() };
    const view = new FakeView().setMany(members);
    for (const qtype of [RRType.SRV, RRType.PTR]) {
      for (const [limit, opt] of [[CLASSIC_UDP_LIMIT, undefined], [EDNS_UDP_LIMIT, { do: true }]] as const) {
        const { fast, general, answer } = bothWays(view, 'big', '_big._tcp.local.', qtype, limit, opt);
        expect(general.truncated).toBe(true);
        expect(fast?.bytes.toString('hex')).toBe(general.bytes.toString('hex'));
        expect(fast?.rotation).toBe(answer.rotation);
      }
    }
  });

  it('leaves a UDP TC to the general path when an instance past the overflow lists no record there', () => {
    // A store can hold what validation refuses: an address that is no IP and no host name (no SRV target), an
    // id longer than a label. The general path lists no record for such an instance, so its rotation is
    // smaller than the instance count; the fast path must not answer with another one.
    // The fast path leaves every instance that is not of the address-derived kind to the general path.
    const rand = seededRandom(19);
    const cases = [
      { odd: { address: 'a..b' }, qtype: RRType.SRV },
      { odd: { id: `big-${'x'.repeat(64)}` }, qtype: RRType.PTR },
    ];
    for (const { odd, qtype } of cases) {
      const members = randomService(rand, 'big', 120);
      members[110] = { ...members[110]!, ...odd };
      const view = new FakeView().setMany(members);
      const { fast, general, answer } = bothWays(view, 'big', '_big._tcp.local.', qtype, CLASSIC_UDP_LIMIT, undefined);
      expect(general.truncated).toBe(true);
      expect(answer.rotation).toBe(119);
      expect(fast).toBeUndefined();
    }
  });

  it('leaves to the general path: host-name targets, one record, --max-answers cuts, TCP windows, other names', () => {
    const rand = seededRandom(5);
    const hosted = new FakeView().setMany([
      { service: 'db', id: 'a', address: '10.0.0.1', port: 1, host: 'db-a.example.net' },
      { service: 'db', id: 'b', address: '10.0.0.2', port: 2 },
    ]);
    expect(bothWays(hosted, 'db', '_db._tcp.local.', RRType.SRV, EDNS_UDP_LIMIT, undefined).fast).toBeUndefined();
    const single = new FakeView().setMany([{ service: 'one', id: 'a', address: '10.0.0.1', port: 1 }]);
    expect(bothWays(single, 'one', '_one._tcp.local.', RRType.PTR, EDNS_UDP_LIMIT, undefined).fast).toBeUndefined();
    const many = new FakeView().setMany(randomService(rand, 'many', 30));
    expect(bothWays(many, 'many', '_many._tcp.local.', RRType.SRV, MAX_MESSAGE, undefined, 3).fast).toBeUndefined();
    const huge = new FakeView().setMany(randomService(rand, 'huge', 2500).map((i) => ({ ...i, metadata: {} })));
    const tcp = bothWays(huge, 'huge', '_huge._tcp.local.', RRType.SRV, MAX_MESSAGE, undefined);
    expect(tcp.general.truncated).toBe(true);
    expect(tcp.fast).toBeUndefined();
    // Not a plain listing: an instance name, a subtype, a name outside the domain.
    const authority = new Authority({ domain, answerTtl: TTL, negativeTtl: TTL, zones: [], serial: 1 });
    expect(authority.listing(parseName('many-0._many._tcp.local.'), RRType.SRV, many)).toBeUndefined();
    expect(authority.listing(parseName('_x._sub._many._tcp.local.'), RRType.PTR, many)).toBeUndefined();
    expect(authority.listing(parseName('_many._tcp.example.'), RRType.SRV, many)).toBeUndefined();
    expect(authority.listing(parseName('_many._tcp.local.'), RRType.TXT, many)).toBeUndefined();
    expect(authority.listing(parseName('_many._tcp.local.'), RRType.SRV, many)?.instances).toHaveLength(30);
  });

  it('a zone file record at the service name keeps the question on the general path', () => {
    const view = new FakeView().setMany(randomService(seededRandom(9), 'web', 5));
    const zone = { apex: domain, records: [{ name: parseName('_web._tcp.local.'), type: RRType.TXT, ttl: 60, data: { kind: 'TXT' as const, strings: [Buffer.from('x')] } }] };
    const authority = new Authority({ domain, answerTtl: TTL, negativeTtl: TTL, zones: [zone], serial: 1 });
    expect(authority.listing(parseName('_web._tcp.local.'), RRType.SRV, view)).toBeUndefined();
  });

  it('stays identical with one memo across changes, mixed-case and UTF-8 ids, a two-label domain', () => {
    const corp = parseDomain('corp.example.');
    const shared = { domain: corp, replies: new ListingReplies(corp, TTL) };
    const rand = seededRandom(23);
    const view = new FakeView();
    // One array per state of the service, as the registry view hands out: the facts memoised per array are
    // reused across every type and size asked below, and must still give the general path's octets.
    view.stableArrays = true;
    const ids = ['Alpha', 'beta', 'Gamma-Ü', 'délta', 'EPSILON', 'zeta', 'Eta', 'theta'];
    view.setMany(ids.map((id, i) => ({ service: 'api', id, address: i % 2 ? `10.1.0.${i + 1}` : `fd00::${i + 1}`, port: 100 + i, metadata: { n: String(i) } })));
    let compared = 0;
    for (let round = 0; round < 30; round++) {
      // Replace one instance (new port, address and metadata): its memoised wire must not be reused.
      const i = Math.floor(rand() * ids.length);
      view.set({ service: 'api', id: ids[i]!, address: `10.2.${round}.${i + 1}`, port: 2000 + round, metadata: { n: String(round), x: 'y'.repeat(round * 9) } });
      for (const qtype of [RRType.SRV, RRType.A, RRType.AAAA, RRType.PTR]) {
        for (const [limit, opt] of [[CLASSIC_UDP_LIMIT, undefined], [EDNS_UDP_LIMIT, { do: false }], [MAX_MESSAGE, undefined]] as const) {
          const { fast, general } = bothWays(view, 'api', '_API._tcp.Corp.Example.', qtype, limit, opt, 0, shared);
          if (fast === undefined) continue;
          compared++;
          expect(fast.bytes.toString('hex')).toBe(general.bytes.toString('hex'));
        }
      }
    }
    expect(compared).toBeGreaterThan(250);
  });

  it('answers each instances array from its own facts: an array handed out before a change keeps its answer', () => {
    const replies = new ListingReplies(LOCAL, TTL);
    const view = new FakeView();
    view.setMany([1, 2, 3].map((n) => ({ service: 'api', id: `i${n}`, address: `10.0.0.${n}`, port: 80 })));
    const request = (qtype: number): ListingRequest => ({ id: 7, requestFlags: 0, question: questionBytes('_api._tcp.local.', qtype), qtype, opt: undefined, limit: MAX_MESSAGE, maxAnswers: 0 });
    const answers = (instances: ReturnType<FakeView['eligible']>, qtype: number) =>
      dnsPacket.decode(replies.encode('api', instances, request(qtype))!.bytes).answers!.map((a) => JSON.stringify((a as { data: unknown }).data));
    const before = view.eligible('api', 'tcp');
    expect(answers(before, RRType.SRV)).toHaveLength(3);
    expect(answers(before, RRType.A)).toHaveLength(3);
    // The registry view hands out a new array when the service changes (test/dns/registry-view.test.ts);
    // an array read before the change keeps its own answer.
    view.set({ service: 'api', id: 'i4', address: '10.0.0.4', port: 80 });
    view.set({ service: 'api', id: 'i2', address: '10.0.0.1', port: 81 });
    const after = view.eligible('api', 'tcp');
    expect(answers(after, RRType.SRV)).toHaveLength(4);
    expect(answers(after, RRType.A)).toEqual(['"10.0.0.1"', '"10.0.0.3"', '"10.0.0.4"']);
    expect(answers(before, RRType.SRV)).toHaveLength(3);
    expect(answers(before, RRType.A)).toEqual(['"10.0.0.1"', '"10.0.0.2"', '"10.0.0.3"']);
  });

  it('leaves PTR to the general path when two ids differ only in case (the encoder compresses them together)', () => {
    const view = new FakeView().setMany([
      { service: 'web', id: 'node-a', address: '10.0.0.1', port: 1 },
      { service: 'web', id: 'NODE-A', address: '10.0.0.2', port: 2 },
      { service: 'web', id: 'node-b', address: '10.0.0.3', port: 3 },
    ]);
    expect(bothWays(view, 'web', '_web._tcp.local.', RRType.PTR, EDNS_UDP_LIMIT, undefined).fast).toBeUndefined();
    // SRV and A never compress the ids: identical either way.
    const srv = bothWays(view, 'web', '_web._tcp.local.', RRType.SRV, EDNS_UDP_LIMIT, undefined);
    expect(srv.fast?.bytes.equals(srv.general.bytes)).toBe(true);
  });
});

describe('service listings through the server (the cache entry a listing-encoded miss leaves)', () => {
  it('answers every shape of a listing question and rotates through all instances on cache hits', async () => {
    const view = new FakeView().setMany(
      Array.from({ length: 40 }, (_, i) => ({ service: 'api', id: `api-${i}`, address: `10.9.0.${i + 1}`, port: 7000 + i })),
    );
    const server = await serveOnLoopback(view);
    try {
      const port = server.addresses.udp[0]!.port;
      // UDP without EDNS, then with 1232 octets: 40 SRV records fit neither, so TC and no records.
      for (const edns of [false, 1232] as const) {
        const r = decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'SRV', { edns })));
        expect(r.tc).toBe(true);
        expect(r.answer).toHaveLength(0);
      }
      // TCP: the same cache entry, a new shape: every instance, each target's address once.
      const firsts = new Set<string>();
      for (let q = 0; q < 40; q++) {
        const r = decode(await tcpQuery(port, buildQuery('_api._tcp.local.', 'SRV')));
        expect(r.tc).toBe(false);
        expect(r.answer).toHaveLength(40);
        expect(r.additional).toHaveLength(40);
        firsts.add(r.answer[0]!);
      }
      // Rotation on hits: each of the 40 records led one answer.
      expect(firsts.size).toBe(40);
      // A fits 1232 octets: all addresses, rotated on each hit.
      const a = new Set<string>();
      for (let q = 0; q < 40; q++) {
        const r = decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'A', { edns: 1232 })));
        expect(r.answer).toHaveLength(40);
        a.add(r.answer[0]!);
      }
      expect(a.size).toBe(40);
      // A change drops the listing: the next answer lists the new instance.
      view.set({ service: 'api', id: 'api-new', address: '10.9.1.1', port: 9999 });
      const after = decode(await tcpQuery(port, buildQuery('_api._tcp.local.', 'SRV')));
      expect(after.answer).toHaveLength(41);
      expect(after.answer.some((line) => line.includes(' 9999 10-9-1-1.addr.local.'))).toBe(true);
    } finally {
      await server.close();
    }
  });
});
