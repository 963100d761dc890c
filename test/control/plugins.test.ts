import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApp, RESOURCE_PLUGINS } from '../../src/control/app.js';
import type { ControlPlugin } from '../../src/control/plugin.js';
import type { RegistryReader } from '../../src/control/ports.js';
import { startControlServer } from '../../src/control/server.js';
import { ServiceNotFoundError } from '../../src/errors.js';
import { makeDeps, tempDir } from './harness.js';

const TOKEN = 'plugin-token-123456';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A stand-in for a future API (Consul-compatible, dashboard): it declares the one dependency it reads. */
function extraPlugin(closed: string[]): ControlPlugin<{ readonly registry: Pick<RegistryReader, 'index'> }> {
  return async (app, { registry }) => {
    app.addHook('preClose', async () => {
      closed.push('extra');
    });
    app.get('/extra/index', async () => ({ extraIndex: registry.index }));
    app.get('/extra/missing', async () => {
      throw new ServiceNotFoundError('ghost');
    });
    app.get('/extra/crash', async () => {
      throw new Error('bug in the plugin');
    });
    app.post<{ Body: { n: number } }>(
      '/extra/typed',
      { schema: { body: { type: 'object', required: ['n'], additionalProperties: false, properties: { n: { type: 'integer' } } } } },
      async (request) => ({ doubled: request.body.n * 2 }),
    );
  };
}

async function appWith(options: { token?: string } = {}) {
  const made = await makeDeps();
  const closed: string[] = [];
  const app = buildControlApp(made.deps, { ...options, plugins: [extraPlugin(closed)] });
  await app.ready();
  cleanups.push(made.dispose);
  cleanups.push(() => app.close());
  return { ...made, app, closed };
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('control app assembly', () => {
  it('serves an extra plugin next to the built-in resources, with the dependencies it declared', async () => {
    const { app, durable } = await appWith();
    await durable.register('api', { id: 'a', address: '10.0.0.1', port: 80 });
    const extra = await app.inject({ method: 'GET', url: '/extra/index' });
    expect(extra.statusCode).toBe(200);
    expect(extra.json()).toEqual({ extraIndex: 1 });
    const builtIn = await app.inject({ method: 'GET', url: '/v1/services' });
    expect(builtIn.json().services).toEqual([{ name: 'api', protocols: ['tcp'], instances: 1, healthy: 1 }]);
  });

  it('maps an extra plugin\'s errors like every other route', async () => {
    const { app } = await appWith();
    const missing = await app.inject({ method: 'GET', url: '/extra/missing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'SERVICE_NOT_FOUND', message: expect.stringContaining('ghost') } });
    const crash = await app.inject({ method: 'GET', url: '/extra/crash' });
    expect(crash.statusCode).toBe(500);
    expect(crash.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    const invalid = await app.inject({ method: 'POST', url: '/extra/typed', payload: { n: 'two' } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe('INVALID_ARGUMENT');
    const unknownField = await app.inject({ method: 'POST', url: '/extra/typed', payload: { n: 2, m: 3 } });
    expect(unknownField.json().error.message).toContain('"m"');
    const ok = await app.inject({ method: 'POST', url: '/extra/typed', payload: { n: 2 } });
    expect(ok.json()).toEqual({ doubled: 4 });
    const unknown = await app.inject({ method: 'GET', url: '/extra/nothing-here?x=1' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such endpoint: GET /extra/nothing-here' } });
  });

  it('authenticates an extra plugin\'s routes on a listener with a token, and unknown endpoints too', async () => {
    const { app } = await appWith({ token: TOKEN });
    for (const url of ['/extra/index', '/extra/nothing-here', '/v1/services']) {
      const anonymous = await app.inject({ method: 'GET', url });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json().error.code).toBe('UNAUTHORIZED');
    }
    const wrong = await app.inject({ method: 'GET', url: '/extra/index', headers: { authorization: 'Bearer wrong-token-0000' } });
    expect(wrong.statusCode).toBe(401);
    const authed = await app.inject({ method: 'GET', url: '/extra/index', headers: auth });
    expect(authed.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/extra/nothing-here', headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('runs an extra plugin\'s preClose hook when the app closes', async () => {
    const made = await makeDeps();
    cleanups.push(made.dispose);
    const closed: string[] = [];
    const app = buildControlApp(made.deps, { plugins: [extraPlugin(closed)] });
    await app.ready();
    expect(closed).toEqual([]);
    await app.close();
    expect(closed).toEqual(['extra']);
  });

  it('serves no extra routes unless given, and every built-in resource has its plugin', async () => {
    const made = await makeDeps();
    cleanups.push(made.dispose);
    const app = buildControlApp(made.deps);
    cleanups.push(() => app.close());
    await app.ready();
    expect((await app.inject({ method: 'GET', url: '/extra/index' })).statusCode).toBe(404);
    expect(RESOURCE_PLUGINS).toHaveLength(6);
    const routes = app.printRoutes({ commonPrefix: false });
    for (const url of ['/health', '/metrics', '/v1/stats', '/v1/info', '/v1/services', '/v1/watch', '/v1/events', '/v1/snapshot', '/v1/zone']) {
      expect(routes).toContain(url);
    }
  });

  it('startControlServer serves extra plugins on the socket and on the authenticated TCP listener', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const made = await makeDeps();
    cleanups.push(made.dispose);
    const closed: string[] = [];
    const server = await startControlServer(made.deps, {
      socketPath: path.join(tmp.dir, 'beacon.sock'),
      tcp: { host: '127.0.0.1', port: 0 },
      token: TOKEN,
      plugins: [extraPlugin(closed)],
    });
    cleanups.push(() => server.close());
    expect((await server.app.inject({ method: 'GET', url: '/extra/index' })).json()).toEqual({ extraIndex: 0 });
    const base = `http://127.0.0.1:${server.tcpAddress?.port}`;
    expect((await fetch(`${base}/extra/index`)).status).toBe(401);
    const authed = await fetch(`${base}/extra/index`, { headers: auth });
    expect(authed.status).toBe(200);
    expect(await authed.json()).toEqual({ extraIndex: 0 });
  });
});
