/**
 * Dynamic zone data through the control API: `GET /v1/zone` lists the RRsets DNS UPDATE keeps (owner, type
 * mnemonic and number, TTL, RDATA in presentation form, canonical order); `DELETE /v1/zone/:owner/:type`
 * removes one through the zone writer (durable in the store, applied, listeners told), and a bad owner or
 * type gets a stable error code and changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildControlApp } from '../../src/control/app.js';
import type { DynamicRRset } from '../../src/dns/dynamic-zone.js';
import { makeApp, makeDeps } from './harness.js';

type Made = Awaited<ReturnType<typeof makeApp>>;
let made: Made;

const b64 = (bytes: number[] | Buffer): string => Buffer.from(bytes).toString('base64');
/** A name in uncompressed wire form. */
const wireName = (text: string): Buffer => Buffer.concat([...text.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);

const HOST_A: DynamicRRset = { owner: 'host.beacon.local.', type: 1, ttl: 300, rdata: [b64([10, 0, 0, 7]), b64([10, 0, 0, 8])] };
const HOST_TXT: DynamicRRset = { owner: 'host.beacon.local.', type: 16, ttl: 60, rdata: [b64(Buffer.from('\x05hello\x0bworld "quo"'))] };
const APEX_MX: DynamicRRset = { owner: 'beacon.local.', type: 15, ttl: 3600, rdata: [b64(Buffer.concat([Buffer.from([0, 10]), wireName('mail.beacon.local')]))] };
const PRIVATE: DynamicRRset = { owner: 'a.host.beacon.local.', type: 65280, ttl: 5, rdata: [b64([0xde, 0xad])] };

beforeEach(async () => {
  made = await makeApp();
  await made.zoneData.write([PRIVATE, HOST_TXT, APEX_MX, HOST_A]);
});
afterEach(async () => {
  await made.close();
});

const list = async () => {
  const response = await made.app.inject({ method: 'GET', url: '/v1/zone' });
  expect(response.statusCode).toBe(200);
  return (response.json() as { rrsets: { owner: string; type: string; typeCode: number; ttl: number; rdata: string[] }[] }).rrsets;
};

describe('GET /v1/zone', () => {
  it('lists every RRset in canonical order with RDATA in presentation form', async () => {
    expect(await list()).toEqual([
      { owner: 'beacon.local.', type: 'MX', typeCode: 15, ttl: 3600, rdata: ['10 mail.beacon.local.'] },
      { owner: 'host.beacon.local.', type: 'A', typeCode: 1, ttl: 300, rdata: ['10.0.0.7', '10.0.0.8'] },
      { owner: 'host.beacon.local.', type: 'TXT', typeCode: 16, ttl: 60, rdata: ['"hello" "world \\"quo\\""'] },
      { owner: 'a.host.beacon.local.', type: 'TYPE65280', typeCode: 65280, ttl: 5, rdata: ['\\# 2 dead'] },
    ]);
  });

  it('lists nothing as an empty array, and refuses query parameters', async () => {
    const empty = await makeApp();
    try {
      const response = await empty.app.inject({ method: 'GET', url: '/v1/zone' });
      expect(response.json()).toEqual({ rrsets: [] });
      const bad = await empty.app.inject({ method: 'GET', url: '/v1/zone?owner=x' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    } finally {
      await empty.close();
    }
  });

  it('answers INVALID_ARGUMENT when the daemon offers no zone data', async () => {
    const deps = await makeDeps();
    const { zone: _zone, ...withoutZone } = deps.deps;
    const app = buildControlApp(withoutZone);
    try {
      const response = await app.inject({ method: 'GET', url: '/v1/zone' });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    } finally {
      await app.close();
      await deps.dispose();
    }
  });
});

describe('DELETE /v1/zone/:owner/:type', () => {
  it('deletes one RRset: gone from the listing and the store, listeners told, other RRsets kept', async () => {
    const told: string[][] = [];
    made.zoneData.zone.onChange((names) => told.push([...names]));
    const response = await made.app.inject({ method: 'DELETE', url: '/v1/zone/host.beacon.local./A' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ deleted: { owner: 'host.beacon.local.', type: 'A', typeCode: 1, ttl: 300, rdata: ['10.0.0.7', '10.0.0.8'] } });
    expect((await list()).map((s) => `${s.owner} ${s.type}`)).toEqual(['beacon.local. MX', 'host.beacon.local. TXT', 'a.host.beacon.local. TYPE65280']);
    expect(made.store.zoneSnapshot().map((s) => `${s.owner} ${s.type}`).sort()).toEqual(['a.host.beacon.local. 65280', 'beacon.local. 15', 'host.beacon.local. 16']);
    expect(told).toHaveLength(1);
  });

  it('takes the owner in any letter case, with or without its trailing dot, and the type as mnemonic, TYPEn or number', async () => {
    expect((await made.app.inject({ method: 'DELETE', url: '/v1/zone/HOST.Beacon.Local/txt' })).statusCode).toBe(200);
    expect((await made.app.inject({ method: 'DELETE', url: '/v1/zone/a.host.beacon.local./TYPE65280' })).statusCode).toBe(200);
    expect((await made.app.inject({ method: 'DELETE', url: '/v1/zone/beacon.local./15' })).statusCode).toBe(200);
    expect((await list()).map((s) => `${s.owner} ${s.type}`)).toEqual(['host.beacon.local. A']);
  });

  it.each([
    ['an unknown type mnemonic', '/v1/zone/host.beacon.local./BOGUS', 400, 'INVALID_ARGUMENT'],
    ['type 0', '/v1/zone/host.beacon.local./0', 400, 'INVALID_ARGUMENT'],
    ['a type above 65535', '/v1/zone/host.beacon.local./TYPE65536', 400, 'INVALID_ARGUMENT'],
    ['an owner outside the zone', '/v1/zone/host.example.com./A', 400, 'INVALID_ARGUMENT'],
    ['an owner that is no name', '/v1/zone/host..beacon.local./A', 400, 'INVALID_ARGUMENT'],
    ['an owner with a label over 63 octets', `/v1/zone/${'x'.repeat(64)}.beacon.local./A`, 400, 'INVALID_ARGUMENT'],
    ['an RRset not held (type)', '/v1/zone/host.beacon.local./AAAA', 404, 'NOT_FOUND'],
    ['an RRset not held (owner)', '/v1/zone/other.beacon.local./A', 404, 'NOT_FOUND'],
    ['a query parameter', '/v1/zone/host.beacon.local./A?force=1', 400, 'INVALID_ARGUMENT'],
  ])('refuses %s with a stable code and changes nothing', async (_what, url, status, code) => {
    const before = await list();
    const stored = made.store.zoneSnapshot();
    const response = await made.app.inject({ method: 'DELETE', url });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error: { code, message: expect.any(String) } });
    expect(await list()).toEqual(before);
    expect(made.store.zoneSnapshot()).toEqual(stored);
  });

  it('changes nothing when the store refuses the write', async () => {
    const before = await list();
    await made.store.close();
    const response = await made.app.inject({ method: 'DELETE', url: '/v1/zone/host.beacon.local./A' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
    expect(await list()).toEqual(before);
  });

  it('needs the read-write token when the API has one', async () => {
    const deps = await makeDeps();
    const app = buildControlApp(deps.deps, { token: 'secret', readToken: 'reader' });
    try {
      await deps.zoneData.write([HOST_A]);
      expect((await app.inject({ method: 'DELETE', url: '/v1/zone/host.beacon.local./A' })).json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      const reader = await app.inject({ method: 'DELETE', url: '/v1/zone/host.beacon.local./A', headers: { authorization: 'Bearer reader' } });
      expect(reader.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
      expect((await app.inject({ method: 'GET', url: '/v1/zone', headers: { authorization: 'Bearer reader' } })).json()).toMatchObject({ rrsets: [{ owner: 'host.beacon.local.' }] });
      const writer = await app.inject({ method: 'DELETE', url: '/v1/zone/host.beacon.local./A', headers: { authorization: 'Bearer secret' } });
      expect(writer.statusCode).toBe(200);
      expect(deps.zoneData.zone.size).toBe(0);
    } finally {
      await app.close();
      await deps.dispose();
    }
  });
});

describe('snapshots carry the zone data (version 2) and still read version 1', () => {
  const snapshotOf = async (from: Made) => {
    const response = await from.app.inject({ method: 'GET', url: '/v1/snapshot' });
    expect(response.statusCode).toBe(200);
    return response.json() as Record<string, unknown> & { version: number; zone?: DynamicRRset[] };
  };
  const put = (to: Made, payload: unknown) => to.app.inject({ method: 'PUT', url: '/v1/snapshot', payload: payload as Record<string, unknown> });

  it('GET writes version 2 with every RRset in its stored form; PUT makes the zone data exactly the document\'s', async () => {
    await made.durable.register('api', { id: 'a', address: '10.0.0.1', port: 80 });
    const document = await snapshotOf(made);
    expect(document).toMatchObject({ format: 'beacon-snapshot', version: 2, records: [{ service: 'api' }] });
    expect(document.zone).toEqual([PRIVATE, APEX_MX, HOST_A, HOST_TXT]);
    const target = await makeApp();
    try {
      await target.zoneData.write([{ owner: 'stale.beacon.local.', type: 1, ttl: 1, rdata: [b64([10, 9, 9, 9])] }, { ...HOST_A, ttl: 1, rdata: [b64([10, 1, 1, 1])] }]);
      const response = await put(target, document);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ instances: 1, zoneRRsets: 4 });
      expect(await target.app.inject({ method: 'GET', url: '/v1/zone' }).then((r) => r.json() as unknown)).toEqual(await made.app.inject({ method: 'GET', url: '/v1/zone' }).then((r) => r.json() as unknown));
      expect(target.store.zoneSnapshot().map((s) => `${s.owner} ${s.type}`).sort()).toEqual(['a.host.beacon.local. 65280', 'beacon.local. 15', 'host.beacon.local. 1', 'host.beacon.local. 16']);
    } finally {
      await target.close();
    }
  });

  it('writes version 1 when there is no zone data, and restoring a version 1 snapshot leaves the zone data as it is', async () => {
    const empty = await makeApp();
    try {
      await empty.durable.register('api', { id: 'v1', address: '10.0.0.2', port: 80 });
      const document = await snapshotOf(empty);
      expect(document.version).toBe(1);
      expect(document).not.toHaveProperty('zone');
      const response = await put(made, document);
      expect(response.statusCode).toBe(200);
      expect(response.json()).not.toHaveProperty('zoneRRsets');
      expect(await list()).toHaveLength(4);
      expect(made.registry.get('api', 'v1')).toBeDefined();
    } finally {
      await empty.close();
    }
  });

  it.each([
    ['an unknown version', { version: 3, zone: [] }, /reads versions 1 and 2/],
    ['zone data in version 1', { version: 1, zone: [] }, /zone data needs version 2/],
    ['a zone that is no array', { zone: {} }, /zone/],
    ['an owner that is no name', { zone: [{ ...HOST_A, owner: 'a..b.' }] }, /zone\[0\]: owner/],
    ['an owner outside the zone', { zone: [{ ...HOST_A, owner: 'host.example.com.' }] }, /zone\[0\] \(host\.example\.com\.\) is not in the zone/],
    ['type 0', { zone: [{ ...HOST_A, type: 0 }] }, /type must be an integer/],
    ['a negative TTL', { zone: [{ ...HOST_A, ttl: -1 }] }, /ttl must be an integer/],
    ['empty RDATA', { zone: [{ ...HOST_A, rdata: [] }] }, /rdata must be a non-empty array/],
    ['RDATA that is not base64', { zone: [{ ...HOST_A, rdata: ['not base64!'] }] }, /rdata\[0\] is not base64/],
    ['an unknown field', { zone: [{ ...HOST_A, class: 1 }] }, /unknown field "class"/],
    ['one RRset twice', { zone: [HOST_A, { ...HOST_A, owner: 'HOST.beacon.local.' }] }, /zone\[1\]: a second RRset/],
  ])('refuses %s with INVALID_ARGUMENT and changes nothing', async (_what, change, message) => {
    await made.durable.register('api', { id: 'kept', address: '10.0.0.3', port: 80 });
    const base: Record<string, unknown> = { format: 'beacon-snapshot', version: 2, index: 0, records: [], zone: [] };
    const document = { ...base, ...change };
    const zoneBefore = await list();
    const response = await put(made, document);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) } });
    expect(await list()).toEqual(zoneBefore);
    expect(made.registry.get('api', 'kept')).toBeDefined();
  });
});
