import { afterEach, describe, expect, it } from 'vitest';
import { makeApp } from './harness.js';

type Made = Awaited<ReturnType<typeof makeApp>>;
let made: Made | undefined;
afterEach(async () => {
  await made?.close();
  made = undefined;
});

const json = (body: unknown) => ({ payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('control API (inject)', () => {
  it('registers, reads, lists, resolves and deregisters an instance', async () => {
    made = await makeApp();
    const { app, registry } = made;
    const put = await app.inject({ method: 'PUT', url: '/v1/services/API/instances/web-1', ...json({ address: '10.0.0.1', port: 8080, tags: ['v2'], metadata: { zone: 'a' } }) });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ index: 1, instance: { service: 'api', id: 'web-1', port: 8080, health: 'healthy', circuit: 'closed', tags: ['v2'], metadata: { zone: 'a' } } });
    expect(registry.get('api', 'web-1')?.spec.address).toBe('10.0.0.1');

    const get = await app.inject({ method: 'GET', url: '/v1/services/api/instances/web-1' });
    expect(get.json().instance.id).toBe('web-1');
    const services = await app.inject({ method: 'GET', url: '/v1/services' });
    expect(services.json()).toEqual({ index: 1, services: [{ name: 'api', protocols: ['tcp'], instances: 1, healthy: 1 }] });
    const list = await app.inject({ method: 'GET', url: '/v1/services/api/instances?tag=v2&healthy=true' });
    expect(list.json().instances.map((i: { id: string }) => i.id)).toEqual(['web-1']);
    const none = await app.inject({ method: 'GET', url: '/v1/services/api/instances?tag=v3' });
    expect(none.json().instances).toEqual([]);
    const resolved = await app.inject({ method: 'GET', url: '/v1/services/api/resolve?strategy=random' });
    expect(resolved.json().instance.id).toBe('web-1');

    const del = await app.inject({ method: 'DELETE', url: '/v1/services/api/instances/web-1' });
    expect(del.statusCode).toBe(200);
    expect(registry.records()).toEqual([]);
    // A service whose last instance left lists as empty, and a second deregister succeeds (Consul semantics).
    const gone = await app.inject({ method: 'GET', url: '/v1/services/api/instances' });
    expect(gone.statusCode).toBe(200);
    expect(gone.json()).toEqual({ index: 2, service: 'api', instances: [] });
    const again = await app.inject({ method: 'DELETE', url: '/v1/services/api/instances/web-1' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ index: 2, deregistered: { service: 'api', id: 'web-1' }, removed: false });
    expect((await app.inject({ method: 'GET', url: '/v1/services/api/resolve' })).json().error.code).toBe('SERVICE_NOT_FOUND');
  });

  it('heartbeat fail/pass, health, maintenance change what resolve returns', async () => {
    made = await makeApp();
    const { app } = made;
    await app.inject({ method: 'PUT', url: '/v1/services/api/instances/a', ...json({ address: '10.0.0.1', port: 80 }) });
    const fail = await app.inject({ method: 'POST', url: '/v1/services/api/instances/a/heartbeat', ...json({ status: 'fail', note: 'disk full' }) });
    expect(fail.json().health).toBe('unhealthy');
    expect((await app.inject({ method: 'GET', url: '/v1/services/api/resolve' })).statusCode).toBe(404);
    const pass = await app.inject({ method: 'POST', url: '/v1/services/api/instances/a/heartbeat', ...json({}) });
    expect(pass.json().health).toBe('healthy');
    const maint = await app.inject({ method: 'PUT', url: '/v1/services/api/instances/a/maintenance', ...json({ enabled: true, reason: 'upgrade' }) });
    expect(maint.json().instance).toMatchObject({ maintenance: true, maintenanceReason: 'upgrade' });
    expect((await app.inject({ method: 'GET', url: '/v1/services/api/resolve' })).statusCode).toBe(404);
    await app.inject({ method: 'PUT', url: '/v1/services/api/instances/a/maintenance', ...json({ enabled: false }) });
    const health = await app.inject({ method: 'PUT', url: '/v1/services/api/instances/a/health', ...json({ health: 'unhealthy', note: 'manual' }) });
    expect(health.json().instance).toMatchObject({ health: 'unhealthy', note: 'manual' });
    const unhealthyToo = await app.inject({ method: 'GET', url: '/v1/services/api/resolve?healthy=false' });
    expect(unhealthyToo.json().instance.id).toBe('a');
  });

  it('opens a circuit after the reported failures and shows it in listings', async () => {
    made = await makeApp();
    const { app } = made;
    await app.inject({ method: 'PUT', url: '/v1/services/api/instances/a', ...json({ address: '10.0.0.1', port: 80 }) });
    await app.inject({ method: 'PUT', url: '/v1/services/api/instances/b', ...json({ address: '10.0.0.2', port: 80 }) });
    let last;
    for (let i = 0; i < 5; i++) last = await app.inject({ method: 'POST', url: '/v1/services/api/instances/a/report', ...json({ outcome: 'failure' }) });
    expect(last!.json()).toEqual({ service: 'api', id: 'a', circuit: 'open' });
    const list = await app.inject({ method: 'GET', url: '/v1/services/api/instances' });
    expect(list.json().instances.map((i: { id: string; circuit: string }) => [i.id, i.circuit])).toEqual([['a', 'open'], ['b', 'closed']]);
    for (let i = 0; i < 4; i++) expect((await app.inject({ method: 'GET', url: '/v1/services/api/resolve' })).json().instance.id).toBe('b');
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('beacon_breaker_transitions_total{from="closed",to="open"} 1');
    expect(metrics.body).toContain('beacon_reports_total{outcome="failure"} 5');
  });

  it('answers liveness, stats, info and Prometheus metrics', async () => {
    made = await makeApp();
    const { app } = made;
    await app.inject({ method: 'PUT', url: '/v1/services/api/instances/a', ...json({ address: '10.0.0.1', port: 80 }) });
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok', index: 1 });
    expect((await app.inject({ method: 'GET', url: '/v1/stats' })).json().registry).toMatchObject({ totalServices: 1, totalInstances: 1, healthyInstances: 1, index: 1 });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('# TYPE beacon_registrations_total counter');
    expect(metrics.body).toContain('beacon_registrations_total{kind="new"} 1');
    expect(metrics.body).toContain('beacon_instances{health="healthy"} 1');
  });

  it('long-polls the change index', async () => {
    made = await makeApp();
    const { app } = made;
    const immediate = await app.inject({ method: 'GET', url: '/v1/watch' });
    expect(immediate.json()).toEqual({ index: 0, events: [], reset: false });
    const pending = app.inject({ method: 'GET', url: '/v1/watch?index=0&wait=10s' });
    await app.inject({ method: 'PUT', url: '/v1/services/api/instances/a', ...json({ address: '10.0.0.1', port: 80 }) });
    const answer = (await pending).json();
    expect(answer.index).toBe(1);
    expect(answer.events).toEqual([{ index: 1, type: 'register', service: 'api', id: 'a', health: 'healthy', maintenance: false, removed: false }]);
    const timedOut = await app.inject({ method: 'GET', url: '/v1/watch?index=1&wait=20ms' });
    expect(timedOut.json()).toEqual({ index: 1, events: [], reset: false });
  });

  it('names an unknown field in the error message', async () => {
    made = await makeApp();
    const response = await made.app.inject({ method: 'PUT', url: '/v1/services/api/instances/a', ...json({ address: '10.0.0.1', port: 80, wieght: 3 }) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toBe('unknown field "wieght"');
  });
});
