import { afterEach, describe, expect, it } from 'vitest';
import { parseGoDuration } from '../../src/control/consul/definition.js';
import { buildControlApp } from '../../src/control/app.js';
import { consulRoutes } from '../../src/control/consul/index.js';
import { makeDeps } from './harness.js';

/** The control app with the Consul plugin, as the daemon assembles it. */
async function makeApp(options: { token?: string } = {}) {
  const made = await makeDeps();
  const app = buildControlApp(made.deps, { ...options, plugins: [consulRoutes] });
  await app.ready();
  return { ...made, app, close: async () => { await app.close(); await made.dispose(); } };
}

type Made = Awaited<ReturnType<typeof makeApp>>;
let made: Made | undefined;
afterEach(async () => {
  await made?.close();
  made = undefined;
});

const json = (body: unknown) => ({ payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** Register through the Consul route and expect Consul's empty 200. */
async function consulRegister(app: Made['app'], body: unknown): Promise<void> {
  const res = await app.inject({ method: 'PUT', url: '/v1/agent/service/register', ...json(body) });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.body).toBe('');
}

const web1 = {
  ID: 'web1',
  Name: 'web',
  Tags: ['primary', 'v1'],
  Address: '10.0.0.1',
  Port: 8000,
  Meta: { version: '1.0' },
  Weights: { Passing: 10, Warning: 1 },
  EnableTagOverride: true,
  Check: { TTL: '15s', DeregisterCriticalServiceAfter: '90m' },
};

describe('Consul-compatible API', () => {
  it('registers with Consul field names into the one registry, and lists it in the agent view', async () => {
    made = await makeApp();
    const { app, registry } = made;
    await consulRegister(app, web1);
    const record = registry.get('web', 'web1');
    expect(record?.spec).toMatchObject({ address: '10.0.0.1', port: 8000, tags: ['primary', 'v1'], metadata: { version: '1.0' }, weight: 10, check: { type: 'ttl', ttlMs: 15_000 } });
    // Consul starts a check critical unless Status says otherwise.
    expect(record?.health).toBe('unhealthy');

    const services = await app.inject({ method: 'GET', url: '/v1/agent/services' });
    expect(services.statusCode).toBe(200);
    expect(services.json()).toEqual({
      web1: { ID: 'web1', Service: 'web', Tags: ['primary', 'v1'], Meta: { version: '1.0' }, Port: 8000, Address: '10.0.0.1', Weights: { Passing: 10, Warning: 1 }, EnableTagOverride: false, Datacenter: 'dc1' },
    });
    const one = await app.inject({ method: 'GET', url: '/v1/agent/service/web1' });
    expect(one.json()).toMatchObject({ ID: 'web1', Service: 'web', Port: 8000 });
    const missing = await app.inject({ method: 'GET', url: '/v1/agent/service/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('INSTANCE_NOT_FOUND');
  });

  it('reads bodies as JSON whatever their content type, as Consul does', async () => {
    made = await makeApp();
    const { app, registry } = made;
    const form = await app.inject({ method: 'PUT', url: '/v1/agent/service/register', payload: JSON.stringify({ Name: 'web', Port: 80 }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.statusCode, form.body).toBe(200);
    const text = await app.inject({ method: 'PUT', url: '/v1/agent/service/register', payload: JSON.stringify({ Name: 'api', Port: 81 }), headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode, text.body).toBe(200);
    expect(registry.records().map((r) => r.service).sort()).toEqual(['api', 'web']);
    const bad = await app.inject({ method: 'PUT', url: '/v1/agent/service/register', payload: '{"Name":', headers: { 'content-type': 'text/plain' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('INVALID_ARGUMENT');
  });

  it('decodes field names as Consul does: any letter case, snake_case, ID defaulting to Name', async () => {
    made = await makeApp();
    const { app, registry } = made;
    await consulRegister(app, { name: 'api', port: 9000, tags: ['x'], check: { http: 'http://127.0.0.1:9/health', interval: '10s', timeout: '1s', deregister_critical_service_after: '1m' } });
    const record = registry.get('api', 'api');
    expect(record?.spec.check).toEqual({ type: 'http', url: 'http://127.0.0.1:9/health', intervalMs: 10_000, timeoutMs: 1000 });
    expect(record?.spec.address).toBe('127.0.0.1');
    // Beacon probes HTTP checks itself and starts them unknown, shown as Consul's warning.
    expect(record?.health).toBe('unknown');
    await consulRegister(app, { Name: 'db', ID: 'db-1', Port: 5432, Checks: [{ TCP: '127.0.0.1:5432', Interval: '5s' }] });
    expect(registry.get('db', 'db-1')?.spec.check).toEqual({ type: 'tcp', host: '127.0.0.1', port: 5432, intervalMs: 5000 });
  });

  it('refuses what Beacon cannot carry with a stable error, changing nothing', async () => {
    made = await makeApp();
    const { app, registry } = made;
    const cases = [
      { Port: 80 },
      { Name: 'web', Port: 80, Check: { TTL: '10s' }, Checks: [{ TTL: '5s' }] },
      { Name: 'web' },
      { Name: 'web', Port: 80, Check: { TTL: 'ten seconds' } },
      { Name: 'web', Port: 80, Check: { Args: ['/bin/true'], Interval: '10s' } },
      { Name: 'web_1', Port: 80 },
    ];
    for (const body of cases) {
      const res = await app.inject({ method: 'PUT', url: '/v1/agent/service/register', ...json(body) });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('INVALID_ARGUMENT');
    }
    expect(registry.records()).toEqual([]);
    expect(registry.index).toBe(0);
  });

  it('moves an ID registered again under another name, and deregisters idempotently', async () => {
    made = await makeApp();
    const { app, registry } = made;
    await consulRegister(app, { ID: 'x1', Name: 'alpha', Port: 80 });
    await consulRegister(app, { ID: 'x1', Name: 'beta', Port: 81 });
    expect(registry.records().map((r) => `${r.service}/${r.spec.id}:${r.spec.port}`)).toEqual(['beta/x1:81']);
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'PUT', url: '/v1/agent/service/deregister/x1' });
      expect(res.statusCode).toBe(200);
    }
    expect(registry.records()).toEqual([]);
  });

  it("keeps apart an id that Beacon's own API put in two services", async () => {
    made = await makeApp();
    const { app } = made;
    for (const service of ['alpha', 'beta']) {
      await app.inject({ method: 'PUT', url: `/v1/services/${service}/instances/x1`, ...json({ address: '10.0.0.1', port: 80 }) });
    }
    expect(Object.keys((await app.inject({ method: 'GET', url: '/v1/agent/services' })).json()).sort()).toEqual(['alpha/x1', 'beta/x1']);
    const ambiguous = await app.inject({ method: 'GET', url: '/v1/agent/service/x1' });
    expect(ambiguous.statusCode).toBe(409);
    expect(ambiguous.json().error.code).toBe('NAME_CONFLICT');
    expect((await app.inject({ method: 'PUT', url: '/v1/agent/service/maintenance/x1?enable=true' })).statusCode).toBe(409);
    // Registering the ID through the Consul API moves it: afterwards it names one instance again.
    await consulRegister(app, { ID: 'x1', Name: 'gamma', Port: 81 });
    expect(Object.keys((await app.inject({ method: 'GET', url: '/v1/agent/services' })).json())).toEqual(['x1']);
  });

  it('maps TTL check pass, warn, fail and update onto Beacon health; warning is out of DNS and of ?passing', async () => {
    made = await makeApp();
    const { app, registry } = made;
    await consulRegister(app, web1);
    const statusOf = async (): Promise<string> => {
      const checks = await app.inject({ method: 'GET', url: '/v1/health/checks/web' });
      return checks.json()[0].Status as string;
    };
    const passingIds = async (): Promise<string[]> => {
      const res = await app.inject({ method: 'GET', url: '/v1/health/service/web?passing' });
      return res.json().map((e: { Service: { ID: string } }) => e.Service.ID);
    };
    const servable = (): boolean => registry.isServable(registry.get('web', 'web1')!);
    expect(await statusOf()).toBe('critical');
    expect(await passingIds()).toEqual([]);

    expect((await app.inject({ method: 'PUT', url: '/v1/agent/check/pass/service:web1?note=ok' })).statusCode).toBe(200);
    expect(await statusOf()).toBe('passing');
    expect(await passingIds()).toEqual(['web1']);
    expect(servable()).toBe(true);

    expect((await app.inject({ method: 'PUT', url: '/v1/agent/check/warn/service:web1?note=slow' })).statusCode).toBe(200);
    expect(registry.get('web', 'web1')?.health).toBe('unknown');
    expect(registry.get('web', 'web1')?.note).toBe('slow');
    expect(await statusOf()).toBe('warning');
    expect(await passingIds()).toEqual([]);
    // Beacon's DNS answers only servable instances: a warning instance is out, like Consul DNS with only_passing.
    expect(servable()).toBe(false);
    const all = await app.inject({ method: 'GET', url: '/v1/health/service/web' });
    expect(all.json()[0].Checks.map((c: { CheckID: string; Status: string }) => `${c.CheckID}=${c.Status}`)).toEqual(['serfHealth=passing', 'service:web1=warning']);
    expect(all.json()[0].Checks[1].Output).toBe('slow');

    expect((await app.inject({ method: 'PUT', url: '/v1/agent/check/fail/service:web1' })).statusCode).toBe(200);
    expect(await statusOf()).toBe('critical');
    const update = await app.inject({ method: 'PUT', url: '/v1/agent/check/update/service:web1', ...json({ Status: 'passing', Output: 'all good' }) });
    expect(update.statusCode).toBe(200);
    expect(await statusOf()).toBe('passing');
    expect(registry.get('web', 'web1')?.note).toBe('all good');

    const badStatus = await app.inject({ method: 'PUT', url: '/v1/agent/check/update/service:web1', ...json({ Status: 'fine' }) });
    expect(badStatus.statusCode).toBe(400);
    const unknownCheck = await app.inject({ method: 'PUT', url: '/v1/agent/check/pass/service:nope' });
    expect(unknownCheck.statusCode).toBe(404);
    const notService = await app.inject({ method: 'PUT', url: '/v1/agent/check/pass/serfHealth' });
    expect(notService.statusCode).toBe(404);
  });

  it('keeps a check status across re-registration unless Status is given', async () => {
    made = await makeApp();
    const { app, registry } = made;
    await consulRegister(app, web1);
    await app.inject({ method: 'PUT', url: '/v1/agent/check/pass/service:web1' });
    await consulRegister(app, web1);
    expect(registry.get('web', 'web1')?.health).toBe('healthy');
    await consulRegister(app, { ...web1, Check: { TTL: '15s', Status: 'warning' } });
    expect(registry.get('web', 'web1')?.health).toBe('unknown');
  });

  it('refuses pass/warn/fail on a check Beacon probes itself', async () => {
    made = await makeApp();
    const { app } = made;
    await consulRegister(app, { Name: 'api', Port: 9000, Check: { HTTP: 'http://127.0.0.1:9/', Interval: '10s' } });
    const res = await app.inject({ method: 'PUT', url: '/v1/agent/check/pass/service:api' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_ARGUMENT');
  });

  it('puts a service in maintenance with a critical maintenance check', async () => {
    made = await makeApp();
    const { app, registry } = made;
    await consulRegister(app, { ID: 'web1', Name: 'web', Port: 80 });
    expect((await app.inject({ method: 'PUT', url: '/v1/agent/service/maintenance/web1' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'PUT', url: '/v1/agent/service/maintenance/web1?enable=maybe' })).statusCode).toBe(400);
    const on = await app.inject({ method: 'PUT', url: '/v1/agent/service/maintenance/web1?enable=true&reason=upgrade' });
    expect(on.statusCode).toBe(200);
    expect(registry.get('web', 'web1')).toMatchObject({ maintenance: true, maintenanceReason: 'upgrade' });
    const checks = (await app.inject({ method: 'GET', url: '/v1/health/checks/web' })).json();
    expect(checks.map((c: { CheckID: string; Status: string; Notes: string }) => [c.CheckID, c.Status, c.Notes])).toEqual([
      ['service:web1', 'passing', ''],
      ['_service_maintenance:web1', 'critical', 'upgrade'],
    ]);
    expect((await app.inject({ method: 'GET', url: '/v1/health/service/web?passing=true' })).json()).toEqual([]);
    await app.inject({ method: 'PUT', url: '/v1/agent/service/maintenance/web1?enable=false' });
    expect(registry.get('web', 'web1')?.maintenance).toBe(false);
    expect((await app.inject({ method: 'PUT', url: '/v1/agent/service/maintenance/nope?enable=true' })).statusCode).toBe(404);
  });

  it('answers catalog and health reads in Consul shapes, filtered by tag', async () => {
    made = await makeApp();
    const { app } = made;
    await consulRegister(app, { ID: 'web1', Name: 'web', Port: 80, Address: '10.0.0.1', Tags: ['a', 'b'] });
    await consulRegister(app, { ID: 'web2', Name: 'web', Port: 81, Address: '10.0.0.2', Tags: ['b'] });
    await consulRegister(app, { ID: 'db1', Name: 'db', Port: 5432 });
    expect((await app.inject({ method: 'GET', url: '/v1/catalog/services' })).json()).toEqual({ db: [], web: ['a', 'b'] });
    const catalog = await app.inject({ method: 'GET', url: '/v1/catalog/service/web?tag=a' });
    expect(catalog.json()).toHaveLength(1);
    expect(catalog.json()[0]).toMatchObject({ ServiceID: 'web1', ServiceName: 'web', ServiceAddress: '10.0.0.1', ServicePort: 80, ServiceTags: ['a', 'b'], Datacenter: 'dc1', Address: '127.0.0.1' });
    const both = await app.inject({ method: 'GET', url: '/v1/catalog/service/web?tag=a&tag=b' });
    expect(both.json().map((s: { ServiceID: string }) => s.ServiceID)).toEqual(['web1']);
    const health = await app.inject({ method: 'GET', url: '/v1/health/service/web?tag=b' });
    expect(health.json().map((e: { Service: { ID: string } }) => e.Service.ID)).toEqual(['web1', 'web2']);
    expect(health.json()[0]).toMatchObject({ Node: { Datacenter: 'dc1', Address: '127.0.0.1' }, Service: { ID: 'web1', Service: 'web', Port: 80, Address: '10.0.0.1' } });
    // Unknown services are empty lists, as in Consul, not errors.
    for (const url of ['/v1/catalog/service/nope', '/v1/health/service/nope', '/v1/health/checks/nope']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual([]);
    }
    expect((await app.inject({ method: 'GET', url: '/v1/health/service/web?filter=Service.Port==80' })).statusCode).toBe(400);
  });

  it('answers agent self and status as a single-node agent', async () => {
    made = await makeApp();
    const { app } = made;
    const self = (await app.inject({ method: 'GET', url: '/v1/agent/self?dc=dc1' })).json();
    expect(self.Config).toMatchObject({ Datacenter: 'dc1' });
    expect(typeof self.Config.NodeName).toBe('string');
    const leader = await app.inject({ method: 'GET', url: '/v1/status/leader' });
    expect(leader.headers['content-type']).toMatch(/^application\/json/);
    expect(leader.json()).toMatch(/:8300$/);
    expect((await app.inject({ method: 'GET', url: '/v1/status/peers' })).json()).toEqual([leader.json()]);
  });

  it('sets X-Consul-Index on every read, never 0, and blocks until it moves', async () => {
    made = await makeApp();
    const { app } = made;
    const first = await app.inject({ method: 'GET', url: '/v1/catalog/services' });
    expect(first.headers['x-consul-index']).toBe('1');
    expect(first.headers['x-consul-knownleader']).toBe('true');
    expect(first.headers['x-consul-lastcontact']).toBe('0');
    for (const url of ['/v1/agent/services', '/v1/agent/self', '/v1/health/service/web', '/v1/health/checks/web', '/v1/catalog/service/web', '/v1/status/leader', '/v1/status/peers']) {
      expect((await app.inject({ method: 'GET', url })).headers['x-consul-index'], url).toBe('1');
    }
    let answered = false;
    const blocked = app.inject({ method: 'GET', url: '/v1/health/service/web?index=1&wait=5m' }).then((res) => {
      answered = true;
      return res;
    });
    // The long-poll is parked on the change feed until something changes.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    expect(made.feed.watchers).toBe(1);
    await consulRegister(app, { ID: 'web1', Name: 'web', Port: 80 });
    const res = await blocked;
    expect(Number(res.headers['x-consul-index'])).toBe(2);
    expect(res.json().map((e: { Service: { ID: string } }) => e.Service.ID)).toEqual(['web1']);
    // An index ahead of the current one (registry replaced by an older state) answers at once with the current index.
    const ahead = await app.inject({ method: 'GET', url: '/v1/catalog/services?index=99&wait=5m' });
    expect(ahead.headers['x-consul-index']).toBe('2');
    // A wait that elapses answers with an unchanged index.
    const timedOut = await app.inject({ method: 'GET', url: '/v1/catalog/services?index=2&wait=20ms' });
    expect(timedOut.headers['x-consul-index']).toBe('2');
    expect((await app.inject({ method: 'GET', url: '/v1/catalog/services?index=abc' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/v1/catalog/services?index=1&wait=soon' })).statusCode).toBe(400);
  });

  it('accepts X-Consul-Token and ?token= where the bearer token is required', async () => {
    made = await makeApp({ token: 's3cret' });
    const { app } = made;
    expect((await app.inject({ method: 'GET', url: '/v1/agent/services' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/agent/services', headers: { 'x-consul-token': 'wrong' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/agent/services', headers: { 'x-consul-token': 's3cret' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/agent/services?token=s3cret' })).statusCode).toBe(200);
    // Beacon's own routes take Consul's token forms too: one token, one check.
    expect((await app.inject({ method: 'GET', url: '/v1/services', headers: { 'x-consul-token': 's3cret' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/services', headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(200);
  });
});

describe('Go durations', () => {
  it('parses what Consul accepts and refuses the rest', () => {
    expect(parseGoDuration('10s', 'f')).toBe(10_000);
    expect(parseGoDuration('1m30s', 'f')).toBe(90_000);
    expect(parseGoDuration('1.5h', 'f')).toBe(5_400_000);
    expect(parseGoDuration('250ms', 'f')).toBe(250);
    expect(parseGoDuration('0s', 'f')).toBe(0);
    for (const bad of ['10', 's', '10x', '', '-1s']) expect(() => parseGoDuration(bad, 'f')).toThrow(/f/);
  });
});
