/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against the real daemon:
 * login, live updates from CLI changes, health and circuit badges, actions that change DNS (checked with
 * dig), refused writes, a thousand instances, a daemon restart, and screenshots of the main views.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until, type Daemon } from '../e2e/daemon.js';
import { checkTarget } from '../e2e/scenarios.js';
import { launchBrowser, screenshot, type Browser } from './support/browser.js';

const TOKEN = 'dashboard-token-1234';
const READ_TOKEN = 'dashboard-read-5678';
/** Bounded wait for something to show up on the page after a change. */
const APPEARS_MS = 1000;
/** The same with a thousand rows on the page (and two cores shared with the daemon and the test runner). */
const APPEARS_LOADED_MS = 5000;

function dig(port: number, name: string, type = 'SRV'): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=2', '+tries=2', name, type], { timeout: 15_000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split('\n').filter((l) => l !== ''));
    });
  });
}

/** SRV ports of a service, by dig. */
async function digPorts(daemon: Daemon, service: string): Promise<number[]> {
  return (await dig(daemon.dnsPort, `_${service}._tcp.local`)).map((l) => Number(l.split(' ')[2])).sort((a, b) => a - b);
}

/** A free loopback TCP port (the daemon is restarted on the same one, so the page keeps its origin). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const row = (page: Page, key: string) => page.locator(`tr[data-instance="${key}"]`);

/** Wait, checking every animation frame, at most `timeoutMs` for `selector` to match (locator waits poll too coarsely for 1 s). */
async function appears(page: Page, selector: string, timeoutMs = APPEARS_MS): Promise<void> {
  // A string expression: it runs in the page, where `document` exists (this file is typed for Node).
  await page.waitForFunction(`document.querySelector(${JSON.stringify(selector)}) !== null`, undefined, { polling: 'raf', timeout: timeoutMs });
}

describe('dashboard in chromium', () => {
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let base: string;
  let httpPort: number;
  const flags = (): string[] => ['--http', `127.0.0.1:${httpPort}`, '--token', TOKEN, '--read-token', READ_TOKEN, '--breaker-failures', '3', '--breaker-open-timeout', '10m'];
  const api = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);

  let dataDir: string;
  beforeAll(async () => {
    httpPort = await freePort();
    base = `http://127.0.0.1:${httpPort}`;
    // The test owns the data directory: the daemon is restarted on it, sessions included.
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'beacon-dashboard-'));
    daemon = await startDaemon(flags(), { dataDir });
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    expect(await daemon?.stop()).toBe(0);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a wrong token and logs in with the right one', async () => {
    await page.goto(base);
    await page.locator('#login-form').waitFor();
    await screenshot(page, 'login-desktop-light');
    await page.fill('#token', 'not-the-token');
    await page.click('#login-form button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toBe('Wrong token.');
    expect(await page.getAttribute('body', 'data-view')).toBe('login');
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator('body[data-view="dashboard"]').waitFor();
    await page.locator('#status[data-state="live"]').waitFor();
    const cookies = await browser.context.cookies(base);
    expect(cookies.find((c) => c.name === 'beacon_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('shows an instance registered with the CLI without a reload, and its HTTP check failing', async () => {
    const target = await checkTarget();
    try {
      await daemon.ok('register', 'web', 'w1', '--port', '7001', '--tag', 'blue', '--meta', 'zone=a', '--http-check', target.url, '--check-interval', '200ms', '--check-timeout', '2s');
      await appears(page, 'tr[data-instance="web/w1"]');
      await row(page, 'web/w1').locator('[data-health="healthy"]').waitFor();
      expect(await digPorts(daemon, 'web')).toEqual([7001]);
      const text = await row(page, 'web/w1').innerText();
      expect(text).toContain('127.0.0.1');
      expect(text).toContain('blue');
      expect(text).toContain('zone=a');
      expect(text).toContain('http');
      expect(await page.locator('#svc-web code.dig').first().innerText()).toBe(`dig @127.0.0.1 -p ${daemon.dnsPort} _web._tcp.local. SRV`);

      target.setStatus(500);
      await row(page, 'web/w1').locator('[data-health="unhealthy"]').waitFor();
      expect(await row(page, 'web/w1').innerText()).toContain('HTTP 500');
      // Out of the DNS view: the row is marked out, the service counts none in DNS, and dig agrees.
      await page.locator('tr.out[data-instance="web/w1"]').waitFor();
      expect(await page.locator('#svc-web [data-in-dns]').innerText()).toBe('0');
      await until(() => digPorts(daemon, 'web'), (p) => p.length === 0);
      expect(await page.locator('#log li').count()).toBeGreaterThan(0);
    } finally {
      await target.close();
    }
  });

  it('shows a circuit opening after reported failures, and resets it from the page', async () => {
    await daemon.ok('register', 'cb', 'c1', '--port', '6001');
    await appears(page, 'tr[data-instance="cb/c1"]');
    for (let i = 0; i < 2; i++) await daemon.ok('report', 'cb', 'c1', 'failure');
    expect(await row(page, 'cb/c1').locator('[data-circuit]').getAttribute('data-circuit')).toBe('closed');
    await daemon.ok('report', 'cb', 'c1', 'failure');
    await appears(page, 'tr[data-instance="cb/c1"] [data-circuit="open"]');
    expect(await row(page, 'cb/c1').innerText()).toMatch(/half-open in \d+m \d\ds/);
    await screenshot(page, 'dashboard-desktop-light');
    await row(page, 'cb/c1').locator('button[data-action="reset"]').click();
    await row(page, 'cb/c1').locator('[data-circuit="closed"]').waitFor();
    expect(JSON.parse(await daemon.ok('show', 'cb', 'c1', '--json')).instance.circuit).toBe('closed');
  });

  it('toggles maintenance from the page, and dig sees it', async () => {
    await daemon.ok('register', 'mnt', 'm1', '--port', '7201');
    await appears(page, 'tr[data-instance="mnt/m1"]');
    expect(await digPorts(daemon, 'mnt')).toEqual([7201]);
    await row(page, 'mnt/m1').locator('button[data-action="maint-on"]').focus();
    await page.keyboard.press('Enter'); // keyboard-operable
    await page.fill('#maint-reason', 'kernel upgrade');
    await page.click('#maint-confirm');
    await row(page, 'mnt/m1').locator('[data-maintenance="on"]').waitFor();
    expect(await row(page, 'mnt/m1').innerText()).toContain('kernel upgrade');
    await until(() => digPorts(daemon, 'mnt'), (p) => p.length === 0);
    await row(page, 'mnt/m1').locator('button[data-action="maint-off"]').click();
    await row(page, 'mnt/m1').locator('[data-maintenance="off"]').waitFor();
    await until(() => digPorts(daemon, 'mnt'), (p) => p.length === 1 && p[0] === 7201);
  });

  it('refuses writes without the session cookie, with a forged origin, or with the read-only token', async () => {
    const url = '/v1/services/mnt/instances/m1/maintenance';
    const body = JSON.stringify({ enabled: true, reason: 'forged' });
    const json = { 'content-type': 'application/json' };
    expect((await api(url, { method: 'PUT', headers: { ...json, origin: base }, body })).status).toBe(401);
    const cookie = (await browser.context.cookies(base)).find((c) => c.name === 'beacon_session');
    const csrf = await page.evaluate(async () => ((await (await fetch('/v1/session')).json()) as { csrf: string }).csrf);
    const sessionHeaders = { ...json, cookie: `beacon_session=${cookie?.value}`, 'x-beacon-csrf': csrf };
    const forged = await api(url, { method: 'PUT', headers: { ...sessionHeaders, origin: 'http://evil.example' }, body });
    expect(forged.status).toBe(403);
    // The page's own fetch without the CSRF header: the cookie alone does not write.
    const status = await page.evaluate(async (target) => (await fetch(target, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: true }) })).status, url);
    expect(status).toBe(403);
    const readOnly = await api(url, { method: 'PUT', headers: { ...json, authorization: `Bearer ${READ_TOKEN}` }, body });
    expect(readOnly.status).toBe(403);
    expect((await api('/metrics', { headers: { authorization: `Bearer ${READ_TOKEN}` } })).status).toBe(200);
    expect(JSON.parse(await daemon.ok('show', 'mnt', 'm1', '--json')).instance.maintenance).toBe(false);
    expect(await digPorts(daemon, 'mnt')).toEqual([7201]);
  });

  it('deregisters from the page', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    await row(page, 'mnt/m1').locator('button[data-action="deregister"]').click();
    await row(page, 'mnt/m1').waitFor({ state: 'detached' });
    expect((await daemon.cli('show', 'mnt', 'm1')).code).not.toBe(0);
  });

  it('renders a thousand instances and stays responsive', async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => {
        const n = batch * 100 + i;
        return api(`/v1/services/bulk/instances/b${n}`, { method: 'PUT', headers: auth, body: JSON.stringify({ address: `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`, port: 8000 + n, tags: ['bulk'], metadata: { n: String(n) } }) }).then((r) => expect(r.status).toBe(200));
      }));
    }
    await expect.poll(() => page.locator('#svc-bulk tbody tr').count(), { timeout: 15_000 }).toBe(1000);
    // A fresh load paints all thousand rows.
    await page.reload();
    await expect.poll(() => page.locator('#svc-bulk tbody tr').count(), { timeout: 15_000 }).toBe(1000);
    // Figures for the record, not assertions (performance targets live in benchmarks).
    const paint = (await page.evaluate("performance.getEntriesByType('paint').concat(performance.getEntriesByName('beacon:first-overview')).map((e) => e.name + ' ' + Math.round(e.startTime) + ' ms')")) as string[];
    console.log(`[dashboard] 1,000 instances after a reload: ${paint.join(', ')}`);
    await screenshot(page, 'dashboard-1000-desktop-light');
    // Still live and operable: a new instance shows up, the maintenance dialog opens from the keyboard.
    await daemon.ok('register', 'bulk', 'late', '--port', '9999');
    await appears(page, 'tr[data-instance="bulk/late"]', APPEARS_LOADED_MS);
    expect(await page.locator('#summary tr[data-service="bulk"] [data-count="total"]').innerText()).toBe('1001');
    await row(page, 'bulk/b500').locator('button[data-action="maint-on"]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#maint-dialog[open]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('#maint-dialog[open]').waitFor({ state: 'detached' });
    await daemon.ok('deregister', 'bulk', 'late');
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => api(`/v1/services/bulk/instances/b${batch * 100 + i}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })));
    }
    await page.locator('#svc-bulk').waitFor({ state: 'detached', timeout: 15_000 });
  });

  it('saves screenshots of the main views at desktop and phone width, light and dark', async () => {
    await daemon.ok('register', 'api', 'a1', '--port', '7301', '--tag', 'v2', '--meta', 'version=2.1');
    await daemon.ok('register', 'api', 'a2', '--port', '7302', '--address', '127.0.0.2');
    await daemon.ok('maintenance', 'api', 'a2', 'on', '--reason', 'disk swap');
    await appears(page, 'tr[data-instance="api/a2"]');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.evaluate('window.scrollTo(0, 0)');
      await screenshot(page, `dashboard-desktop-${scheme}`);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.evaluate('window.scrollTo(0, 0)');
      await screenshot(page, `dashboard-phone-${scheme}`);
      await page.locator('#svc-api').scrollIntoViewIfNeeded();
      await screenshot(page, `instances-phone-${scheme}`);
      // Nothing wider than the phone: every cell wraps into its card.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('reconnects to the change stream by itself after a daemon restart, still logged in', async () => {
    expect(await daemon.stop()).toBe(0);
    await page.locator('#status[data-state="offline"]').waitFor();
    daemon = await startDaemon(flags(), { dataDir });
    await page.locator('#status[data-state="live"]').waitFor({ timeout: 15_000 });
    await daemon.ok('register', 'after', 'r1', '--port', '7401');
    expect(await page.getAttribute('body', 'data-view')).toBe('dashboard');
    await appears(page, 'tr[data-instance="after/r1"]');
  });
});
