/** Browser authentication on the TCP listener: login, session cookie, CSRF checks and the read-only token. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApp } from '../../src/control/app.js';
import { dashboardRoutes } from '../../src/control/routes/dashboard.js';
import { CSRF_HEADER, SESSION_COOKIE, cookieValue } from '../../src/control/plugins/auth.js';
import { SessionStore } from '../../src/control/sessions.js';
import { makeDeps, tempDir } from './harness.js';

const TOKEN = 'write-token-123456';
const READ_TOKEN = 'read-token-654321';
const HOST = '127.0.0.1:8500';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function appWith(options: { readToken?: string } = {}) {
  const made = await makeDeps();
  const app = buildControlApp(made.deps, { token: TOKEN, ...options, plugins: [dashboardRoutes] });
  await app.ready();
  cleanups.push(made.dispose, () => app.close());
  await made.durable.register('api', { id: 'a1', address: '10.0.0.1', port: 80 });
  return { ...made, app };
}

type App = Awaited<ReturnType<typeof appWith>>['app'];

/** Log in with `token` (JSON); returns the response, the cookie pair and the CSRF token. */
async function login(app: App, token: string) {
  const response = await app.inject({ method: 'POST', url: '/v1/session', headers: { host: HOST }, payload: { token } });
  const setCookie = String(response.headers['set-cookie'] ?? '');
  const id = cookieValue(setCookie.split(';')[0], SESSION_COOKIE);
  return { response, setCookie, cookie: `${SESSION_COOKIE}=${id ?? ''}`, csrf: (response.json() as { csrf?: string }).csrf ?? '' };
}

const maintenance = { enabled: true, reason: 'patching' };
const maintenanceUrl = '/v1/services/api/instances/a1/maintenance';

describe('session login', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie for the right token and answers the CSRF token', async () => {
    const { app } = await appWith();
    const { response, setCookie, csrf } = await login(app, TOKEN);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ role: 'write', csrf: expect.any(String) });
    expect(csrf.length).toBeGreaterThanOrEqual(32);
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; `));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain('Secure'); // plain HTTP on loopback: a Secure cookie would never come back
  });

  it('gives each login its own random session id', async () => {
    const { app } = await appWith();
    const first = await login(app, TOKEN);
    const second = await login(app, TOKEN);
    expect(first.cookie).not.toBe(second.cookie);
    expect(first.csrf).not.toBe(second.csrf);
  });

  it('refuses a wrong token with 401 and sets no cookie', async () => {
    const { app } = await appWith({ readToken: READ_TOKEN });
    const { response } = await login(app, 'not-the-token');
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'wrong token' } });
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('accepts an HTML form login and sends the browser back to the dashboard', async () => {
    const { app } = await appWith();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${encodeURIComponent(TOKEN)}`,
    });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/');
    expect(String(response.headers['set-cookie'])).toContain('HttpOnly');
  });

  it('reads with the cookie alone (what EventSource sends), and reports the session', async () => {
    const { app } = await appWith();
    const { cookie, csrf } = await login(app, TOKEN);
    const services = await app.inject({ method: 'GET', url: '/v1/services', headers: { cookie } });
    expect(services.statusCode).toBe(200);
    const session = await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } });
    expect(session.json()).toMatchObject({ role: 'write', csrf });
    const unknown = await app.inject({ method: 'GET', url: '/v1/services', headers: { cookie: `${SESSION_COOKIE}=forged` } });
    expect(unknown.statusCode).toBe(401);
  });

  it('forgets a session at logout and at expiry', async () => {
    let now = 1_000_000;
    const sessions = new SessionStore({ ttlMs: 60_000, now: () => now });
    const first = sessions.create('write');
    expect(sessions.get(first.id)).toBe(first.session);
    now += 60_000;
    expect(sessions.get(first.id)).toBeUndefined();
    const { app } = await appWith();
    const { cookie, csrf } = await login(app, TOKEN);
    const out = await app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie, host: HOST, origin: `http://${HOST}`, [CSRF_HEADER]: csrf } });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await app.inject({ method: 'GET', url: '/v1/services', headers: { cookie } })).statusCode).toBe(401);
  });

  it('holds at most its capacity of sessions, forgetting the oldest', () => {
    const sessions = new SessionStore({ ttlMs: 60_000, now: () => 0, capacity: 2 });
    const [a, b, c] = [sessions.create('read'), sessions.create('read'), sessions.create('write')];
    expect(sessions.size).toBe(2);
    expect(sessions.get(a.id)).toBeUndefined();
    expect([sessions.get(b.id), sessions.get(c.id)]).toEqual([b.session, c.session]);
  });

  it('keeps sessions in a file across restarts, without the cookie values, and only under the same tokens', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const file = path.join(tmp.dir, 'sessions.json');
    const before = new SessionStore({ file, fingerprint: 'tokens-1' });
    const { id, session } = before.create('write');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(id);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(new SessionStore({ file, fingerprint: 'tokens-1' }).get(id)).toEqual(session);
    expect(new SessionStore({ file, fingerprint: 'tokens-2' }).get(id)).toBeUndefined();
    before.delete(session);
    expect(new SessionStore({ file, fingerprint: 'tokens-1' }).get(id)).toBeUndefined();
    await writeFile(file, '{not json');
    expect(new SessionStore({ file, fingerprint: 'tokens-1' }).size).toBe(0);
  });
});

describe('cookie-authenticated writes', () => {
  it('are refused with 401 without the cookie', async () => {
    const { app, registry } = await appWith();
    const response = await app.inject({ method: 'PUT', url: maintenanceUrl, headers: { host: HOST, origin: `http://${HOST}` }, payload: maintenance });
    expect(response.statusCode).toBe(401);
    expect(registry.get('api', 'a1')?.maintenance).toBe(false);
  });

  it('succeed from the dashboard\'s own origin with the CSRF header', async () => {
    const { app, registry } = await appWith();
    const { cookie, csrf } = await login(app, TOKEN);
    const response = await app.inject({
      method: 'PUT',
      url: maintenanceUrl,
      headers: { cookie, host: HOST, origin: `http://${HOST}`, 'sec-fetch-site': 'same-origin', [CSRF_HEADER]: csrf },
      payload: maintenance,
    });
    expect(response.statusCode).toBe(200);
    expect(registry.get('api', 'a1')).toMatchObject({ maintenance: true, maintenanceReason: 'patching' });
  });

  it.each([
    ['a forged Origin', { origin: 'http://evil.example' }],
    ['a cross-site fetch', { 'sec-fetch-site': 'cross-site' }],
    ['no CSRF header', { csrf: undefined }],
    ['a wrong CSRF header', { csrf: 'guessed-csrf-token' }],
  ])('are refused with 403 FORBIDDEN given %s, and change nothing', async (_name, variant: Record<string, string | undefined>) => {
    const { app, registry } = await appWith();
    const { cookie, csrf } = await login(app, TOKEN);
    const { csrf: csrfOverride, ...headers } = variant;
    const csrfValue = 'csrf' in variant ? csrfOverride : csrf;
    const response = await app.inject({
      method: 'PUT',
      url: maintenanceUrl,
      headers: { cookie, host: HOST, origin: `http://${HOST}`, ...headers, ...(csrfValue === undefined ? {} : { [CSRF_HEADER]: csrfValue }) },
      payload: maintenance,
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().error.code).toBe('FORBIDDEN');
    expect(registry.get('api', 'a1')?.maintenance).toBe(false);
  });
});

describe('the read-only token', () => {
  it('reads GET routes and /metrics but gets 403 on writes, as a bearer token', async () => {
    const { app, registry } = await appWith({ readToken: READ_TOKEN });
    const auth = { authorization: `Bearer ${READ_TOKEN}` };
    for (const url of ['/v1/services', '/v1/services/api/instances/a1', '/metrics', '/v1/stats', '/v1/dashboard']) {
      expect((await app.inject({ method: 'GET', url, headers: auth })).statusCode, url).toBe(200);
    }
    const put = await app.inject({ method: 'PUT', url: maintenanceUrl, headers: auth, payload: maintenance });
    expect(put.statusCode).toBe(403);
    expect(put.json().error.code).toBe('FORBIDDEN');
    const del = await app.inject({ method: 'DELETE', url: '/v1/services/api/instances/a1', headers: auth });
    expect(del.statusCode).toBe(403);
    expect(registry.get('api', 'a1')?.maintenance).toBe(false);
  });

  it('logs in to a read-only session whose writes are refused even from the page', async () => {
    const { app, registry } = await appWith({ readToken: READ_TOKEN });
    const { response, cookie, csrf } = await login(app, READ_TOKEN);
    expect(response.json()).toMatchObject({ role: 'read' });
    expect((await app.inject({ method: 'GET', url: '/v1/services', headers: { cookie } })).statusCode).toBe(200);
    const put = await app.inject({ method: 'PUT', url: maintenanceUrl, headers: { cookie, host: HOST, origin: `http://${HOST}`, [CSRF_HEADER]: csrf }, payload: maintenance });
    expect(put.statusCode).toBe(403);
    expect(registry.get('api', 'a1')?.maintenance).toBe(false);
  });

  it('is not accepted where no read-only token is configured', async () => {
    const { app } = await appWith();
    expect((await app.inject({ method: 'GET', url: '/v1/services', headers: { authorization: `Bearer ${READ_TOKEN}` } })).statusCode).toBe(401);
  });
});

describe('bearer token', () => {
  it('still allows every request, with or without an Origin header, and needs no CSRF token', async () => {
    const { app, registry } = await appWith({ readToken: READ_TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const put = await app.inject({ method: 'PUT', url: maintenanceUrl, headers: { ...auth, origin: 'http://elsewhere.example' }, payload: maintenance });
    expect(put.statusCode).toBe(200);
    expect(registry.get('api', 'a1')?.maintenance).toBe(true);
  });

  it('is 401 when wrong even with a valid session cookie', async () => {
    const { app } = await appWith();
    const { cookie } = await login(app, TOKEN);
    const response = await app.inject({ method: 'GET', url: '/v1/services', headers: { cookie, authorization: 'Bearer wrong-token' } });
    expect(response.statusCode).toBe(401);
  });

  it('leaves only /health, the login and the dashboard page public', async () => {
    const { app } = await appWith();
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    for (const url of ['/v1/services', '/v1/dashboard', '/v1/events', '/metrics', '/v1/session']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
    expect((await app.inject({ method: 'POST', url: '/v1/services/api/instances/a1/circuit/reset' })).statusCode).toBe(401);
    expect([200, 404]).toContain((await app.inject({ method: 'GET', url: '/' })).statusCode);
  });
});
