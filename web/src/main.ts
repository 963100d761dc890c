/**
 * The dashboard page: log in (or not, on the socket), read the overview, then stay live from the change
 * stream (`/v1/events`, re-read on change) and the statistics (`/v1/stats`, polled for the charts).
 */
import * as api from './api.js';
import { draw, Series } from './charts.js';
import { esc, formatRemaining, instanceRow, sectionId, SERVICE_SKELETON, serviceDns, serviceSummary, summaryRows } from './view.js';

const STATS_EVERY_MS = 1500;
const RECONNECT_MS = 1500;
const LOG_LINES = 200;

const $ = <T extends HTMLElement>(selector: string): T => {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`page is missing ${selector}`);
  return found;
};

let access: api.Access | undefined;
/** The daemon's clock minus ours, so countdowns follow the daemon. */
let clockSkew = 0;
/** What each service section shows now, so a refresh touches only what changed. */
interface SectionState {
  summary: string;
  dns: string;
  readonly rows: Map<string, { html: string; element: Element }>;
}
const sections = new Map<string, SectionState>();
let firstRendered = false;
const rowTemplate = document.createElement('template');

/** A table row element from its markup. */
function rowElement(html: string): Element {
  rowTemplate.innerHTML = html;
  const element = rowTemplate.content.firstElementChild;
  if (!element) throw new Error('empty row markup');
  return element;
}

/** Bring a section's rows in line with `service`: new rows inserted, changed ones replaced, gone ones removed. */
function patchRows(section: HTMLElement, state: SectionState, service: api.Service): void {
  const tbody = section.querySelector('tbody');
  if (!tbody) return;
  const seen = new Set<string>();
  if (state.rows.size === 0) {
    // First fill: one innerHTML for every row is far cheaper than one insertion per row.
    const htmls = service.instances.map(instanceRow);
    tbody.innerHTML = htmls.join('');
    service.instances.forEach((instance, n) => {
      const element = tbody.children[n];
      const html = htmls[n];
      if (element && html !== undefined) state.rows.set(`${instance.id}`, { html, element });
    });
    return;
  }
  let previous: Element | null = null;
  for (const instance of service.instances) {
    const key = instance.id;
    seen.add(key);
    const html = instanceRow(instance);
    let entry = state.rows.get(key);
    if (!entry) {
      entry = { html, element: rowElement(html) };
      state.rows.set(key, entry);
    } else if (entry.html !== html) {
      const replacement = rowElement(html);
      entry.element.replaceWith(replacement);
      entry = { html, element: replacement };
      state.rows.set(key, entry);
    }
    const expected: Element | null = previous ? previous.nextElementSibling : tbody.firstElementChild;
    if (expected !== entry.element) tbody.insertBefore(entry.element, expected);
    previous = entry.element;
  }
  for (const [key, entry] of state.rows) {
    if (!seen.has(key)) {
      entry.element.remove();
      state.rows.delete(key);
    }
  }
}

function setStatus(text: string, state: 'live' | 'connecting' | 'offline'): void {
  const status = $('#status');
  status.textContent = text;
  status.dataset.state = state;
}

function showLogin(message = ''): void {
  document.body.dataset.view = 'login';
  $('#login-error').textContent = message;
  $<HTMLInputElement>('#token').focus();
}

/** Put the overview on the page, touching only the services whose markup changed. */
function render(overview: api.Overview): void {
  clockSkew = overview.now - Date.now();
  $('#summary tbody').innerHTML = summaryRows(overview);
  const container = $('#services');
  const seen = new Set<string>();
  let previous: Element | null = null;
  for (const service of overview.services) {
    const id = sectionId(service.name);
    seen.add(id);
    let section = document.getElementById(id);
    let state = sections.get(id);
    if (!section || !state) {
      section = document.createElement('details');
      section.id = id;
      section.className = 'service';
      section.dataset.service = service.name;
      (section as HTMLDetailsElement).open = true;
      section.innerHTML = SERVICE_SKELETON;
      state = { summary: '', dns: '', rows: new Map() };
      sections.set(id, state);
    }
    const summary = serviceSummary(service);
    if (state.summary !== summary) {
      const element = section.querySelector('summary');
      if (element) element.innerHTML = summary;
      state.summary = summary;
    }
    const dns = serviceDns(service, overview);
    if (state.dns !== dns) {
      const element = section.querySelector('ul.dns');
      if (element) element.innerHTML = dns;
      state.dns = dns;
    }
    patchRows(section, state, service);
    const expectedPlace: Element | null = previous ? previous.nextElementSibling : container.firstElementChild;
    if (expectedPlace !== section) container.insertBefore(section, expectedPlace);
    previous = section;
  }
  for (const section of [...container.children]) {
    if (!seen.has(section.id)) {
      sections.delete(section.id);
      section.remove();
    }
  }
  $('#index').textContent = String(overview.index);
  tick();
  // For measurements (the browser tests log it): when the first overview was on the page.
  if (!firstRendered) performance.mark('beacon:first-overview');
  firstRendered = true;
}

/** Refresh every countdown (TTL left, time to half-open) from the daemon's clock. */
function tick(): void {
  const now = Date.now() + clockSkew;
  for (const element of document.querySelectorAll<HTMLElement>('[data-until]')) {
    element.textContent = `${element.dataset.prefix ?? ''}${formatRemaining(Number(element.dataset.until) - now)}`;
  }
}

let refreshing: Promise<void> | undefined;
let refreshAgain = false;

/** Re-read the overview; changes arriving meanwhile cause one more read, not one per change. */
function refresh(): void {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = api
    .overview()
    .then(render)
    .catch(handleError)
    .finally(() => {
      refreshing = undefined;
      if (refreshAgain) {
        refreshAgain = false;
        refresh();
      }
    });
}

function handleError(error: unknown): void {
  if (error instanceof api.LoginRequired) {
    stopLive();
    showLogin('Your session has ended: log in again.');
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  flash(message, 'error');
}

function flash(message: string, kind: 'error' | 'ok'): void {
  const box = $('#flash');
  box.textContent = message;
  box.dataset.kind = kind;
}

function logChange(event: { index: number; type: string; service: string; id: string; health?: string; maintenance?: boolean; removed: boolean }): void {
  const log = $('#log');
  const item = document.createElement('li');
  const state = event.removed ? 'removed' : `${event.health ?? ''}${event.maintenance ? ', maintenance' : ''}`;
  item.innerHTML = `<time>${esc(new Date().toLocaleTimeString())}</time> <span class="muted">#${event.index}</span> <strong>${esc(event.type)}</strong> ${esc(event.service)}/${esc(event.id)} <span class="muted">${esc(state)}</span>`;
  log.prepend(item);
  while (log.children.length > LOG_LINES) log.lastElementChild?.remove();
}

let events: EventSource | undefined;
let circuits: EventSource | undefined;
let reconnectTimer: number | undefined;

/** Follow the change stream; EventSource retries dropped connections, and a refused one is reopened here. */
function connect(): void {
  events?.close();
  circuits?.close();
  // Circuit transitions are not registry changes: they come on a stream of their own.
  circuits = new EventSource('/v1/dashboard/circuits');
  circuits.addEventListener('circuit', refresh);
  circuits.addEventListener('hello', refresh);
  setStatus('connecting…', 'connecting');
  const source = new EventSource('/v1/events');
  events = source;
  source.addEventListener('hello', () => {
    setStatus('live', 'live');
    refresh(); // after a reconnect, catch up with whatever changed while away
  });
  source.addEventListener('reset', refresh);
  source.addEventListener('change', (message) => {
    logChange(JSON.parse((message as MessageEvent<string>).data));
    refresh();
  });
  source.addEventListener('error', () => {
    setStatus('reconnecting…', 'offline');
    if (source.readyState !== EventSource.CLOSED) return;
    // The daemon answered but refused the stream (restarted, session gone): ask again shortly.
    window.clearTimeout(reconnectTimer);
    reconnectTimer = window.setTimeout(() => void resume(), RECONNECT_MS);
  });
}

const series = { qps: new Series(), hit: new Series(), errors: new Series(), changes: new Series() };
let lastStats: { at: number; stats: api.Stats } | undefined;
let statsTimer: number | undefined;

async function pollStats(): Promise<void> {
  try {
    const stats = await api.stats();
    const at = performance.now();
    if (lastStats) {
      const seconds = Math.max((at - lastStats.at) / 1000, 0.001);
      const before = lastStats.stats;
      const queries = (stats.dns?.queries ?? 0) - (before.dns?.queries ?? 0);
      const hits = (stats.dns?.cacheHits ?? 0) - (before.dns?.cacheHits ?? 0);
      const misses = (stats.dns?.cacheMisses ?? 0) - (before.dns?.cacheMisses ?? 0);
      const rcodes = Object.entries(stats.dns?.responsesByRcode ?? {}).map(([rcode, n]) => [rcode, (n - (before.dns?.responsesByRcode[rcode] ?? 0)) / seconds] as const);
      const errorRate = rcodes.filter(([rcode]) => rcode !== 'NOERROR').reduce((sum, [, rate]) => sum + rate, 0);
      series.qps.push(Math.max(queries, 0) / seconds);
      series.hit.push(hits + misses > 0 ? (100 * hits) / (hits + misses) : (series.hit.last ?? 0));
      series.errors.push(errorRate);
      series.changes.push(Math.max(stats.registry.index - before.registry.index, 0) / seconds);
      draw($('#chart-qps'), series.qps, `${(series.qps.last ?? 0).toFixed(1)}/s`);
      draw($('#chart-hit'), series.hit, `${(series.hit.last ?? 0).toFixed(0)}%`, 100);
      draw($('#chart-rcodes'), series.errors, `${errorRate.toFixed(1)}/s`);
      $('#rcodes').textContent = rcodes.length ? rcodes.map(([rcode, rate]) => `${rcode} ${rate.toFixed(1)}/s`).join(' · ') : 'no answers yet';
      draw($('#chart-changes'), series.changes, `${(series.changes.last ?? 0).toFixed(1)}/s`);
    }
    lastStats = { at, stats };
  } catch (error) {
    if (error instanceof api.LoginRequired) return handleError(error);
    setStatus('daemon unreachable, retrying…', 'offline');
  }
  statsTimer = window.setTimeout(() => void pollStats(), STATS_EVERY_MS);
}

function stopLive(): void {
  events?.close();
  events = undefined;
  circuits?.close();
  circuits = undefined;
  window.clearTimeout(statsTimer);
  window.clearTimeout(reconnectTimer);
}

/** Start (or restart) everything live once access is known; `early` is an overview read already under way. */
function startLive(granted: api.Access, early?: Promise<api.Overview | undefined>): void {
  access = granted;
  document.body.dataset.view = 'dashboard';
  document.body.dataset.role = granted.role;
  $('#logout').hidden = granted.open;
  stopLive();
  lastStats = undefined;
  if (early) {
    // Shown only if no fresher read got there first (the stream's hello also asks for one).
    void early.then((overview) => (overview && !firstRendered ? render(overview) : refresh()));
  } else refresh();
  connect();
  void pollStats();
}

/** Find out whether we may read (a live session, or the socket), then go live; otherwise show the login. */
async function resume(): Promise<void> {
  // Read the overview while the session is checked: one round trip less before the first paint.
  const early = api.overview().catch(() => undefined);
  try {
    startLive(await api.currentAccess(), early);
  } catch (error) {
    if (error instanceof api.LoginRequired) showLogin();
    else {
      setStatus('daemon unreachable, retrying…', 'offline');
      reconnectTimer = window.setTimeout(() => void resume(), RECONNECT_MS);
    }
  }
}

const maintDialog = (): HTMLDialogElement => $<HTMLDialogElement>('#maint-dialog');

async function act(button: HTMLButtonElement): Promise<void> {
  const { action, service, id, copy } = button.dataset;
  if (action === 'copy' && copy !== undefined) {
    await navigator.clipboard?.writeText(copy).then(() => flash('Copied.', 'ok'), () => flash(copy, 'ok'));
    return;
  }
  if (service === undefined || id === undefined) return;
  try {
    if (action === 'maint-on') {
      const dialog = maintDialog();
      dialog.dataset.service = service;
      dialog.dataset.id = id;
      $('#maint-target').textContent = `${service}/${id}`;
      $<HTMLInputElement>('#maint-reason').value = '';
      dialog.showModal();
      return;
    }
    if (action === 'maint-off') await api.setMaintenance(service, id, false);
    else if (action === 'reset') await api.resetCircuit(service, id);
    else if (action === 'deregister') {
      if (!window.confirm(`Deregister ${service}/${id}?`)) return;
      await api.deregister(service, id);
    }
    flash(`${action} ${service}/${id}: done`, 'ok');
    refresh();
  } catch (error) {
    handleError(error);
  }
}

function wire(): void {
  $('#login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('#token');
    api.login(input.value).then(
      (granted) => {
        input.value = '';
        startLive(granted);
      },
      (error: unknown) => showLogin(error instanceof api.ApiError && error.status === 401 ? 'Wrong token.' : String(error)),
    );
  });
  $('#logout').addEventListener('click', () => {
    stopLive();
    void api.logout().finally(() => showLogin('Logged out.'));
  });
  $('main').addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-action]');
    if (button && access) void act(button);
  });
  $('#maint-form').addEventListener('submit', (event) => {
    const dialog = maintDialog();
    const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
    if (submitter?.value !== 'on') return;
    const { service, id } = dialog.dataset;
    if (service === undefined || id === undefined) return;
    api.setMaintenance(service, id, true, $<HTMLInputElement>('#maint-reason').value.trim()).then(() => {
      flash(`maintenance ${service}/${id}: on`, 'ok');
      refresh();
    }, handleError);
  });
  window.setInterval(tick, 1000);
}

wire();
void resume();
