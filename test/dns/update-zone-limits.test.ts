/**
 * The caps on dynamic zone data (README, "Registration through DNS UPDATE"): an update that would take the
 * zone data over its RRset count or an RRset over its record count is REFUSED and changes nothing (store,
 * answers, SOA serial); updates that stay within, or shrink, pass. Against a real server on 127.0.0.1 port 0
 * with a real registry and a memory store behind it; replies read with dns-packet.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { openZoneData, type ZoneData } from '../../src/daemon/zone-data.js';
import { parseDomain } from '../../src/dns/authority.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { DEFAULT_ZONE_DATA_LIMITS } from '../../src/dns/update/responder.js';
import { parseTsigKey } from '../../src/dns/update/tsig.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { MemoryStore } from '../../src/store/memory.js';
import { T, add, deleteRRset, rcodeOf, rdata, sendUdp, sign, updateMessage, type TestKey, type TestRecord } from './update-messages.js';

const KEY: TestKey = { name: 'limit-key', algorithm: 'hmac-sha256', secret: Buffer.from('zone data limits secret, 32 oct!') };
const R = { NOERROR: 0, REFUSED: 5 };

let store: MemoryStore;
let durable: DurableRegistry;
let view: ReturnType<typeof createRegistryView>;
let zoneData: ZoneData;
let server: DnsServer;

beforeEach(async () => {
  store = new MemoryStore();
  durable = await DurableRegistry.open(new ServiceRegistry(), store);
  view = createRegistryView(durable.registry);
  zoneData = await openZoneData(store, parseDomain('local.'));
  server = await startDnsServer({
    view,
    listen: [{ host: '127.0.0.1', port: 0 }],
    zones: [],
    zoneData: zoneData.zone,
    update: {
      writer: durable,
      keys: [parseTsigKey(`${KEY.name}:${KEY.algorithm}:${KEY.secret.toString('base64')}`)],
      zoneWriter: (sets) => zoneData.write(sets),
      zoneDataLimits: { maxRRsets: 3, maxRecordsPerRRset: 2 },
    },
  });
});
afterEach(async () => {
  await server.close();
  zoneData.close();
  view.dispose();
  await durable.close();
});

const port = (): number => server.addresses.udp[0]!.port;
async function update(updates: TestRecord[]): Promise<number> {
  return rcodeOf(await sendUdp(port(), sign(updateMessage({ updates }), KEY, Math.floor(Date.now() / 1000)).signed));
}
async function answers(name: string, type: dnsPacket.RecordType): Promise<unknown[]> {
  const msg = dnsPacket.encode({ type: 'query', id: 7, flags: 0, questions: [{ name, type, class: 'IN' }] });
  return (dnsPacket.decode(await sendUdp(port(), msg)).answers ?? []).map((a) => ('data' in a ? a.data : undefined));
}
const host = (name: string, address: string): TestRecord => add(`${name}.local.`, T.A, rdata.a(address));

/** Everything a refused update must leave as it was. */
const state = async () => ({ stored: await store.loadZone(), serial: server.serial.current, held: zoneData.zone.size });

describe('caps on dynamic zone data', () => {
  it('ships defaults of 10,000 RRsets and 100 records per RRset', () => {
    expect(DEFAULT_ZONE_DATA_LIMITS).toEqual({ maxRRsets: 10_000, maxRecordsPerRRset: 100 });
  });

  it('refuses an update that would hold more RRsets than the cap, whole, and changes nothing', async () => {
    expect(await update([host('a', '10.0.0.1'), host('b', '10.0.0.2'), host('c', '10.0.0.3')])).toBe(R.NOERROR);
    const before = await state();
    // The first record alone would fit (it joins an RRset held); the update is refused as a whole.
    expect(await update([host('a', '10.0.0.11'), host('d', '10.0.0.4')])).toBe(R.REFUSED);
    expect(await state()).toEqual(before);
    expect(await answers('a.local', 'A')).toEqual(['10.0.0.1']);
    expect(await answers('d.local', 'A')).toEqual([]);
    expect(server.stats().updatesByOutcome).toMatchObject({ zonelimit: 1 });
  });

  it('passes an update that stays within the cap: one RRset deleted as another is added', async () => {
    expect(await update([host('a', '10.0.0.1'), host('b', '10.0.0.2'), host('c', '10.0.0.3')])).toBe(R.NOERROR);
    expect(await update([deleteRRset('a.local.', T.A), host('d', '10.0.0.4')])).toBe(R.NOERROR);
    expect(await answers('d.local', 'A')).toEqual(['10.0.0.4']);
    expect(zoneData.zone.size).toBe(3);
  });

  it('refuses an RRset over the record cap and changes nothing; a record added again still passes', async () => {
    expect(await update([host('multi', '10.0.0.1'), host('multi', '10.0.0.2')])).toBe(R.NOERROR);
    const before = await state();
    expect(await update([host('multi', '10.0.0.3')])).toBe(R.REFUSED);
    expect(await state()).toEqual(before);
    expect(await answers('multi.local', 'A')).toEqual(['10.0.0.1', '10.0.0.2']);
    // Adding a record that is there only updates the TTL: the RRset does not grow.
    expect(await update([add('multi.local.', T.A, rdata.a('10.0.0.2'), 30)])).toBe(R.NOERROR);
  });
});
