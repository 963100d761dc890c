/**
 * Rotation, health filtering, change propagation and the response cache, over real UDP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import type { DnsView } from '../../src/dns/view.js';
import { FakeView } from './fake-view.js';
import { buildQuery, decode, udpQuery, type Decoded, serveOnLoopback } from './helpers.js';

let server: DnsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(view: DnsView): Promise<number> {
  server = await serveOnLoopback(view);
  return server.addresses.udp[0]!.port;
}

async function ask(port: number, qname: string, qtype: string, id = 1): Promise<Decoded> {
  return decode(await udpQuery(port, buildQuery(qname, qtype, { id })));
}

function threeWebInstances(): FakeView {
  const view = new FakeView();
  for (const n of [1, 2, 3]) view.set({ service: 'web', id: `web-${n}`, address: `10.0.1.${n}`, port: 80 + n });
  return view;
}

describe('rotation', () => {
  it('rotates the SRV order over 3 successive queries, then starts over', async () => {
    const port = await start(threeWebInstances());
    const targets = async (): Promise<string[]> => (await ask(port, '_web._tcp.local.', 'SRV')).answer.map((l) => l.split(' ').pop()!);
    const first = await targets();
    const second = await targets();
    const third = await targets();
    const fourth = await targets();
    expect(first).toEqual(['10-0-1-1.addr.local.', '10-0-1-2.addr.local.', '10-0-1-3.addr.local.']);
    expect(second).toEqual(['10-0-1-2.addr.local.', '10-0-1-3.addr.local.', '10-0-1-1.addr.local.']);
    expect(third).toEqual(['10-0-1-3.addr.local.', '10-0-1-1.addr.local.', '10-0-1-2.addr.local.']);
    expect(fourth).toEqual(first);
    expect(server!.stats().cacheHits).toBe(3);
  });

  it('rotates A records and PTR records too, each question with its own counter', async () => {
    const port = await start(threeWebInstances());
    const a1 = (await ask(port, '_web._tcp.local.', 'A')).answer;
    const p1 = (await ask(port, '_web._tcp.local.', 'PTR')).answer;
    const a2 = (await ask(port, '_web._tcp.local.', 'A')).answer;
    const p2 = (await ask(port, '_web._tcp.local.', 'PTR')).answer;
    expect(a1.map((l) => l.split(' ').pop())).toEqual(['10.0.1.1', '10.0.1.2', '10.0.1.3']);
    expect(a2.map((l) => l.split(' ').pop())).toEqual(['10.0.1.2', '10.0.1.3', '10.0.1.1']);
    expect(p2).toEqual([...p1.slice(1), p1[0]]);
  });
});

describe('rotation from cached bytes', () => {
  it('moves whole answer records: every rotated reply decodes, with the same additional data', async () => {
    const port = await start(threeWebInstances());
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await ask(port, '_web._tcp.local.', 'PTR', i));
    const sorted = (l: readonly string[]): string[] => [...l].sort();
    for (const r of replies) {
      expect(sorted(r.answer)).toEqual(sorted(replies[0]!.answer));
      expect(sorted(r.additional)).toEqual(sorted(replies[0]!.additional));
      expect(r.additional).toHaveLength(9); // SRV + TXT + A per instance
    }
    expect(replies.map((r) => r.answer[0])).toEqual([...replies[0]!.answer, replies[0]!.answer[0]]);
  });

  it('serves each EDNS shape its own encoding, and all of them follow a change', async () => {
    const view = threeWebInstances();
    const port = await start(view);
    const shapes = [{}, { edns: 1232 }, { edns: 4096, dnssecOk: true }];
    const targets = async (o: object): Promise<string[]> =>
      decode(await udpQuery(port, buildQuery('_web._tcp.local.', 'SRV', o))).answer.map((l) => l.split(' ').pop()!).sort();
    for (const o of shapes) expect(await targets(o)).toHaveLength(3);
    view.setEligible('web', 'web-3', false);
    for (const o of shapes) expect(await targets(o)).toEqual(['10-0-1-1.addr.local.', '10-0-1-2.addr.local.']);
  });
});

describe('health filtering and change propagation (no stale cache)', () => {
  it('answers what view.eligible() says, and the very next answer follows a change', async () => {
    const view = threeWebInstances();
    const port = await start(view);
    const srvTargets = async (): Promise<string[]> => (await ask(port, '_web._tcp.local.', 'SRV')).answer.map((l) => l.split(' ').pop()!).sort();
    expect(await srvTargets()).toEqual(['10-0-1-1.addr.local.', '10-0-1-2.addr.local.', '10-0-1-3.addr.local.']);

    view.setEligible('web', 'web-2', false); // e.g. a failed health check
    expect(await srvTargets()).toEqual(['10-0-1-1.addr.local.', '10-0-1-3.addr.local.']);
    const txt = await ask(port, 'web-2._web._tcp.local.', 'TXT');
    expect(txt.rcode).toBe('NOERROR');
    expect(txt.answer).toEqual([]);

    view.set({ service: 'web', id: 'web-4', address: '10.0.1.4', port: 84 }); // a registration
    expect(await srvTargets()).toEqual(['10-0-1-1.addr.local.', '10-0-1-3.addr.local.', '10-0-1-4.addr.local.']);

    view.setEligible('web', 'web-1', false).setEligible('web', 'web-3', false).setEligible('web', 'web-4', false);
    const none = await ask(port, '_web._tcp.local.', 'SRV');
    expect(none.rcode).toBe('NOERROR'); // registered, nothing eligible: NODATA
    expect(none.answer).toEqual([]);
    expect(none.authority).toHaveLength(1);

    for (const id of ['web-1', 'web-2', 'web-3', 'web-4']) view.remove('web', id);
    expect((await ask(port, '_web._tcp.local.', 'SRV')).rcode).toBe('NXDOMAIN');
    expect((await ask(port, '_services._dns-sd._udp.local.', 'PTR')).answer).toEqual([]);
  });

  it('a new service appears in enumeration and stops being NXDOMAIN at once', async () => {
    const view = threeWebInstances();
    const port = await start(view);
    expect((await ask(port, '_new._tcp.local.', 'SRV')).rcode).toBe('NXDOMAIN');
    expect((await ask(port, '_services._dns-sd._udp.local.', 'PTR')).answer).toEqual(['_services._dns-sd._udp.local. 5 IN PTR _web._tcp.local.']);
    view.set({ service: 'new', id: 'n1', address: '10.0.2.1', port: 1 });
    expect((await ask(port, '_new._tcp.local.', 'SRV')).answer).toEqual(['_new._tcp.local. 5 IN SRV 0 1 1 10-0-2-1.addr.local.']);
    expect((await ask(port, '_services._dns-sd._udp.local.', 'PTR')).answer.sort()).toEqual([
      '_services._dns-sd._udp.local. 5 IN PTR _new._tcp.local.',
      '_services._dns-sd._udp.local. 5 IN PTR _web._tcp.local.',
    ]);
  });

  it('instance host names come and go with their instances', async () => {
    const view = new FakeView();
    const port = await start(view);
    expect((await ask(port, 'box.rack1.local.', 'A')).rcode).toBe('NXDOMAIN');
    expect((await ask(port, 'rack1.local.', 'A')).rcode).toBe('NXDOMAIN');
    view.set({ service: 'svc', id: 'a', address: '10.9.0.1', port: 1, host: 'box.rack1.local.' });
    expect((await ask(port, 'box.rack1.local.', 'A')).answer).toEqual(['box.rack1.local. 5 IN A 10.9.0.1']);
    const ent = await ask(port, 'rack1.local.', 'A');
    expect([ent.rcode, ent.answer.length]).toEqual(['NOERROR', 0]); // empty non-terminal above a host
    view.setEligible('svc', 'a', false);
    expect((await ask(port, 'box.rack1.local.', 'A')).rcode).toBe('NXDOMAIN');
    expect((await ask(port, 'rack1.local.', 'A')).rcode).toBe('NXDOMAIN');
  });
});

describe('response cache', () => {
  it('serves repeats from the cache and invalidates only the changed service', async () => {
    const view = threeWebInstances();
    view.set({ service: 'other', id: 'o1', address: '10.0.3.1', port: 1 });
    const port = await start(view);
    await ask(port, '_web._tcp.local.', 'SRV');
    await ask(port, '_other._tcp.local.', 'SRV');
    const callsAfterWarmup = view.eligibleCalls;
    const before = server!.stats();
    await ask(port, '_web._tcp.local.', 'SRV');
    await ask(port, '_other._tcp.local.', 'SRV');
    const warm = server!.stats();
    expect(warm.cacheHits - before.cacheHits).toBe(2);
    expect(view.eligibleCalls).toBe(callsAfterWarmup); // a hit never reads the view

    view.set({ service: 'other', id: 'o2', address: '10.0.3.2', port: 2 });
    const callsAfterChange = view.eligibleCalls;
    await ask(port, '_web._tcp.local.', 'SRV'); // untouched service: still a hit
    expect(view.eligibleCalls).toBe(callsAfterChange);
    expect((await ask(port, '_other._tcp.local.', 'SRV')).answer).toHaveLength(2);
    const after = server!.stats();
    expect(after.cacheHits - warm.cacheHits).toBe(1);
    expect(after.cacheMisses - warm.cacheMisses).toBe(1);
  });

  it('a change to one instance keeps its siblings\' own answers cached, and updates its own at once', async () => {
    const view = threeWebInstances();
    const port = await start(view);
    const txt = async (id: string): Promise<string[]> => (await ask(port, `${id}._web._tcp.local.`, 'TXT')).answer;
    for (const id of ['web-1', 'web-2', 'web-3']) await txt(id);
    const before = server!.stats();
    view.set({ service: 'web', id: 'web-2', address: '10.0.1.2', port: 82, metadata: { color: 'blue' } });
    expect(await txt('web-2')).toEqual(['web-2._web._tcp.local. 5 IN TXT "color=blue"']);
    expect(await txt('web-1')).toEqual(['web-1._web._tcp.local. 5 IN TXT ""']);
    expect(await txt('web-3')).toEqual(['web-3._web._tcp.local. 5 IN TXT ""']);
    const after = server!.stats();
    expect([after.cacheMisses - before.cacheMisses, after.cacheHits - before.cacheHits]).toEqual([1, 2]);

    view.setEligible('web', 'web-3', false);
    const gone = await ask(port, 'web-3._web._tcp.local.', 'TXT');
    expect([gone.rcode, gone.answer.length]).toEqual(['NOERROR', 0]);
    view.setEligible('web', 'web-3', true);
    expect(await txt('web-3')).toEqual(['web-3._web._tcp.local. 5 IN TXT ""']);
    view.remove('web', 'web-1');
    expect((await ask(port, 'web-1._web._tcp.local.', 'TXT')).rcode).toBe('NXDOMAIN');
  });

  it('patches the ID and RD bit per asker on a cache hit', async () => {
    const port = await start(threeWebInstances());
    const a = decode(await udpQuery(port, buildQuery('_web._tcp.local.', 'A', { id: 111, rd: true })));
    const b = decode(await udpQuery(port, buildQuery('_web._tcp.local.', 'A', { id: 222, rd: false })));
    expect([a.id, a.rd]).toEqual([111, true]);
    expect([b.id, b.rd]).toEqual([222, false]);
    expect(server!.stats().cacheHits).toBe(1);
  });

  it('counts queries by type and by rcode', async () => {
    const port = await start(threeWebInstances());
    await ask(port, '_web._tcp.local.', 'SRV');
    await ask(port, 'missing.local.', 'A');
    await ask(port, 'example.org.', 'A');
    const s = server!.stats();
    expect(s.queriesByType).toMatchObject({ SRV: 1, A: 2 });
    expect(s.responsesByRcode).toMatchObject({ NOERROR: 1, NXDOMAIN: 1, REFUSED: 1 });
  });
});

describe('one entry point that never throws', () => {
  it('answers SERVFAIL when the view throws, and keeps serving', async () => {
    const good = threeWebInstances();
    const view: DnsView = {
      eligible: (s, p) => {
        if (s === 'boom') throw new Error('bug in the view');
        return good.eligible(s, p);
      },
      services: () => good.services(),
      hasService: (s, p) => s === 'boom' || good.hasService(s, p),
      hasInstance: (s, p, id) => good.hasInstance(s, p, id),
      onChange: (l) => good.onChange(l),
    };
    const port = await start(view);
    const bad = await ask(port, '_boom._tcp.local.', 'SRV', 77);
    expect([bad.id, bad.qr, bad.rcode]).toEqual([77, true, 'SERVFAIL']);
    expect(bad.question).toEqual(['_boom._tcp.local. IN SRV']);
    expect((await ask(port, '_web._tcp.local.', 'SRV')).answer).toHaveLength(3);
    expect(server!.stats().internalErrors).toBe(1);
  });
});
