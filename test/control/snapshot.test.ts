/**
 * Snapshots travel in HTTP bodies: `GET /v1/snapshot` sends the registry, `PUT /v1/snapshot` restores a
 * document validated whole first. A bad document (a path where a document belongs, oversized, not JSON,
 * wrong format or version, a bad record) gets a stable error and changes nothing; and no route of the
 * control API takes a file path at all.
 */
import Fastify, { type RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_PLUGINS } from '../../src/control/app.js';
import { SNAPSHOT_BODY_LIMIT_BYTES } from '../../src/control/routes/snapshots.js';
import { makeApp, makeDeps } from './harness.js';

type Made = Awaited<ReturnType<typeof makeApp>>;
let source: Made;
let target: Made;

beforeAll(async () => {
  source = await makeApp();
  target = await makeApp();
  await source.durable.register('api', { id: 'a', address: '10.0.0.1', port: 80, tags: ['blue'] });
  await source.durable.register('api', { id: 'b', address: '10.0.0.2', port: 81 });
  await source.durable.register('web', { id: 'w', address: '10.0.0.3', port: 8080, metadata: { path: '/' } });
  await target.durable.register('old', { id: 'o', address: '10.0.0.9', port: 9 });
});
afterAll(async () => {
  await source.close();
  await target.close();
});

async function fetchSnapshot(made: Made) {
  const response = await made.app.inject({ method: 'GET', url: '/v1/snapshot' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return response.json() as { format: string; version: number; index: number; records: { service: string; spec: { id: string } }[] };
}

describe('snapshots in HTTP bodies', () => {
  it('GET sends the whole registry as a snapshot document', async () => {
    const document = await fetchSnapshot(source);
    expect(document).toMatchObject({ format: 'beacon-snapshot', version: 1, index: 3 });
    expect(document.records.map((r) => `${r.service}/${r.spec.id}`).sort()).toEqual(['api/a', 'api/b', 'web/w']);
  });

  it('PUT makes another registry hold exactly the same instances', async () => {
    const document = await fetchSnapshot(source);
    const response = await target.app.inject({ method: 'PUT', url: '/v1/snapshot', payload: document });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ instances: 3, changed: 4, snapshotIndex: 3 });
    const specs = (made: Made) => made.registry.records().map((r) => JSON.stringify([r.service, r.spec])).sort();
    expect(specs(target)).toEqual(specs(source));
  });

  describe('bad documents change nothing', () => {
    let good: Record<string, unknown>;
    beforeAll(async () => {
      good = await fetchSnapshot(source);
    });
    const cases: { name: string; payload: () => string | object; contentType?: string; status: number; code: string }[] = [
      { name: 'a server-side path instead of a document', payload: () => ({ file: '/etc/shadow' }), status: 400, code: 'INVALID_ARGUMENT' },
      { name: 'a path next to a document', payload: () => ({ ...good, file: '/tmp/x.json' }), status: 400, code: 'INVALID_ARGUMENT' },
      { name: 'a bare path string', payload: () => '"/etc/shadow"', status: 400, code: 'INVALID_ARGUMENT' },
      { name: 'not JSON', payload: () => '{"format": "beacon-snapshot", "version": 1, "records": [', status: 400, code: 'INVALID_ARGUMENT' },
      { name: 'an array', payload: () => '[]', status: 400, code: 'INVALID_ARGUMENT' },
      { name: 'the wrong format marker', payload: () => ({ ...good, format: 'consul-snapshot' }), status: 400, code: 'INVALID_ARGUMENT' },
      { name: 'a future version', payload: () => ({ ...good, version: 2 }), status: 400, code: 'INVALID_ARGUMENT' },
      { name: 'a version as a string', payload: () => ({ ...good, version: '1' }), status: 400, code: 'INVALID_ARGUMENT' },
      { name: 'records not an array', payload: () => ({ ...good, records: {} }), status: 400, code: 'INVALID_ARGUMENT' },
      {
        name: 'one bad record among good ones (port 0)',
        payload: () => ({ ...good, records: [...(good.records as object[]), { ...(good.records as { spec: object }[])[0], spec: { ...(good.records as { spec: object }[])[0]!.spec, id: 'z', port: 0 } }] }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      { name: 'a form body', payload: () => 'file=/etc/shadow', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: `oversized (over ${SNAPSHOT_BODY_LIMIT_BYTES / 1024 / 1024} MiB)`, payload: () => `{"pad":"${'x'.repeat(SNAPSHOT_BODY_LIMIT_BYTES)}"}`, status: 413, code: 'PAYLOAD_TOO_LARGE' },
    ];

    it.each(cases)('$name -> $status $code', async (c) => {
      const before = { index: target.registry.index, records: JSON.stringify(target.registry.records()) };
      const payload = c.payload();
      const response = await target.app.inject({
        method: 'PUT',
        url: '/v1/snapshot',
        headers: { 'content-type': c.contentType ?? 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      expect({ status: response.statusCode, code: response.json().error?.code }).toEqual({ status: c.status, code: c.code });
      // The message never echoes a file's content, and names no schema path.
      expect(response.json().error.message).not.toMatch(/root:|^body/);
      expect(target.registry.index).toBe(before.index);
      expect(JSON.stringify(target.registry.records())).toBe(before.records);
    });

    it('the old path-taking routes are gone', async () => {
      for (const url of ['/v1/snapshot/save', '/v1/snapshot/restore']) {
        const response = await target.app.inject({ method: 'POST', url, payload: { file: '/tmp/beacon-snapshot.json' } });
        expect(response.statusCode).toBe(404);
        expect(response.json().error.code).toBe('NOT_FOUND');
      }
    });
  });
});

/** Every property name anywhere in a JSON schema (nested objects, arrays, combinators). */
function propertyNames(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const names: string[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if ((key === 'properties' || key === 'patternProperties') && typeof value === 'object' && value !== null) names.push(...Object.keys(value));
    names.push(...propertyNames(value));
  }
  return names;
}

describe('no route takes a file path', () => {
  it('finds no file or path property in any body, query or params schema of the built-in routes', async () => {
    const made = await makeDeps();
    const app = Fastify();
    const routes: RouteOptions[] = [];
    app.addHook('onRoute', (route) => {
      routes.push(route);
    });
    for (const plugin of RESOURCE_PLUGINS) await app.register(plugin, made.deps);
    await app.ready();
    try {
      expect(routes.length).toBeGreaterThan(10);
      for (const route of routes) {
        const schema = route.schema ?? {};
        const names = [schema.body, schema.querystring, schema.params, schema.headers].flatMap(propertyNames);
        expect({ route: `${String(route.method)} ${route.url}`, suspicious: names.filter((n) => /file|path|dir/i.test(n)) }).toEqual({
          route: `${String(route.method)} ${route.url}`,
          suspicious: [],
        });
      }
      // Routes that accept a body declare its schema, so the scan above sees what they take.
      for (const route of routes.filter((r) => [r.method].flat().some((m) => m === 'PUT' || m === 'POST'))) {
        expect({ route: route.url, hasBody: route.schema?.body !== undefined }).toEqual({ route: route.url, hasBody: true });
      }
    } finally {
      await app.close();
      await made.dispose();
    }
  });
});
