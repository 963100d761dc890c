/** The dashboard's routes: the page and assets (public, so the login form can load), the overview read and the circuit reset. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApp } from '../../src/control/app.js';
import { dashboardRoutes } from '../../src/control/routes/dashboard.js';
import { makeDeps } from './harness.js';

const TOKEN = 'dashboard-token-123';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function appWith(token?: string) {
  const made = await makeDeps({}, { failureThreshold: 2, openTimeoutMs: 60_000 });
  const deps = { ...made.deps, info: () => ({ domain: 'example.test.', dns: { udp: ['127.0.0.1:8053'] } }) };
  const app = buildControlApp(deps, { ...(token ? { token } : {}), plugins: [dashboardRoutes] });
  await app.ready();
  cleanups.push(made.dispose, () => app.close());
  return { ...made, app };
}

describe('dashboard routes', () => {
  it('serves the page and its assets without a credential on the TCP listener, and nothing else', async () => {
    const { app } = await appWith(TOKEN);
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<script type="module" src="/dashboard/main.js">');
    const script = await app.inject({ method: 'GET', url: '/dashboard/main.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/); // no CDN: the page loads offline
    expect((await app.inject({ method: 'GET', url: '/dashboard/../../package.json' })).statusCode).not.toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/dashboard' })).statusCode).toBe(401);
  });

  it('reads every instance with its health, TTL lapse, circuit and DNS facts in one overview', async () => {
    const { app, durable, balancer } = await appWith();
    await durable.register('api', { id: 'a1', address: '10.0.0.1', port: 80, tags: ['blue'], metadata: { zone: 'a' }, ttlMs: 10_000 });
    await durable.register('api', { id: 'a2', address: '10.0.0.2', port: 81, check: { type: 'http', url: 'http://10.0.0.2/health' } });
    await durable.setMaintenance('api', 'a1', true, 'patching');
    balancer.reportFailure('api', 'a2');
    balancer.reportFailure('api', 'a2');
    const response = await app.inject({ method: 'GET', url: '/v1/dashboard' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.dns).toEqual({ domain: 'example.test.', servers: ['127.0.0.1:8053'] });
    expect(body.services).toHaveLength(1);
    const [a1, a2] = body.services[0].instances;
    expect(a1).toMatchObject({ id: 'a1', tags: ['blue'], metadata: { zone: 'a' }, maintenance: true, maintenanceReason: 'patching', servable: false, circuit: 'closed', halfOpenAt: null });
    expect(a1.lapseAt - a1.lastHeartbeat).toBe(10_000);
    expect(a2).toMatchObject({ id: 'a2', check: { type: 'http' }, lapseAt: null, circuit: 'open' });
    expect(a2.halfOpenAt).toBeGreaterThan(body.now);
    expect(a2.halfOpenAt).toBeLessThanOrEqual(body.now + 60_000);
  });

  it('resets a circuit, and names a missing instance', async () => {
    const { app, durable, balancer } = await appWith();
    await durable.register('api', { id: 'a1', address: '10.0.0.1', port: 80 });
    balancer.reportFailure('api', 'a1');
    balancer.reportFailure('api', 'a1');
    expect(balancer.circuitState('api', 'a1')).toBe('open');
    const reset = await app.inject({ method: 'POST', url: '/v1/services/API/instances/a1/circuit/reset' });
    expect(reset.statusCode).toBe(200);
    expect(reset.json()).toEqual({ service: 'api', id: 'a1', circuit: 'closed' });
    expect(balancer.circuitState('api', 'a1')).toBe('closed');
    // Failures before the reset are forgotten: one more does not reopen it.
    balancer.reportFailure('api', 'a1');
    expect(balancer.circuitState('api', 'a1')).toBe('closed');
    const missing = await app.inject({ method: 'POST', url: '/v1/services/api/instances/zz/circuit/reset' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('INSTANCE_NOT_FOUND');
  });

  it('streams circuit transitions, and ends the stream when the app closes', async () => {
    const { app, durable, balancer } = await appWith();
    await durable.register('api', { id: 'a1', address: '10.0.0.1', port: 80 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    let text = '';
    const received = (needle: string): Promise<void> => new Promise((resolve) => {
      const check = (): void => {
        if (text.includes(needle)) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
    const ended = new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/v1/dashboard/circuits' }, (response) => {
        expect(response.headers['content-type']).toBe('text/event-stream');
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', resolve);
      }).on('error', reject);
    });
    await received('event: hello');
    balancer.reportFailure('api', 'a1');
    balancer.reportFailure('api', 'a1');
    await received('event: circuit');
    expect(text).toContain(`data: ${JSON.stringify({ service: 'api', id: 'a1', from: 'closed', to: 'open' })}`);
    await app.close();
    await ended;
  });
});
