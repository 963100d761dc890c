/**
 * HTML for the overview, as strings: a row is one string, so the page can tell a changed row by comparing
 * strings and patch only that row (a thousand unchanged rows cost a thousand string comparisons, no DOM work).
 */
import type { Instance, Overview, Service } from './api.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** `12s`, `3m 05s`, `2h 01m`: a countdown's remaining time. */
export function formatRemaining(ms: number): string {
  if (ms <= 0) return 'now';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Instance counts by state, for the service summary. */
export interface Counts {
  readonly total: number;
  readonly healthy: number;
  readonly unhealthy: number;
  readonly unknown: number;
  readonly maintenance: number;
  readonly open: number;
  /** Instances DNS hands out now. */
  readonly inDns: number;
}

/** Count a service's instances by state. */
export function countsOf(service: Service): Counts {
  const counts = { total: 0, healthy: 0, unhealthy: 0, unknown: 0, maintenance: 0, open: 0, inDns: 0 };
  for (const i of service.instances) {
    counts.total++;
    counts[i.health]++;
    if (i.maintenance) counts.maintenance++;
    if (i.circuit === 'open') counts.open++;
    if (i.servable && i.circuit !== 'open') counts.inDns++;
  }
  return counts;
}

/** The DNS-SD service names of a service (RFC 6763 section 7: `_service._proto.domain`). */
export function dnsNames(service: Service, domain: string): string[] {
  const zone = domain.endsWith('.') ? domain : `${domain}.`;
  return service.protocols.map((protocol) => `_${service.name}._${protocol}.${zone}`);
}

/** A `dig` command line that asks the daemon for a service's SRV records. */
export function digLine(name: string, servers: readonly string[]): string {
  const server = servers[0];
  if (server === undefined) return `dig ${name} SRV`;
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(server);
  return match ? `dig @${match[1]} -p ${match[2]} ${name} SRV` : `dig @${server} ${name} SRV`;
}

/** A DOM id for a service's section (service names are DNS labels: letters, digits, hyphens). */
export const sectionId = (service: string): string => `svc-${service.replace(/[^a-z0-9-]/gi, '_')}`;

/** The summary table's rows. */
export function summaryRows(overview: Overview): string {
  if (overview.services.length === 0) return '<tr><td colspan="7" class="empty">No services registered.</td></tr>';
  return overview.services
    .map((service) => {
      const c = countsOf(service);
      return `<tr data-service="${esc(service.name)}"><th scope="row"><a href="#${sectionId(service.name)}">${esc(service.name)}</a></th>`
        + `<td data-count="total">${c.total}</td><td data-count="healthy">${c.healthy}</td><td data-count="unhealthy">${c.unhealthy}</td>`
        + `<td data-count="unknown">${c.unknown}</td><td data-count="maintenance">${c.maintenance}</td><td data-count="open">${c.open}</td></tr>`;
    })
    .join('');
}

function checkCell(i: Instance): string {
  const kind = i.check?.type ?? 'ttl';
  const target = i.check?.type === 'http' ? i.check.url : i.check?.type === 'tcp' ? `${i.check.host ?? i.address}:${i.check.port ?? i.port}` : undefined;
  const last = i.note ? esc(i.note) : i.health === 'unknown' ? 'no result yet' : esc(i.health === 'healthy' ? 'passing' : 'failing');
  return `<span class="kind">${esc(kind)}</span>${target ? ` <span class="muted">${esc(target)}</span>` : ''}<br><span class="last">${last}</span>`;
}

function circuitCell(i: Instance): string {
  const countdown = i.circuit === 'open' && i.halfOpenAt !== null ? ` <span class="muted countdown wide" data-until="${i.halfOpenAt}" data-prefix="half-open in "></span>` : '';
  return `<span class="badge circuit-${i.circuit}" data-circuit="${i.circuit}">${i.circuit}</span>${countdown}`;
}

function actions(i: Instance): string {
  const key = `data-service="${esc(i.service)}" data-id="${esc(i.id)}"`;
  const label = `${esc(i.service)}/${esc(i.id)}`;
  const maint = i.maintenance
    ? `<button type="button" data-action="maint-off" ${key} aria-label="End maintenance of ${label}">End maint.</button>`
    : `<button type="button" data-action="maint-on" ${key} aria-label="Maintenance for ${label}">Maintenance</button>`;
  const reset = i.circuit === 'closed' ? '' : `<button type="button" data-action="reset" ${key} aria-label="Reset the circuit of ${label}">Reset circuit</button>`;
  return `<td class="actions write-only">${maint}${reset}<button type="button" class="danger" data-action="deregister" ${key} aria-label="Deregister ${label}">Deregister</button></td>`;
}

/** One instance's row. */
export function instanceRow(i: Instance): string {
  // The key is also the row's identity when the page patches rows in place.
  const tags = i.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join(' ');
  const meta = Object.entries(i.metadata).map(([k, v]) => `<span class="meta">${esc(k)}=${esc(v)}</span>`).join(' ');
  const reason = i.note && i.health !== 'healthy' ? `<br><span class="muted">${esc(i.note)}</span>` : '';
  const ttl = i.lapseAt === null ? '<span class="muted">—</span>' : `<span class="countdown" data-until="${i.lapseAt}"></span>`;
  const maint = i.maintenance ? `<span class="badge maint" data-maintenance="on">on</span>${i.maintenanceReason ? ` <span class="muted">${esc(i.maintenanceReason)}</span>` : ''}` : '<span class="muted" data-maintenance="off">off</span>';
  const cell = (label: string, html: string): string => `<td data-label="${label}">${html}</td>`;
  return `<tr data-instance="${esc(i.service)}/${esc(i.id)}" class="${i.servable && i.circuit !== 'open' ? '' : 'out'}">`
    + `<th scope="row">${esc(i.id)}</th>${cell('Address', esc(i.address))}${cell('Port', String(i.port))}${cell('Tags', tags)}${cell('Metadata', meta)}${cell('Weight', String(i.weight))}`
    + cell('Health', `<span class="badge health-${i.health}" data-health="${i.health}">${i.health}</span>${reason}`)
    + `${cell('Check', checkCell(i))}${cell('TTL left', ttl)}${cell('Maintenance', maint)}${cell('Circuit', circuitCell(i))}${actions(i)}</tr>`;
}

/** A service's `<summary>`: its name and instance counts by state. */
export function serviceSummary(service: Service): string {
  const c = countsOf(service);
  return `<h2>${esc(service.name)}</h2> <span class="counts">${c.total} instances · ${c.healthy} healthy · ${c.unhealthy} unhealthy · ${c.unknown} unknown · ${c.maintenance} in maintenance · ${c.open} open circuits · <strong data-in-dns>${c.inDns}</strong> in DNS</span>`;
}

/** A service's DNS names, each with a copy-able `dig` line. */
export function serviceDns(service: Service, overview: Overview): string {
  return dnsNames(service, overview.dns.domain)
    .map((name) => {
      const dig = digLine(name, overview.dns.servers);
      return `<li><code>${esc(name)}</code> <code class="dig">${esc(dig)}</code> <button type="button" data-action="copy" data-copy="${esc(dig)}" aria-label="Copy the dig command for ${esc(name)}">Copy</button></li>`;
    })
    .join('');
}

/** A service section's fixed markup; the summary, DNS list and rows are filled in (and patched) by the page. */
export const SERVICE_SKELETON = '<summary></summary><ul class="dns"></ul>'
  + '<div class="scroll" tabindex="0"><table><thead><tr><th scope="col">Instance</th><th scope="col">Address</th><th scope="col">Port</th><th scope="col">Tags</th>'
  + '<th scope="col">Metadata</th><th scope="col">Weight</th><th scope="col">Health</th><th scope="col">Check</th><th scope="col">TTL left</th>'
  + '<th scope="col">Maintenance</th><th scope="col">Circuit</th><th scope="col" class="write-only">Actions</th></tr></thead><tbody></tbody></table></div>';
