import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApp } from '../../src/control/app.js';
import { consulRoutes } from '../../src/control/consul/index.js';
import { makeDeps } from './harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Every route the app serves as `METHOD /path` (fastify's `:param` written as OpenAPI's `{param}`), HEAD aside. */
function servedRoutes(routes: readonly { method: string | string[]; url: string }[]): string[] {
  return routes
    .flatMap((route) => (Array.isArray(route.method) ? route.method : [route.method]).map((method) => `${method} ${route.url.replace(/:([A-Za-z]+)/g, '{$1}')}`))
    .filter((route) => !route.startsWith('HEAD '))
    .sort();
}

describe('OpenAPI document', () => {
  it('documents every route the daemon serves, with its parameters', async () => {
    const made = await makeDeps();
    cleanups.push(made.dispose);
    const app = buildControlApp(made.deps, { plugins: [consulRoutes] });
    const routes: { method: string | string[]; url: string }[] = [];
    // Routes are collected as they are added; the assembly registers every plugin after this hook is set.
    app.addHook('onRoute', (route) => void routes.push({ method: route.method, url: route.url }));
    cleanups.push(() => app.close());
    await app.ready();
    const res = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: unknown }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`)).sort();
    const served = servedRoutes(routes);
    expect(served.length).toBeGreaterThan(30);
    expect(documented).toEqual(served);
    expect(doc.paths['/v1/services/{service}/instances/{id}']?.put?.requestBody).toBeDefined();
    expect(doc.paths['/v1/agent/service/register']?.put?.requestBody).toBeDefined();
    expect(doc.paths['/v1/zone/{owner}/{type}']?.delete?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['owner', 'type']));
    expect(doc.paths['/v1/zone']?.get).toBeDefined();
    expect(doc.paths['/v1/health/service/{service}']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['service', 'index', 'wait', 'passing', 'tag']));
  });
});
