/**
 * The control API's zone writers and DNS UPDATE take turns on the zone data (daemon/zone-data.ts,
 * `exclusive`): an UPDATE that arrives while an API deletion is still being written plans from the data
 * after that deletion, so it cannot bring the deleted records back. Real server on 127.0.0.1 port 0, a memory
 * store whose zone writes wait for the test to let them through.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openZoneData, type ZoneData } from '../../src/daemon/zone-data.js';
import { zonePort } from '../../src/daemon/zone-port.js';
import type { ZonePort } from '../../src/control/ports.js';
import { parseDomain } from '../../src/dns/authority.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { parseTsigKey } from '../../src/dns/update/tsig.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { ZoneRecordSet } from '../../src/store/zone-data.js';
import { T, add, rcodeOf, rdata, sendUdp, sign, updateMessage, type TestKey } from '../dns/update-messages.js';

const KEY: TestKey = { name: 'turns-key', algorithm: 'hmac-sha256', secret: Buffer.from('zone writers take turns, 32 oct!') };

/** A memory store whose zone writes wait while the gate is shut. */
class GatedStore extends MemoryStore {
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;
  /** Zone writes started so far. */
  zoneWrites = 0;
  shut(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }
  open(): void {
    this.openGate();
  }
  override async writeZone(sets: readonly ZoneRecordSet[]): Promise<void> {
    this.zoneWrites++;
    await this.gate;
    return super.writeZone(sets);
  }
}

let store: GatedStore;
let durable: DurableRegistry;
let view: ReturnType<typeof createRegistryView>;
let zoneData: ZoneData;
let server: DnsServer;
let port: ZonePort;
/** Called when an UPDATE asks for its turn on the zone data. */
let onTurnAsked: () => void;

beforeEach(async () => {
  store = new GatedStore();
  durable = await DurableRegistry.open(new ServiceRegistry(), store);
  view = createRegistryView(durable.registry);
  zoneData = await openZoneData(store, parseDomain('local.'));
  port = zonePort(zoneData, parseDomain('local.'));
  onTurnAsked = () => undefined;
  server = await startDnsServer({
    view,
    listen: [{ host: '127.0.0.1', port: 0 }],
    zones: [],
    zoneData: zoneData.zone,
    update: {
      writer: durable,
      keys: [parseTsigKey(`${KEY.name}:${KEY.algorithm}:${KEY.secret.toString('base64')}`)],
      zoneWriter: (sets) => zoneData.write(sets),
      zoneExclusive: <R>(task: () => Promise<R>) => {
        onTurnAsked();
        return zoneData.exclusive(task);
      },
    },
  });
});
afterEach(async () => {
  store.open();
  await server.close();
  zoneData.close();
  view.dispose();
  await durable.close();
});

const update = async (address: string): Promise<number> =>
  rcodeOf(await sendUdp(server.addresses.udp[0]!.port, sign(updateMessage({ updates: [add('printer.local.', T.A, rdata.a(address))] }), KEY, Math.floor(Date.now() / 1000)).signed));

describe('zone writers take turns', () => {
  it('an UPDATE arriving during an API deletion plans from the data after it: the deleted record stays deleted', async () => {
    expect(await update('10.0.0.1')).toBe(0);
    const turnAsked = new Promise<void>((resolve) => (onTurnAsked = resolve));
    store.shut();
    const deletion = port.remove('printer.local.', T.A);
    const added = update('10.0.0.2');
    await turnAsked; // the UPDATE asked for its turn while the deletion's store write is held
    store.open();
    expect(await deletion).toMatchObject({ owner: 'printer.local.', rdata: ['10.0.0.1'] });
    expect(await added).toBe(0);
    const stored = await store.loadZone();
    expect(stored.map((s) => s.rdata.map((r) => [...Buffer.from(r, 'base64')].join('.')))).toEqual([['10.0.0.2']]);
    expect(port.list().map((s) => s.rdata)).toEqual([['10.0.0.2']]);
  });
});
