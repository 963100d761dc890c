/**
 * Answers rebuilt after a write reuse what they built from each unchanged instance (its name, SRV target,
 * SRV, TXT and target address records: the authority's per-instance memo). These tests pin that the reuse
 * never shows stale data: a changed instance answers with its new data, and answers stay right once more
 * instances were listed than a generation of the memo holds (the authority then rebuilds what it let go).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { FakeView } from './fake-view.js';
import { buildQuery, decode, serveOnLoopback, tcpQuery, udpQuery } from './helpers.js';
import { Authority, parseDomain } from '../../src/dns/authority.js';
import { HostIndex } from '../../src/dns/hosts.js';
import { parseName } from '../../src/dns/name.js';
import { RRType } from '../../src/dns/records.js';
import { recordToText } from '../../src/dns/rr/index.js';
import { seededRandom } from '../../src/balancer/strategies.js';

let server: DnsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('answers rebuilt from memoised instance parts', () => {
  it('a re-registered instance shows its new port, metadata and address in PTR, SRV and TXT answers', async () => {
    const view = new FakeView();
    view.set({ service: 'web', id: 'web-1', address: '10.0.1.1', port: 81, metadata: { v: '1' } });
    view.set({ service: 'web', id: 'web-2', address: '10.0.1.2', port: 82, metadata: { v: '1' } });
    server = await serveOnLoopback(view);
    const port = server.addresses.udp[0]!.port;
    const ask = async (name: string, type: string) => decode(await udpQuery(port, buildQuery(name, type)));

    const before = await ask('_web._tcp.local.', 'PTR');
    expect(before.additional).toContain('web-2._web._tcp.local. 5 IN SRV 0 1 82 10-0-1-2.addr.local.');
    expect(before.additional).toContain('web-2._web._tcp.local. 5 IN TXT "v=1"');
    expect(before.additional).toContain('10-0-1-2.addr.local. 5 IN A 10.0.1.2');

    view.set({ service: 'web', id: 'web-2', address: '10.0.1.9', port: 92, metadata: { v: '2' } });
    const after = await ask('_web._tcp.local.', 'PTR');
    // The changed instance with its new data, the unchanged sibling as before, nothing of the old web-2.
    expect(after.additional).toEqual([
      'web-1._web._tcp.local. 5 IN SRV 0 1 81 10-0-1-1.addr.local.',
      'web-1._web._tcp.local. 5 IN TXT "v=1"',
      'web-2._web._tcp.local. 5 IN SRV 0 1 92 10-0-1-9.addr.local.',
      'web-2._web._tcp.local. 5 IN TXT "v=2"',
      '10-0-1-1.addr.local. 5 IN A 10.0.1.1',
      '10-0-1-9.addr.local. 5 IN A 10.0.1.9',
    ]);
    expect((await ask('web-2._web._tcp.local.', 'TXT')).answer).toEqual(['web-2._web._tcp.local. 5 IN TXT "v=2"']);
    expect((await ask('_web._tcp.local.', 'SRV')).answer).toContain('_web._tcp.local. 5 IN SRV 0 1 92 10-0-1-9.addr.local.');
  });

  it('answers every instance of a 3,000-instance service right over TCP, twice, with a changed instance between', async () => {
    const view = new FakeView();
    const SIZE = 3_000;
    view.setMany(Array.from({ length: SIZE }, (_, i) => ({ service: 'big', id: `i-${i}`, address: `10.1.${i >> 8}.${i & 255}`, port: 1000 + i, metadata: { n: String(i) } })));
    server = await serveOnLoopback(view);
    const port = server.addresses.tcp[0]!.port;
    for (let pass = 0; pass < 2; pass++) {
      // A changed instance between the passes: its memoised parts must not be reused.
      if (pass === 1) view.set({ service: 'big', id: 'i-7', address: '10.9.9.9', port: 7777, metadata: { n: 'seven' } });
      const ptr = decode(await tcpQuery(port, buildQuery('_big._tcp.local.', 'PTR')));
      const srv = ptr.additional.filter((line) => line.includes(' IN SRV '));
      const txt = ptr.additional.filter((line) => line.includes(' IN TXT '));
      // Every instance in the answer; the additional section holds what fits after it (the first ones).
      expect(ptr.answer.length).toBe(SIZE);
      expect(srv.length).toBeGreaterThan(10);
      for (const line of srv) {
        const i = Number(/^i-(\d+)\./.exec(line)![1]);
        const expected = pass === 1 && i === 7 ? 'SRV 0 1 7777 10-9-9-9.addr.local.' : `SRV 0 1 ${1000 + i} 10-1-${i >> 8}-${i & 255}.addr.local.`;
        expect(line).toBe(`i-${i}._big._tcp.local. 5 IN ${expected}`);
      }
      for (const line of txt) {
        const i = Number(/^i-(\d+)\./.exec(line)![1]);
        expect(line).toBe(`i-${i}._big._tcp.local. 5 IN TXT "n=${pass === 1 && i === 7 ? 'seven' : i}"`);
      }
      // Instances' own SRV, asked one by one.
      for (let i = 0; i < SIZE; i += 1) {
        if (i % 97 !== 0 && i !== 7) continue;
        const own = decode(await tcpQuery(port, buildQuery(`i-${i}._big._tcp.local.`, 'SRV')));
        const expected = pass === 1 && i === 7 ? 'SRV 0 1 7777 10-9-9-9.addr.local.' : `SRV 0 1 ${1000 + i} 10-1-${i >> 8}-${i & 255}.addr.local.`;
        expect(own.answer).toEqual([`i-${i}._big._tcp.local. 5 IN ${expected}`]);
      }
    }
  });

  it('lists past the memo generations exactly as an authority that never memoised, across changes', () => {
    const domain = parseDomain('local.');
    const view = new FakeView();
    const instance = (s: number, i: number, rev = 0) => ({
      service: `svc${s}`,
      id: `i-${i}`,
      address: i % 5 === 0 ? `fd00::${s}:${i}` : `10.${s}.${i >> 8}.${i & 255}`,
      port: 1000 + i + rev,
      metadata: { n: String(i), rev: String(rev) },
      tags: i % 3 === 0 ? ['blue'] : [],
    });
    // 6 services of 60 instances: 360 listed, against generations of 50 (at most 100 memoised).
    for (let s = 0; s < 6; s++) view.setMany(Array.from({ length: 60 }, (_, i) => instance(s, i)));
    const memoised = new Authority({ domain, answerTtl: 5, negativeTtl: 5, zones: [], partsGeneration: 50 });
    const hosts = new HostIndex(domain);
    const rnd = seededRandom(11);
    for (let round = 0; round < 40; round++) {
      const s = Math.floor(rnd() * 6);
      if (round % 4 === 3) view.set(instance(s, Math.floor(rnd() * 60), round)); // a changed instance: a new object
      const fresh = new Authority({ domain, answerTtl: 5, negativeTtl: 5, zones: [] });
      for (const [qname, qtype] of [
        [`_svc${s}._tcp.local.`, RRType.PTR],
        [`_svc${s}._tcp.local.`, RRType.SRV],
        [`_svc${s}._tcp.local.`, RRType.A],
        [`_svc${s}._tcp.local.`, RRType.AAAA],
        [`_blue._sub._svc${s}._tcp.local.`, RRType.PTR],
        [`i-${round % 60}._svc${s}._tcp.local.`, RRType.SRV],
        [`i-${round % 60}._svc${s}._tcp.local.`, RRType.TXT],
      ] as const) {
        const got = memoised.answer(parseName(qname), qtype, view, hosts);
        const want = fresh.answer(parseName(qname), qtype, view, hosts);
        expect(got.answer.map(recordToText)).toEqual(want.answer.map(recordToText));
        expect(got.additional.map(recordToText)).toEqual(want.additional.map(recordToText));
        expect(got.answer.length).toBeGreaterThan(0);
      }
    }
  });
});
