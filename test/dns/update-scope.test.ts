/**
 * TSIG keys limited to services (`--tsig-key-services`): an update signed with such a key may touch only names
 * at or under `_S._P.D` of its services; one record elsewhere refuses the whole update (RFC 2136 §3.3) and
 * changes nothing. Against a real server on 127.0.0.1 port 0 with a real registry behind the write path.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { MemoryStore } from '../../src/store/memory.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { parseKeyScope, parseTsigKey, type TsigKey } from '../../src/dns/update/tsig.js';
import { loadConfig } from '../../src/config.js';
import { T, add, deleteRRset, rcodeOf, rdata, replyMacValid, sendUdp, sign, updateMessage, type TestKey, type TestRecord } from './update-messages.js';

const PRINTERS: TestKey = { name: 'printers', algorithm: 'hmac-sha256', secret: Buffer.from('printer key secret, 32 octets ok') };
const ADMIN: TestKey = { name: 'admin', algorithm: 'hmac-sha256', secret: Buffer.from('admin key secret, also 32 octets') };
const keyOf = (k: TestKey, ...services: string[]): TsigKey => {
  const key = parseTsigKey(`${k.name}:${k.algorithm}:${k.secret.toString('base64')}`);
  return services.length ? { ...key, scope: services.map((s) => parseKeyScope(`${k.name}=${s}`).scope) } : key;
};
const srv = (id: string, service: string, port = 631): TestRecord => add(`${id}.${service}.local.`, T.SRV, rdata.srv(0, 1, port, '10-0-0-1.addr.local.'));

let registry: ServiceRegistry;
let durable: DurableRegistry;
let server: DnsServer;
let view: ReturnType<typeof createRegistryView>;

beforeEach(async () => {
  registry = new ServiceRegistry();
  durable = await DurableRegistry.open(registry, new MemoryStore());
  view = createRegistryView(registry);
  server = await startDnsServer({
    view,
    listen: [{ host: '127.0.0.1', port: 0 }],
    zones: [],
    // `ipp` on both protocols, `http` on tcp only; `admin` is not limited.
    update: { writer: durable, keys: [keyOf(PRINTERS, 'ipp', '_http._tcp'), keyOf(ADMIN)] },
  });
});
afterEach(async () => {
  await server.close();
  view.dispose();
  await durable.close();
});

const send = async (key: TestKey, updates: TestRecord[]): Promise<number> => {
  const { signed, mac } = sign(updateMessage({ updates }), key, Math.floor(Date.now() / 1000));
  const reply = await sendUdp(server.addresses.udp[0]!.port, signed);
  expect(replyMacValid(reply, mac, key)).toBe(true); // refused or not, the reply is signed
  return rcodeOf(reply);
};
const ids = (service: string): string[] => [...(registry.serviceRecords(service)?.keys() ?? [])];

describe('a TSIG key limited to services', () => {
  it('updates names under its services: both protocols of `ipp`, tcp of `http`, the service PTR included', async () => {
    expect(await send(PRINTERS, [add('_ipp._tcp.local.', T.PTR, rdata.ptr('p1._ipp._tcp.local.')), srv('p1', '_ipp._tcp')])).toBe(0);
    expect(await send(PRINTERS, [srv('p2', '_ipp._udp')])).toBe(0);
    expect(await send(PRINTERS, [srv('h1', '_http._tcp', 80)])).toBe(0);
    expect(await send(PRINTERS, [deleteRRset('p2._ipp._udp.local.', T.SRV)])).toBe(0);
    expect([ids('ipp'), ids('http')]).toEqual([['p1'], ['h1']]);
  });

  it.each([
    ['another service', [srv('x1', '_ssh._tcp', 22)]],
    ['a protocol its service is not given for', [srv('h2', '_http._udp', 80)]],
    ['one record of several outside (all or nothing)', [srv('p3', '_ipp._tcp'), srv('x2', '_ssh._tcp', 22)]],
    ['a host name beside its instance', [add('p4._ipp._tcp.local.', T.SRV, rdata.srv(0, 1, 631, 'host4.local.')), add('host4.local.', T.A, Buffer.from([10, 0, 0, 4]))]],
    ['the zone apex', [deleteRRset('local.', T.TXT)]],
    ['a name in the zone that is not a service', [deleteRRset('_tcp.local.', T.PTR)]],
  ])('is REFUSED for %s, and nothing changes', async (_what, updates) => {
    expect(await send(PRINTERS, [srv('keep', '_ipp._tcp')])).toBe(0);
    const before = registry.records().map((r) => `${r.service}/${r.spec.id}`).sort();
    expect(await send(PRINTERS, updates)).toBe(5);
    expect(registry.records().map((r) => `${r.service}/${r.spec.id}`).sort()).toEqual(before);
    expect(server.stats().updatesByOutcome).toMatchObject({ outofscope: 1 });
  });

  it('does not limit other keys', async () => {
    expect(await send(ADMIN, [srv('x1', '_ssh._tcp', 22)])).toBe(0);
    expect(ids('ssh')).toEqual(['x1']);
    expect(server.stats().updatesByOutcome).toEqual({ accepted: 1 });
  });
});

describe('--tsig-key-services', () => {
  const env = { BEACON_TSIG_KEY: `printers:hmac-sha256:${PRINTERS.secret.toString('base64')},admin:hmac-sha256:${ADMIN.secret.toString('base64')}` };
  it('attaches the services to the named key only', () => {
    const config = loadConfig({ env: { ...env, BEACON_TSIG_KEY_SERVICES: 'printers=ipp,Printers.=_HTTP._tcp' } });
    expect(config.tsigKeys.map((k) => k.scope)).toEqual([[{ service: 'ipp' }, { service: 'http', protocol: 'tcp' }], undefined]);
  });

  it.each([
    ['nobody=ipp', /^tsigKeyServices: no --tsig-key is named nobody\./],
    ['printers', /^tsigKeyServices: .*is not key=service/],
    ['printers=_ipp._sctp', /^tsigKeyServices: .*is not a service name/],
    ['printers=i p p', /^tsigKeyServices: .*is not a service name/],
  ])('refuses %s with a clear error', (value, message) => {
    expect(() => loadConfig({ env: { ...env, BEACON_TSIG_KEY_SERVICES: value } })).toThrow(message);
  });
});
