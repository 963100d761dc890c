import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Answer, Packet, RecordType } from 'dns-packet';
import { MdnsResponder, type MdnsRename } from '../../src/mdns/responder.js';
import { FakeView } from '../dns/fake-view.js';
import { FakeTransport, PEER, PEER6, type Sent } from './fake-transport.js';

const WEB1 = { service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080, metadata: { version: '2' }, tags: ['canary'] };
const WEB2 = { service: 'web', id: 'web-2', address: '10.0.0.2', port: 8081 };
const NAME1 = 'web-1._web._tcp.local';
const HOST1 = '10-0-0-1.local';
const FLUSH = 0x8000;
const ANY = 'ANY' as RecordType; // QTYPE 255: dns-packet encodes it, its types leave it out

let view: FakeView;
let transport: FakeTransport;
let responder: MdnsResponder;
let renames: MdnsRename[];

function start(random: () => number = () => 0): void {
  responder = new MdnsResponder({ view, transport, random });
  renames = [];
  responder.onRename((r) => renames.push(r));
  responder.start();
}

/** Everything through the first announcement: 3 probes 250 ms apart, then the announcement (RFC 6762 §8). */
function probeThrough(): void {
  vi.advanceTimersByTime(750);
}

const probes = (name: string): Sent[] =>
  transport.sent.filter((s) => s.packet.type === 'query' && s.packet.questions?.some((q) => q.name === name));
const responses = (): Sent[] => transport.sent.filter((s) => s.packet.type === 'response');
const answersOf = (sent: readonly Sent[]): Answer[] => sent.flatMap((s) => s.packet.answers ?? []);
const find = (list: readonly Answer[], name: string, type: string): Answer[] => list.filter((a) => a.name === name && a.type === type);
const ttl = (a: Answer | undefined): number | undefined => (a !== undefined && a.type !== 'OPT' ? a.ttl : undefined);
const dataOf = (a: Answer | undefined): unknown => (a !== undefined && 'data' in a ? a.data : undefined);

function query(questions: Packet['questions'], extra: Partial<Packet> = {}): Packet {
  return { type: 'query', id: 0, flags: 0, questions, ...extra };
}

beforeEach(() => {
  vi.useFakeTimers();
  view = new FakeView();
  transport = new FakeTransport();
});

afterEach(() => {
  responder.close();
  vi.useRealTimers();
});

describe('probing and announcing (RFC 6762 §8)', () => {
  it('sends three probes 250 ms apart claiming SRV/TXT, then announces with the RFC TTLs and cache-flush bits', () => {
    view.set(WEB1);
    start(() => 0.5); // first probe after a random 0-250 ms delay: 125 ms here
    vi.advanceTimersByTime(124);
    expect(probes(NAME1)).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(probes(NAME1)).toHaveLength(1);
    vi.advanceTimersByTime(249);
    expect(probes(NAME1)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(probes(NAME1)).toHaveLength(2);
    vi.advanceTimersByTime(250);
    const sent = probes(NAME1);
    expect(sent).toHaveLength(3);
    for (const probe of sent) {
      expect(probe.to).toBeUndefined();
      expect(probe.packet.questions).toEqual([{ name: NAME1, type: 'ANY', class: 'IN' }]);
      expect((probe.packet.authorities ?? []).map((a) => a.type).sort()).toEqual(['SRV', 'TXT']);
    }
    expect(probes(HOST1)).toHaveLength(3);
    expect(responses()).toHaveLength(0);

    vi.advanceTimersByTime(250);
    const first = responses();
    const answers = answersOf(first);
    expect(find(answers, '_web._tcp.local', 'PTR').map(dataOf)).toEqual([NAME1]);
    expect(find(answers, '_services._dns-sd._udp.local', 'PTR').map(dataOf)).toEqual(['_web._tcp.local']);
    expect(find(answers, '_canary._sub._web._tcp.local', 'PTR').map(dataOf)).toEqual([NAME1]);
    expect(dataOf(find(answers, NAME1, 'SRV')[0])).toEqual({ priority: 0, weight: 1, port: 8080, target: HOST1 });
    expect(dataOf(find(answers, NAME1, 'TXT')[0])).toEqual([Buffer.from('version=2')]);
    expect(dataOf(find(answers, HOST1, 'A')[0])).toBe('10.0.0.1');
    // §10: 120 s for records with a host name (SRV, A), 4500 s for PTR and TXT.
    expect(ttl(find(answers, NAME1, 'SRV')[0])).toBe(120);
    expect(ttl(find(answers, HOST1, 'A')[0])).toBe(120);
    expect(ttl(find(answers, NAME1, 'TXT')[0])).toBe(4500);
    expect(ttl(find(answers, '_web._tcp.local', 'PTR')[0])).toBe(4500);
    // Cache-flush bit on the unique records only (§10.2).
    for (const sent of first) {
      (sent.packet.answers ?? []).forEach((a, i) => {
        const unique = a.type === 'SRV' || a.type === 'TXT' || a.type === 'A';
        expect((sent.answerClasses[i] ?? 0) & FLUSH, `${a.name} ${a.type}`).toBe(unique ? FLUSH : 0);
      });
    }
    expect(responder.stats()).toMatchObject({ announced: 1, probing: 0, hosts: 1 });

    transport.clear();
    vi.advanceTimersByTime(999);
    expect(responses()).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(find(answersOf(responses()), NAME1, 'SRV')).toHaveLength(1); // the second announcement (§8.3)
  });

  it('does not answer for a name while it is still probing', () => {
    view.set(WEB1);
    start();
    vi.advanceTimersByTime(300);
    transport.clear();
    transport.deliver(query([{ name: '_web._tcp.local', type: 'PTR' }]));
    vi.advanceTimersByTime(200); // past any response delay, not yet announced
    expect(responses()).toHaveLength(0);
  });
});

describe('conflicts (RFC 6762 §8.1, §8.2, §9)', () => {
  const theirSrv: Answer = { name: NAME1, type: 'SRV', ttl: 120, data: { priority: 0, weight: 0, port: 9999, target: 'other.local' } };

  it('renames an instance whose probe is answered by another host, reports it and probes the new name', () => {
    view.set(WEB1);
    start();
    vi.advanceTimersByTime(1);
    expect(probes(NAME1)).toHaveLength(1);
    transport.deliver({ type: 'response', id: 0, flags: 1 << 10, answers: [theirSrv] });
    expect(renames).toEqual([{ kind: 'instance', from: NAME1, to: 'web-1 (2)._web._tcp.local' }]);
    vi.advanceTimersByTime(1000);
    expect(probes(NAME1)).toHaveLength(1); // no further probes for the taken name
    expect(probes('web-1 (2)._web._tcp.local')).toHaveLength(3);
    const ptrs = find(answersOf(responses()), '_web._tcp.local', 'PTR').map(dataOf);
    expect(ptrs).toContain('web-1 (2)._web._tcp.local');
    expect(ptrs).not.toContain(NAME1);
    expect(responder.instanceNames().get('web/tcp/web-1')).toEqual({ name: 'web-1 (2)._web._tcp.local', state: 'announced' });
    expect(responder.stats().renames).toHaveLength(1);
  });

  it('renames a host name another host answers for, and points the SRV record at the new name', () => {
    view.set(WEB1);
    start();
    vi.advanceTimersByTime(1);
    transport.deliver({ type: 'response', id: 0, flags: 1 << 10, answers: [{ name: HOST1, type: 'A', ttl: 120, data: '10.9.9.9' }] });
    expect(renames).toEqual([{ kind: 'host', from: HOST1, to: '10-0-0-1-2.local' }]);
    vi.advanceTimersByTime(1000);
    const answers = answersOf(responses());
    expect(find(answers, '10-0-0-1-2.local', 'A').map(dataOf)).toEqual(['10.0.0.1']);
    expect(find(answers, HOST1, 'A')).toEqual([]);
    expect(find(answers, NAME1, 'SRV').map(dataOf).at(-1)).toEqual({ priority: 0, weight: 1, port: 8080, target: '10-0-0-1-2.local' });
  });

  it('ignores a response that repeats its own records (its own multicast loopback is no conflict)', () => {
    view.set(WEB1);
    start();
    vi.advanceTimersByTime(1);
    const own = probes(NAME1)[0]?.packet.authorities ?? [];
    transport.deliver({ type: 'response', id: 0, flags: 1 << 10, answers: own });
    probeThrough();
    expect(renames).toEqual([]);
    expect(responder.instanceNames().get('web/tcp/web-1')?.state).toBe('announced');
  });

  it('defers to a simultaneous probe with lexicographically later data, and ignores an earlier one (§8.2)', () => {
    view.set(WEB1);
    start();
    vi.advanceTimersByTime(1);
    // Same TXT; their SRV has weight 0 where ours has 1, so theirs sorts earlier: we win and carry on.
    const ourTxt = (probes(NAME1)[0]?.packet.authorities ?? []).filter((a) => a.type === 'TXT');
    expect(ourTxt).toHaveLength(1);
    transport.deliver(query([{ name: NAME1, type: ANY }], { authorities: [...ourTxt, { ...theirSrv, data: { priority: 0, weight: 0, port: 1, target: 'a.local' } }] }));
    vi.advanceTimersByTime(749);
    expect(responder.instanceNames().get('web/tcp/web-1')?.state).toBe('announced');

    responder.close();
    view = new FakeView().set(WEB1);
    transport = new FakeTransport();
    start();
    vi.advanceTimersByTime(1);
    // priority 65535 sorts after our priority 0: we lose, wait one second, probe again from the start.
    transport.deliver(query([{ name: NAME1, type: ANY }], { authorities: [...ourTxt, { ...theirSrv, data: { priority: 65535, weight: 0, port: 1, target: 'a.local' } }] }));
    vi.advanceTimersByTime(999);
    expect(probes(NAME1)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(probes(NAME1)).toHaveLength(2);
    vi.advanceTimersByTime(500);
    expect(probes(NAME1)).toHaveLength(4);
    expect(responder.instanceNames().get('web/tcp/web-1')?.state).toBe('probing');
    vi.advanceTimersByTime(250);
    expect(responder.instanceNames().get('web/tcp/web-1')).toEqual({ name: NAME1, state: 'announced' });
    expect(renames).toEqual([]);
  });

  it('after announcing, a conflicting record makes it probe again, and a defended name is renamed (§9)', () => {
    view.set(WEB1);
    start();
    probeThrough();
    transport.clear();
    transport.deliver({ type: 'response', id: 0, flags: 1 << 10, answers: [theirSrv] });
    expect(responder.instanceNames().get('web/tcp/web-1')?.state).toBe('probing');
    vi.advanceTimersByTime(1);
    expect(probes(NAME1)).toHaveLength(1);
    transport.deliver({ type: 'response', id: 0, flags: 1 << 10, answers: [theirSrv] }); // the other host defends
    expect(renames.map((r) => r.to)).toEqual(['web-1 (2)._web._tcp.local']);
    // The old name's records are withdrawn: a goodbye for our SRV at the old name.
    const bye = find(answersOf(responses()), NAME1, 'SRV');
    expect(bye.map(ttl)).toEqual([0]);
  });

  it('defends an announced name at once when another host probes it', () => {
    view.set(WEB1);
    start();
    probeThrough();
    vi.advanceTimersByTime(2000);
    transport.clear();
    transport.deliver(query([{ name: NAME1, type: ANY }], { authorities: [theirSrv] }));
    const sent = responses();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBeUndefined();
    expect(find(answersOf(sent), NAME1, 'SRV').map(dataOf)).toEqual([{ priority: 0, weight: 1, port: 8080, target: HOST1 }]);
    expect(responder.instanceNames().get('web/tcp/web-1')?.state).toBe('announced');
  });
});

describe('answering queries (RFC 6762 §6, §7)', () => {
  beforeEach(() => {
    view.set(WEB1).set(WEB2);
    start();
    // Probed, both announcements sent, and a second past the last (a record is multicast at most once a second).
    vi.advanceTimersByTime(2750);
    transport.clear();
  });

  it('answers a PTR query with the instances and RFC 6763 §12 additionals, after a 20-120 ms delay', () => {
    transport.deliver(query([{ name: '_web._tcp.local', type: 'PTR' }]));
    expect(responses()).toHaveLength(0);
    vi.advanceTimersByTime(120);
    const sent = responses();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBeUndefined();
    expect(sent[0]?.packet.id).toBe(0);
    expect(find(answersOf(sent), '_web._tcp.local', 'PTR').map(dataOf).sort()).toEqual([NAME1, 'web-2._web._tcp.local']);
    const additionals = sent[0]?.packet.additionals ?? [];
    expect(find(additionals, NAME1, 'SRV')).toHaveLength(1);
    expect(find(additionals, NAME1, 'TXT')).toHaveLength(1);
    expect(find(additionals, HOST1, 'A').map(dataOf)).toEqual(['10.0.0.1']);
  });

  it('suppresses answers the querier already knows with at least half the TTL left (§7.1)', () => {
    const known = (t: number): Answer => ({ name: '_web._tcp.local', type: 'PTR', ttl: t, data: NAME1 });
    transport.deliver(query([{ name: '_web._tcp.local', type: 'PTR' }], { answers: [known(2250)] }));
    vi.advanceTimersByTime(200);
    expect(find(answersOf(responses()), '_web._tcp.local', 'PTR').map(dataOf)).toEqual(['web-2._web._tcp.local']);
    expect(responder.stats().knownAnswersSuppressed).toBe(1);

    vi.advanceTimersByTime(1000);
    transport.clear();
    transport.deliver(query([{ name: '_web._tcp.local', type: 'PTR' }], { answers: [known(2249)] }));
    vi.advanceTimersByTime(200);
    expect(find(answersOf(responses()), '_web._tcp.local', 'PTR').map(dataOf).sort()).toEqual([NAME1, 'web-2._web._tcp.local']);
  });

  it('multicasts a record at most once per second (§6)', () => {
    transport.deliver(query([{ name: NAME1, type: 'SRV' }]));
    expect(responses()).toHaveLength(1); // unique records only: no delay
    vi.advanceTimersByTime(999);
    transport.deliver(query([{ name: NAME1, type: 'SRV' }]));
    expect(responses()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    transport.deliver(query([{ name: NAME1, type: 'SRV' }]));
    expect(responses()).toHaveLength(2);
  });

  it('answers a legacy unicast query by unicast, echoing id and question, TTL at most 10 s, no cache-flush bit (§6.7)', () => {
    const from = { address: '192.0.2.9', port: 40123 };
    transport.deliver(query([{ name: '_web._tcp.local', type: 'PTR' }], { id: 4321 }), from);
    const sent = responses();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toEqual(from);
    expect(sent[0]?.packet.id).toBe(4321);
    expect(sent[0]?.packet.questions).toEqual([{ name: '_web._tcp.local', type: 'PTR', class: 'IN' }]);
    const all = [...answersOf(sent), ...(sent[0]?.packet.additionals ?? [])];
    expect(find(all, '_web._tcp.local', 'PTR')).toHaveLength(2);
    expect(find(all, HOST1, 'A')).toHaveLength(1);
    for (const a of all) expect(ttl(a)).toBeLessThanOrEqual(10);
    for (const cls of sent[0]?.answerClasses ?? []) expect(cls & FLUSH).toBe(0);
    expect(responder.stats().legacyQueriesAnswered).toBe(1);
  });

  it('answers QU questions by unicast to port 5353 (§5.4)', () => {
    transport.deliver(query([{ name: NAME1, type: 'TXT' }]), PEER, true);
    const sent = responses();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toEqual({ address: PEER.address, port: 5353 });
    expect(find(answersOf(sent), NAME1, 'TXT')).toHaveLength(1);
  });

  it('answers a query that came over IPv6 over IPv6: QU by unicast to its link-local address, QM to the groups, legacy to its port', () => {
    transport.deliver(query([{ name: NAME1, type: 'TXT' }]), PEER6, true);
    expect(responses()).toHaveLength(1);
    expect(responses()[0]?.to).toEqual({ address: PEER6.address, port: 5353 });
    expect(responses()[0]?.families).toEqual(['IPv6']);
    expect(find(answersOf(responses()), NAME1, 'TXT')).toHaveLength(1);

    transport.clear();
    transport.deliver(query([{ name: '_web._tcp.local', type: 'PTR' }]), PEER6);
    vi.advanceTimersByTime(120);
    expect(responses()).toHaveLength(1);
    expect(responses()[0]?.to).toBeUndefined();
    expect(responses()[0]?.families).toContain('IPv6');
    expect(find(answersOf(responses()), '_web._tcp.local', 'PTR').map(dataOf).sort()).toEqual([NAME1, 'web-2._web._tcp.local']);

    transport.clear();
    const legacy = { address: 'fe80::51%eth0', port: 40124 };
    transport.deliver(query([{ name: '_web._tcp.local', type: 'PTR' }], { id: 77 }), legacy);
    expect(responses()).toHaveLength(1);
    expect(responses()[0]?.to).toEqual(legacy);
    expect(responses()[0]?.families).toEqual(['IPv6']);
    expect(responses()[0]?.packet.id).toBe(77);
  });

  it('answers the service enumeration and subtype names, and nothing outside local.', () => {
    transport.deliver(query([{ name: '_services._dns-sd._udp.local', type: 'PTR' }]));
    vi.advanceTimersByTime(120);
    expect(find(answersOf(responses()), '_services._dns-sd._udp.local', 'PTR').map(dataOf)).toEqual(['_web._tcp.local']);
    transport.clear();
    vi.advanceTimersByTime(1000);
    transport.deliver(query([{ name: '_canary._sub._web._tcp.local', type: 'PTR' }]));
    vi.advanceTimersByTime(120);
    expect(find(answersOf(responses()), '_canary._sub._web._tcp.local', 'PTR').map(dataOf)).toEqual([NAME1]);
    transport.clear();
    transport.deliver(query([{ name: '_web._tcp.example.com', type: 'PTR' }]));
    vi.advanceTimersByTime(200);
    expect(responses()).toHaveLength(0);
  });

  it('drops messages it cannot use and keeps answering', () => {
    transport.deliver({ type: 'query', id: 0, flags: 2 << 11, questions: [{ name: NAME1, type: 'SRV' }] }); // opcode 2 (STATUS)
    transport.deliver({ type: 'response', id: 0, flags: 0, answers: [{ name: NAME1, type: 'SRV', ttl: 120, data: { port: 1, target: 'x.local' } }] }, { address: '192.0.2.1', port: 9 });
    expect(responses()).toHaveLength(0);
    expect(responder.stats().conflicts).toBe(0); // a "response" from a port other than 5353 is not mDNS (§11)
    transport.deliver(query([{ name: NAME1, type: 'SRV' }]));
    expect(responses()).toHaveLength(1);
  });
});

describe('goodbyes (RFC 6762 §10.1)', () => {
  beforeEach(() => {
    view.set(WEB1).set(WEB2);
    start();
    vi.advanceTimersByTime(2750);
    transport.clear();
  });

  it('sends TTL-0 records the moment an instance leaves the eligible set, and stops answering for it', () => {
    view.setEligible('web', 'web-1', false);
    const sent = responses();
    expect(sent).toHaveLength(1);
    const bye = answersOf(sent);
    expect(bye.every((a) => ttl(a) === 0)).toBe(true);
    expect(find(bye, '_web._tcp.local', 'PTR').map(dataOf)).toEqual([NAME1]);
    expect(find(bye, NAME1, 'SRV')).toHaveLength(1);
    expect(find(bye, NAME1, 'TXT')).toHaveLength(1);
    expect(find(bye, HOST1, 'A')).toHaveLength(1);
    // web-2 is still there, so the shared enumeration record stays.
    expect(find(bye, '_services._dns-sd._udp.local', 'PTR')).toHaveLength(0);
    for (const cls of sent[0]?.answerClasses ?? []) expect(cls & FLUSH).toBe(0);

    transport.clear();
    transport.deliver(query([{ name: '_web._tcp.local', type: 'PTR' }]));
    vi.advanceTimersByTime(120);
    expect(find(answersOf(responses()), '_web._tcp.local', 'PTR').map(dataOf)).toEqual(['web-2._web._tcp.local']);
  });

  it('withdraws the enumeration record with the last instance, and re-probes and announces on recovery', () => {
    view.remove('web', 'web-1');
    transport.clear();
    view.setEligible('web', 'web-2', false);
    expect(find(answersOf(responses()), '_services._dns-sd._udp.local', 'PTR').map(ttl)).toEqual([0]);
    transport.clear();
    view.setEligible('web', 'web-2', true);
    vi.advanceTimersByTime(750);
    expect(probes('web-2._web._tcp.local')).toHaveLength(3);
    expect(find(answersOf(responses()), '_web._tcp.local', 'PTR').map(ttl)).toEqual([4500]);
  });

  it('announces changed data and says goodbye for records that went (§8.4)', () => {
    view.set({ ...WEB1, tags: [], port: 9090 });
    const sent = answersOf(responses());
    expect(find(sent, '_canary._sub._web._tcp.local', 'PTR').map(ttl)).toEqual([0]);
    expect(find(sent, NAME1, 'SRV').map(dataOf)).toEqual([{ priority: 0, weight: 1, port: 9090, target: HOST1 }]);
  });

  it('says goodbye for everything on close', () => {
    responder.close();
    const bye = answersOf(responses());
    expect(find(bye, '_web._tcp.local', 'PTR')).toHaveLength(2);
    expect(find(bye, '_services._dns-sd._udp.local', 'PTR')).toHaveLength(1);
    expect(bye.every((a) => ttl(a) === 0)).toBe(true);
  });
});
