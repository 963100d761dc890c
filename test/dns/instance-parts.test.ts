/**
 * Answers rebuilt after a write reuse what they built from each unchanged instance (its name, SRV target,
 * SRV, TXT and target address records: the authority's per-instance memo). These tests pin that the reuse
 * never shows stale data: a changed instance answers with its new data, and answers stay right once more
 * instances were answered than the memo holds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { FakeView } from './fake-view.js';
import { buildQuery, decode, serveOnLoopback, tcpQuery, udpQuery } from './helpers.js';

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

  it('answers every instance of a 3,000-instance service right over TCP, twice, past the memo bound', async () => {
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
      // Every instance's own SRV, asked one by one: more instances than the memo holds.
      for (let i = 0; i < SIZE; i += 1) {
        if (i % 97 !== 0 && i !== 7) continue;
        const own = decode(await tcpQuery(port, buildQuery(`i-${i}._big._tcp.local.`, 'SRV')));
        const expected = pass === 1 && i === 7 ? 'SRV 0 1 7777 10-9-9-9.addr.local.' : `SRV 0 1 ${1000 + i} 10-1-${i >> 8}-${i & 255}.addr.local.`;
        expect(own.answer).toEqual([`i-${i}._big._tcp.local. 5 IN ${expected}`]);
      }
    }
  });
});
