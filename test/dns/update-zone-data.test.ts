/**
 * Records of an UPDATE that describe no instance, kept as dynamic zone data (README, "Registration through DNS
 * UPDATE"): answered by DNS, deleted by UPDATE in every RFC 2136 §2.5 form, seen by prerequisites, applied all
 * or nothing with the instance writes, durable across a restart on SQLite. Against a real server on 127.0.0.1
 * port 0 with a real registry and a real store behind it; replies read with dns-packet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import { parseDomain } from '../../src/dns/authority.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { parseTsigKey } from '../../src/dns/update/tsig.js';
import { openZoneData, type ZoneData } from '../../src/daemon/zone-data.js';
import { C, T, add, deleteRR, deleteRRset, pre, rcodeOf, rdata, sendUdp, sign, updateMessage, type TestKey, type TestRecord } from './update-messages.js';

const KEY: TestKey = { name: 'zone-key', algorithm: 'hmac-sha256', secret: Buffer.from('zone data key secret, 32 octets!') };
const R = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8 };

let dir: string;
let store: SqliteStore;
let registry: ServiceRegistry;
let durable: DurableRegistry;
let view: ReturnType<typeof createRegistryView>;
let zoneData: ZoneData;
let server: DnsServer;

async function start(): Promise<void> {
  store = await SqliteStore.open(join(dir, 'beacon.db'));
  registry = new ServiceRegistry();
  durable = await DurableRegistry.open(registry, store);
  view = createRegistryView(registry);
  zoneData = await openZoneData(store, parseDomain('local.'));
  server = await startDnsServer({
    view,
    listen: [{ host: '127.0.0.1', port: 0 }],
    zones: [],
    zoneData: zoneData.zone,
    update: { writer: durable, keys: [parseTsigKey(`${KEY.name}:${KEY.algorithm}:${KEY.secret.toString('base64')}`)], zoneWriter: (sets) => zoneData.write(sets) },
  });
}
async function stop(): Promise<void> {
  await server.close();
  zoneData.close();
  view.dispose();
  await durable.close();
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'beacon-zone-data-'));
  await start();
});
afterEach(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

const port = (): number => server.addresses.udp[0]!.port;
async function update(updates: TestRecord[], prereq: TestRecord[] = []): Promise<number> {
  return rcodeOf(await sendUdp(port(), sign(updateMessage({ updates, prereq }), KEY, Math.floor(Date.now() / 1000)).signed));
}
interface Answer { rcode: string; answers: { name: string; type: string; ttl: number; data: unknown }[]; authorities: { type: string; data: { serial?: number } }[] }
async function query(name: string, type: dnsPacket.RecordType): Promise<Answer> {
  const msg = dnsPacket.encode({ type: 'query', id: 9, flags: 0, questions: [{ name, type, class: 'IN' }] });
  return dnsPacket.decode(await sendUdp(port(), msg)) as unknown as Answer;
}
const data = async (name: string, type: dnsPacket.RecordType): Promise<unknown[]> => (await query(name, type)).answers.filter((a) => a.type === type).map((a) => (Buffer.isBuffer(a.data) ? a.data.toString('hex') : Array.isArray(a.data) ? a.data.map((s: Buffer) => s.toString()) : a.data));
const txt = (...strings: string[]) => add('notes.local.', T.TXT, rdata.txt(...strings));

describe('dynamic zone data through UPDATE', () => {
  it('an A record for a host name is kept, answered, and moves the SOA serial', async () => {
    expect((await query('printer.local', 'A')).rcode).toBe('NXDOMAIN');
    const serial = server.serial.current;
    expect(await update([add('printer.local.', T.A, rdata.a('10.1.2.3'), 120)])).toBe(R.NOERROR);
    const reply = await query('printer.local', 'A');
    expect(reply.answers.map((a) => [a.name, a.ttl, a.data])).toEqual([['printer.local', 120, '10.1.2.3']]);
    expect(server.serial.current).toBeGreaterThan(serial);
    expect((await query('printer.local', 'AAAA')).rcode).toBe('NOERROR'); // the name exists: NODATA
    expect(await store.loadZone()).toEqual([{ owner: 'printer.local.', type: T.A, ttl: 120, rdata: [Buffer.from([10, 1, 2, 3]).toString('base64')] }]);
  });

  it('adds join the RRset once each, the TTL follows the last add; a name above the data exists (NODATA)', async () => {
    expect(await update([txt('a=1'), txt('b=2', 'c=3')])).toBe(R.NOERROR);
    expect(await update([add('notes.local.', T.TXT, rdata.txt('a=1'), 30)])).toBe(R.NOERROR);
    const reply = await query('notes.local', 'TXT');
    expect(reply.answers.map((a) => [a.ttl, (a.data as Buffer[]).map(String)])).toEqual([[30, ['a=1']], [30, ['b=2', 'c=3']]]);
    expect(await update([add('deep.below.local.', T.TXT, rdata.txt('x'))])).toBe(R.NOERROR);
    const above = await query('below.local', 'TXT');
    expect([above.rcode, above.answers.length]).toEqual(['NOERROR', 0]);
  });

  it('deletes one record, an RRset, and every RRset of a name (RFC 2136 §2.5.2-2.5.4)', async () => {
    expect(await update([txt('a=1'), txt('b=2'), add('notes.local.', T.A, rdata.a('10.0.0.5')), add('notes.local.', 65280, Buffer.from('cafe', 'hex'))])).toBe(R.NOERROR);
    expect(await update([deleteRR('notes.local.', T.TXT, rdata.txt('a=1'))])).toBe(R.NOERROR);
    expect(await data('notes.local', 'TXT')).toEqual([['b=2']]);
    expect(await update([deleteRRset('notes.local.', T.TXT)])).toBe(R.NOERROR);
    expect(await data('notes.local', 'TXT')).toEqual([]);
    expect(await data('notes.local', 'A')).toEqual(['10.0.0.5']);
    expect(await update([deleteRRset('notes.local.', T.ANY)])).toBe(R.NOERROR);
    expect((await query('notes.local', 'A')).rcode).toBe('NXDOMAIN');
    expect(await store.loadZone()).toEqual([]);
    // Deleting what is not there succeeds and changes nothing (§3.4.2.3).
    const serial = server.serial.current;
    expect(await update([deleteRRset('notes.local.', T.TXT)])).toBe(R.NOERROR);
    expect(server.serial.current).toBe(serial);
  });

  it('prerequisites see it: existence, RRset existence and the exact RRset', async () => {
    expect(await update([add('gw.local.', T.A, rdata.a('10.0.0.1')), add('gw.local.', T.A, rdata.a('10.0.0.2'))])).toBe(R.NOERROR);
    expect(await update([txt('ok')], [pre.nxdomain('gw.local.')])).toBe(R.YXDOMAIN);
    expect(await update([txt('ok')], [pre.nxrrset('gw.local.', T.A)])).toBe(R.YXRRSET);
    expect(await update([txt('ok')], [pre.value('gw.local.', T.A, rdata.a('10.0.0.1'))])).toBe(R.NXRRSET); // one of two
    expect(await data('notes.local', 'TXT')).toEqual([]);
    const both = [pre.value('gw.local.', T.A, rdata.a('10.0.0.2')), pre.value('gw.local.', T.A, rdata.a('10.0.0.1'))];
    expect(await update([txt('ok')], [pre.yxdomain('gw.local.'), pre.yxrrset('gw.local.', T.A), ...both])).toBe(R.NOERROR);
    expect(await data('notes.local', 'TXT')).toEqual([['ok']]);
  });

  it('is all or nothing with the rest of the update', async () => {
    const instance = add('web1._http._tcp.local.', T.SRV, rdata.srv(0, 1, 80, '10-0-0-1.addr.local.'));
    // A TXT at an instance name without its SRV is refused: the zone data and the instance stay out.
    expect(await update([txt('a=1'), add('web2._http._tcp.local.', T.TXT, rdata.txt('x=1'))])).toBe(R.REFUSED);
    expect(await store.loadZone()).toEqual([]);
    expect(await update([txt('a=1'), instance], [pre.yxdomain('nothing.local.')])).toBe(R.NXDOMAIN);
    expect([await store.loadZone(), registry.records()]).toEqual([[], []]);
    expect(await update([txt('a=1'), instance])).toBe(R.NOERROR);
    expect([await data('notes.local', 'TXT'), registry.records().map((r) => r.spec.id)]).toEqual([[['a=1']], ['web1']]);
  });

  it('an A record that is an SRV target in the same update gives the instance its address and is not kept twice', async () => {
    expect(await update([add('box.local.', T.A, rdata.a('10.0.0.44')), add('box._ipp._tcp.local.', T.SRV, rdata.srv(0, 1, 631, 'box.local.'))])).toBe(R.NOERROR);
    expect(registry.get('ipp', 'box')?.spec).toMatchObject({ address: '10.0.0.44', host: 'box.local' });
    expect(await store.loadZone()).toEqual([]);
    expect(await data('box.local', 'A')).toEqual(['10.0.0.44']);
    // A later A record for that host joins the instance's address in one RRset.
    expect(await update([add('box.local.', T.A, rdata.a('10.0.0.45'))])).toBe(R.NOERROR);
    expect((await data('box.local', 'A')).sort()).toEqual(['10.0.0.44', '10.0.0.45']);
  });

  it('gives an SRV target its zone-data address in the additional section, and a cached browse answer follows it', async () => {
    expect(await update([add('cam._rtsp._tcp.local.', T.SRV, rdata.srv(0, 1, 554, 'cam-host.local.'))])).toBe(R.NOERROR);
    const additional = async (): Promise<unknown[]> => {
      const msg = dnsPacket.encode({ type: 'query', id: 3, flags: 0, questions: [{ name: '_rtsp._tcp.local', type: 'PTR', class: 'IN' }] });
      const reply = dnsPacket.decode(await sendUdp(port(), msg)) as unknown as { additionals: { name: string; type: string; data: unknown }[] };
      return reply.additionals.filter((a) => a.type === 'A').map((a) => [a.name, a.data]);
    };
    expect(await additional()).toEqual([]);
    expect(await update([add('cam-host.local.', T.A, rdata.a('10.0.0.60'))])).toBe(R.NOERROR);
    expect(await additional()).toEqual([['cam-host.local', '10.0.0.60']]);
  });

  it('stores names in RDATA decompressed, and compares them without case', async () => {
    // PTR RDATA "host" + a pointer to the zone name at offset 12: host.local.
    const compressed: TestRecord = { name: 'alias.local.', type: T.PTR, klass: C.IN, ttl: 60, rdata: Buffer.from([4, ...Buffer.from('Host'), 0xc0, 0x0c]) };
    expect(await update([compressed])).toBe(R.NOERROR);
    expect(await data('alias.local', 'PTR')).toEqual(['Host.local']);
    expect(await update([deleteRR('alias.local.', T.PTR, rdata.ptr('HOST.LOCAL.'))])).toBe(R.NOERROR);
    expect(await data('alias.local', 'PTR')).toEqual([]);
  });

  it.each([
    ['an address name', [add('10-0-0-1.addr.local.', T.A, rdata.a('10.0.0.2'))], R.REFUSED],
    ['a service name', [add('_http._tcp.local.', T.TXT, rdata.txt('x'))], R.REFUSED],
    ['the apex', [add('local.', T.TXT, rdata.txt('x'))], R.REFUSED],
    ['a DNSSEC type', [add('signed.local.', 46, Buffer.alloc(20))], R.REFUSED],
    ['an A record of 3 octets', [add('short.local.', T.A, Buffer.from([10, 0, 0]))], R.FORMERR],
    ['a TXT string running past its RDATA', [add('bad.local.', T.TXT, Buffer.from([9, 65]))], R.FORMERR],
  ])('refuses zone data at %s, changing nothing', async (_what, updates, rcode) => {
    expect(await update(updates)).toBe(rcode);
    expect(await store.loadZone()).toEqual([]);
  });

  it('is durable: a restart on the same SQLite file answers it', async () => {
    expect(await update([add('nas.local.', T.AAAA, Buffer.from('fd000000000000000000000000000007', 'hex')), txt('kept')])).toBe(R.NOERROR);
    await stop();
    await start();
    expect(await data('nas.local', 'AAAA')).toEqual(['fd00::7']);
    expect(await data('notes.local', 'TXT')).toEqual([['kept']]);
  });
});
