/**
 * DNS UPDATE (RFC 2136) against a real server on 127.0.0.1 port 0 with a real registry behind the write path:
 * the prerequisite table (§2.4, §3.2.5), the update forms (§2.5), all-or-nothing (§3.4), TSIG (RFC 8945),
 * update leases (RFC 9664) and bad input. Messages are built by hand (update-messages.ts); replies are read
 * with dns-packet.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { ManualClock } from '../../src/clock.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { MemoryStore } from '../../src/store/memory.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { parseTsigKey } from '../../src/dns/update/tsig.js';
import {
  C,
  T,
  add,
  deleteRR,
  deleteRRset,
  leaseOpt,
  pre,
  rcodeOf,
  rdata,
  replyMacValid,
  sendTcp,
  sendUdp,
  sign,
  tsigError,
  updateMessage,
  type TestKey,
  type TestRecord,
} from './update-messages.js';

const KEY: TestKey = { name: 'beacon-key', algorithm: 'hmac-sha256', secret: Buffer.from('0123456789abcdef0123456789abcdef') };
const KEY512: TestKey = { name: 'key512', algorithm: 'hmac-sha512', secret: Buffer.from('another secret of some length here') };
const R = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 };

const INSTANCE = 'web1._http._tcp.local.';
const SERVICE = '_http._tcp.local.';
const registration = (id = 'web1', port = 8080): TestRecord[] => [
  add(`_http._tcp.local.`, T.PTR, rdata.ptr(`${id}._http._tcp.local.`)),
  add(`${id}._http._tcp.local.`, T.SRV, rdata.srv(0, 5, port, '10-0-0-1.addr.local.')),
  add(`${id}._http._tcp.local.`, T.TXT, rdata.txt('path=/x', 'v=1')),
];

let registry: ServiceRegistry;
let durable: DurableRegistry;
let server: DnsServer;
let view: ReturnType<typeof createRegistryView>;
let port: number;
let allowFrom: string[] = [];

async function start(): Promise<void> {
  registry = new ServiceRegistry();
  durable = await DurableRegistry.open(registry, new MemoryStore());
  view = createRegistryView(registry);
  server = await startDnsServer({
    view,
    listen: [{ host: '127.0.0.1', port: 0 }],
    zones: [],
    update: { writer: durable, keys: [parseTsigKey(`${KEY.name}:${KEY.algorithm}:${KEY.secret.toString('base64')}`), parseTsigKey(`${KEY512.name}:${KEY512.algorithm}:${KEY512.secret.toString('base64')}`)], allowFrom },
  });
  port = server.addresses.udp[0]?.port ?? 0;
}

beforeEach(async () => {
  allowFrom = [];
  await start();
});
afterEach(async () => {
  await server.close();
  view.dispose();
  await durable.close();
});

const now = (): number => Math.floor(Date.now() / 1000);

/** Send a signed update over UDP; the reply and the request MAC. */
async function update(p: Parameters<typeof updateMessage>[0], key: TestKey = KEY, via: 'udp' | 'tcp' = 'udp'): Promise<{ reply: Buffer; mac: Buffer }> {
  const { signed, mac } = sign(updateMessage(p), key, now());
  const reply = via === 'udp' ? await sendUdp(port, signed) : await sendTcp(port, signed);
  return { reply, mac };
}

interface Decoded {
  rcode: string;
  answers: { type: string; data: unknown }[];
  additionals: { type: string; options?: { code: number; data?: Buffer }[] }[];
}

/** dns-packet's decoding, typed to what these tests read. */
const decode = (reply: Buffer): Decoded => dnsPacket.decode(reply) as unknown as Decoded;

async function query(name: string, type: dnsPacket.RecordType): Promise<Decoded> {
  const msg = dnsPacket.encode({ type: 'query', id: 7, flags: 0, questions: [{ name, type, class: 'IN' }] });
  return decode(await sendUdp(port, msg));
}

describe('DNS UPDATE: registration', () => {
  it('registers a DNS-SD instance (PTR+SRV+TXT) over UDP, signed reply, visible in the registry and DNS', async () => {
    const { reply, mac } = await update({ updates: registration() });
    expect(rcodeOf(reply)).toBe(R.NOERROR);
    expect(replyMacValid(reply, mac, KEY)).toBe(true);
    const rec = registry.get('http', 'web1')?.spec;
    expect(rec?.address).toBe('10.0.0.1');
    expect(rec?.port).toBe(8080);
    expect(rec?.weight).toBe(5);
    expect(rec?.metadata).toEqual({ path: '/x', v: '1' });
    const srv = await query(INSTANCE, 'SRV');
    expect(srv.answers[0]?.data).toMatchObject({ port: 8080, target: '10-0-0-1.addr.local' });
    const ptr = await query(SERVICE, 'PTR');
    expect(ptr.answers.map((a) => a.data)).toEqual(['web1._http._tcp.local']);
  });

  it('registers over TCP too, with hmac-sha512', async () => {
    const { reply, mac } = await update({ updates: registration('tcp1') }, KEY512, 'tcp');
    expect(rcodeOf(reply)).toBe(R.NOERROR);
    expect(replyMacValid(reply, mac, KEY512)).toBe(true);
    expect(registry.get('http', 'tcp1')).toBeDefined();
  });

  it('takes the address from an A record of a host-name target in the same update', async () => {
    const { reply } = await update({ updates: [add(INSTANCE, T.SRV, rdata.srv(1, 1, 9000, 'host1.local.')), add('host1.local.', T.A, rdata.a('10.1.2.3'))] });
    expect(rcodeOf(reply)).toBe(R.NOERROR);
    expect(registry.get('http', 'web1')?.spec).toMatchObject({ address: '10.1.2.3', host: 'host1.local', port: 9000 });
  });

  it.each([
    ['delete the SRV RRset', deleteRRset(INSTANCE, T.SRV)],
    ['delete all RRsets of the name', deleteRRset(INSTANCE, T.ANY)],
    ['delete the one SRV RR', deleteRR(INSTANCE, T.SRV, rdata.srv(0, 5, 8080, '10-0-0-1.addr.local.'))],
    ['delete the PTR RR', deleteRR(SERVICE, T.PTR, rdata.ptr(INSTANCE))],
    ['delete the PTR RRset', deleteRRset(SERVICE, T.PTR)],
  ])('%s deregisters the instance', async (_label, record) => {
    expect(rcodeOf((await update({ updates: registration() })).reply)).toBe(R.NOERROR);
    expect(rcodeOf((await update({ updates: [record] })).reply)).toBe(R.NOERROR);
    expect(registry.get('http', 'web1')).toBeUndefined();
    expect((await query(INSTANCE, 'SRV')).rcode).toBe('NXDOMAIN');
  });

  it('deleting what does not exist succeeds and changes nothing (RFC 2136 §3.4.2.3)', async () => {
    const before = registry.index;
    expect(rcodeOf((await update({ updates: [deleteRRset(INSTANCE, T.SRV)] })).reply)).toBe(R.NOERROR);
    expect(registry.index).toBe(before);
  });

  it('refuses records that do not map to an instance, and applies nothing of the update', async () => {
    const { reply } = await update({ updates: [...registration(), add('lonely.local.', T.A, rdata.a('10.9.9.9'))] });
    expect(rcodeOf(reply)).toBe(R.REFUSED);
    expect(registry.get('http', 'web1')).toBeUndefined();
  });
});

describe('DNS UPDATE: prerequisites (RFC 2136 §2.4, every row of §3.2.5)', () => {
  beforeEach(async () => {
    expect(rcodeOf((await update({ updates: registration() })).reply)).toBe(R.NOERROR);
  });
  const other = 'web2._http._tcp.local.';
  it.each<[string, TestRecord, number]>([
    ['yxdomain holds', pre.yxdomain(INSTANCE), R.NOERROR],
    ['yxdomain fails', pre.yxdomain('nothing.local.'), R.NXDOMAIN],
    ['nxdomain holds', pre.nxdomain('nothing.local.'), R.NOERROR],
    ['nxdomain fails', pre.nxdomain(INSTANCE), R.YXDOMAIN],
    ['yxrrset (value-independent) holds', pre.yxrrset(INSTANCE, T.SRV), R.NOERROR],
    ['yxrrset (value-independent) fails', pre.yxrrset(INSTANCE, T.A), R.NXRRSET],
    ['nxrrset holds', pre.nxrrset(INSTANCE, T.A), R.NOERROR],
    ['nxrrset fails', pre.nxrrset(INSTANCE, T.SRV), R.YXRRSET],
    ['yxrrset (value-dependent) holds', pre.value(INSTANCE, T.SRV, rdata.srv(0, 5, 8080, '10-0-0-1.ADDR.local.')), R.NOERROR],
    ['yxrrset (value-dependent) fails', pre.value(INSTANCE, T.SRV, rdata.srv(0, 5, 8081, '10-0-0-1.addr.local.')), R.NXRRSET],
  ])('%s', async (_label, prerequisite, rcode) => {
    const before = registry.index;
    const { reply } = await update({ prereq: [prerequisite], updates: registration('web2') });
    expect(rcodeOf(reply)).toBe(rcode);
    // All or nothing (§3.4): the update is applied exactly when the prerequisite holds.
    expect(registry.get('http', 'web2') !== undefined).toBe(rcode === R.NOERROR);
    if (rcode !== R.NOERROR) expect(registry.index).toBe(before);
    void other;
  });

  it('a value-dependent prerequisite must match the whole RRset', async () => {
    expect(rcodeOf((await update({ updates: registration('web2') })).reply)).toBe(R.NOERROR);
    const onlyOne = pre.value(SERVICE, T.PTR, rdata.ptr(INSTANCE));
    expect(rcodeOf((await update({ prereq: [onlyOne], updates: [deleteRRset(INSTANCE, T.ANY)] })).reply)).toBe(R.NXRRSET);
    const both = [onlyOne, pre.value(SERVICE, T.PTR, rdata.ptr('web2._http._tcp.local.'))];
    expect(rcodeOf((await update({ prereq: both, updates: [deleteRRset(INSTANCE, T.ANY)] })).reply)).toBe(R.NOERROR);
    expect(registry.get('http', 'web1')).toBeUndefined();
  });

  it('a later failing prerequisite leaves everything unchanged', async () => {
    const before = registry.index;
    const { reply } = await update({ prereq: [pre.yxdomain(INSTANCE), pre.nxrrset(INSTANCE, T.SRV)], updates: [deleteRRset(INSTANCE, T.ANY)] });
    expect(rcodeOf(reply)).toBe(R.YXRRSET);
    expect(registry.index).toBe(before);
    expect(registry.get('http', 'web1')).toBeDefined();
  });
});

describe('DNS UPDATE: TSIG and authorization', () => {
  it('refuses an unsigned update when no source is allowed', async () => {
    const reply = await sendUdp(port, updateMessage({ updates: registration() }));
    expect(rcodeOf(reply)).toBe(R.REFUSED);
    expect(registry.get('http', 'web1')).toBeUndefined();
  });

  it('accepts an unsigned update from an allowed CIDR', async () => {
    await server.close();
    view.dispose();
    await durable.close();
    allowFrom = ['127.0.0.0/8'];
    await start();
    const reply = await sendUdp(port, updateMessage({ updates: registration() }));
    expect(rcodeOf(reply)).toBe(R.NOERROR);
    expect(registry.get('http', 'web1')).toBeDefined();
  });

  it('wrong secret: NOTAUTH with TSIG error BADSIG, nothing changed', async () => {
    const { signed } = sign(updateMessage({ updates: registration() }), { ...KEY, secret: Buffer.from('wrong') }, now());
    const reply = await sendUdp(port, signed);
    expect(rcodeOf(reply)).toBe(R.NOTAUTH);
    expect(tsigError(reply, KEY)).toBe(16);
    expect(registry.get('http', 'web1')).toBeUndefined();
  });

  it('unknown key: NOTAUTH with TSIG error BADKEY, nothing changed', async () => {
    const unknown = { ...KEY, name: 'nobody' };
    const reply = await sendUdp(port, sign(updateMessage({ updates: registration() }), unknown, now()).signed);
    expect(rcodeOf(reply)).toBe(R.NOTAUTH);
    expect(tsigError(reply, unknown)).toBe(17);
    expect(registry.get('http', 'web1')).toBeUndefined();
  });

  it('skewed time: NOTAUTH with TSIG error BADTIME in a signed reply, nothing changed', async () => {
    const { signed, mac } = sign(updateMessage({ updates: registration() }), KEY, now() - 3600);
    const reply = await sendUdp(port, signed);
    expect(rcodeOf(reply)).toBe(R.NOTAUTH);
    expect(tsigError(reply, KEY)).toBe(18);
    expect(replyMacValid(reply, mac, KEY)).toBe(true);
    expect(registry.get('http', 'web1')).toBeUndefined();
  });
});

describe('DNS UPDATE: concurrency', () => {
  it('100 concurrent updates from 10 clients (UDP and TCP) are all applied', async () => {
    const client = async (c: number): Promise<number[]> => {
      const sent = Array.from({ length: 10 }, (_, i) => update({ updates: registration(`c${c}-${i}`, 1000 + c * 10 + i) }, KEY, c % 2 === 0 ? 'udp' : 'tcp'));
      return (await Promise.all(sent)).map((r) => rcodeOf(r.reply));
    };
    const rcodes = (await Promise.all(Array.from({ length: 10 }, (_, c) => client(c)))).flat();
    expect(rcodes).toEqual(new Array<number>(100).fill(R.NOERROR));
    expect(registry.records('http')).toHaveLength(100);
    expect(new Set(registry.records('http').map((r) => r.spec.port)).size).toBe(100);
  });
});

describe('DNS UPDATE: counted by outcome', () => {
  it('counts accepted updates and refusals by reason', async () => {
    expect(server.stats().updatesByOutcome).toBeUndefined();
    await update({ updates: registration() });
    await sendUdp(port, updateMessage({ updates: registration() }));
    await sendUdp(port, sign(updateMessage({ updates: registration() }), { ...KEY, name: 'nobody' }, now()).signed);
    await update({ prereq: [pre.nxdomain(INSTANCE)], updates: registration() });
    expect(server.stats().updatesByOutcome).toEqual({ accepted: 1, unsigned: 1, badkey: 1, yxdomain: 1 });
  });
});

describe('DNS UPDATE: leases (RFC 9664)', () => {
  it('the granted lease becomes the instance TTL and is echoed', async () => {
    const { reply } = await update({ updates: registration(), additional: [leaseOpt(3)] });
    expect(rcodeOf(reply)).toBe(R.NOERROR);
    expect(registry.get('http', 'web1')?.spec.ttlMs).toBe(3000);
    const opt = decode(reply).additionals.find((r) => r.type === 'OPT');
    const lease = opt?.options?.find((o) => o.code === 2);
    expect(lease?.data?.readUInt32BE(0)).toBe(3);
  });

  it('re-sending the update renews the lease (the registration counts as a heartbeat)', async () => {
    await server.close();
    view.dispose();
    await durable.close();
    const clock = new ManualClock(1_000_000);
    registry = new ServiceRegistry({}, { clock });
    durable = await DurableRegistry.open(registry, new MemoryStore());
    view = createRegistryView(registry);
    server = await startDnsServer({ view, listen: [{ host: '127.0.0.1', port: 0 }], zones: [], update: { writer: durable, keys: [parseTsigKey(`${KEY.name}:${KEY.algorithm}:${KEY.secret.toString('base64')}`)] } });
    port = server.addresses.udp[0]?.port ?? 0;
    const servable = (): boolean => {
      const record = registry.get('http', 'web1');
      return record !== undefined && registry.isServable(record);
    };
    expect(rcodeOf((await update({ updates: registration(), additional: [leaseOpt(3)] })).reply)).toBe(R.NOERROR);
    clock.advance(2000);
    expect(servable()).toBe(true);
    expect(rcodeOf((await update({ updates: registration(), additional: [leaseOpt(3)] })).reply)).toBe(R.NOERROR);
    clock.advance(2000);
    expect(servable()).toBe(true); // 4 s after the first update, 2 s after the renewal
    clock.advance(1500);
    expect(servable()).toBe(false); // 3.5 s after the renewal: lapsed
  });

  it('without a lease the default (two hours) applies and none is echoed', async () => {
    const { reply } = await update({ updates: registration() });
    expect(registry.get('http', 'web1')?.spec.ttlMs).toBe(7200 * 1000);
    expect(decode(reply).additionals.some((r) => r.type === 'OPT')).toBe(false);
  });
});

describe('DNS UPDATE: zone section and bad input', () => {
  const cases: [string, () => Buffer, number | 'drop'][] = [
    ['another zone: NOTAUTH', () => updateMessage({ zone: 'example.com.', updates: registration() }), R.NOTAUTH],
    ['zone type not SOA: FORMERR', () => updateMessage({ zoneType: T.A, updates: registration() }), R.FORMERR],
    ['wrong zone class: NOTAUTH', () => updateMessage({ zoneClass: 3, updates: registration() }), R.NOTAUTH],
    ['record outside the zone: NOTZONE', () => updateMessage({ updates: [add('x._http._tcp.example.com.', T.SRV, rdata.srv(0, 0, 1, 'a.example.com.'))] }), R.NOTZONE],
    ['prerequisite outside the zone: NOTZONE', () => updateMessage({ prereq: [pre.yxdomain('example.com.')] }), R.NOTZONE],
    ['update of class CH: FORMERR', () => updateMessage({ updates: [{ ...add(INSTANCE, T.SRV, rdata.srv(0, 0, 1, 'a.local.')), klass: 3 }] }), R.FORMERR],
    ['delete with RDATA in class ANY: FORMERR', () => updateMessage({ updates: [{ ...deleteRRset(INSTANCE, T.SRV), rdata: Buffer.from([1]) }] }), R.FORMERR],
    ['prerequisite with a TTL: FORMERR', () => updateMessage({ prereq: [{ ...pre.yxdomain(INSTANCE), ttl: 5 }] }), R.FORMERR],
    ['add of type ANY: FORMERR', () => updateMessage({ updates: [add(INSTANCE, T.ANY, Buffer.alloc(0))] }), R.FORMERR],
    ['truncated message: FORMERR', () => updateMessage({ updates: registration() }).subarray(0, 40), R.FORMERR],
    ['two zone records: FORMERR', () => {
      const m = updateMessage({});
      m.writeUInt16BE(2, 4);
      return m;
    }, R.FORMERR],
    ['compression loop: FORMERR', () => {
      const m = updateMessage({ updates: [add(INSTANCE, T.SRV, rdata.srv(0, 0, 1, 'a.local.'))] });
      // Point the update record's owner at itself.
      const at = 12 + 'local.'.length + 1 + 4;
      const looped = Buffer.concat([m.subarray(0, at), Buffer.from([0xc0 | (at >> 8), at & 0xff]), m.subarray(at + 'web1._http._tcp.local.'.length + 1)]);
      return looped;
    }, R.FORMERR],
    ['shorter than a header: dropped', () => Buffer.from([0, 1, 0x28]), 'drop'],
  ];
  it.each(cases)('%s', async (_label, build, expected) => {
    const msg = build();
    if (expected === 'drop') {
      await expect(sendUdp(port, msg, 300)).rejects.toThrow('no UDP reply');
    } else {
      // Signed, so that what is judged is the message itself (unparseable ones stay so with a TSIG appended).
      const reply = await sendUdp(port, sign(msg, KEY, now()).signed);
      expect(rcodeOf(reply)).toBe(expected);
    }
    expect(registry.records()).toEqual([]);
    // The server goes on answering.
    expect((await query('local.', 'SOA')).rcode).toBe('NOERROR');
  });

  it('1,000 records in one update are all applied or none', async () => {
    const updates: TestRecord[] = [];
    for (let i = 0; i < 1000; i++) updates.push(add(`i${i}._bulk._tcp.local.`, T.SRV, rdata.srv(0, 1, 1000 + (i % 60000), '10-0-0-1.addr.local.')));
    const good = await update({ updates }, KEY, 'tcp');
    expect(rcodeOf(good.reply)).toBe(R.NOERROR);
    expect(registry.records('bulk')).toHaveLength(1000);
    const bad = [...updates.map((u) => deleteRRset(u.name, T.SRV)), add('stray.local.', T.A, rdata.a('10.0.0.9'))];
    expect(rcodeOf((await update({ updates: bad }, KEY, 'tcp')).reply)).toBe(R.REFUSED);
    expect(registry.records('bulk')).toHaveLength(1000);
  });

  it('an ordinary query still works beside updates (UPDATE needs no opcode-5 support in the query path)', async () => {
    expect(C.IN).toBe(1);
    expect((await query(INSTANCE, 'SRV')).rcode).toBe('NXDOMAIN');
  });
});
