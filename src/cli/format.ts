/**
 * Human output of the CLI: aligned text tables, `key  value` blocks and short durations. `--json` bypasses
 * all of this. Columns are aligned by display width (string-width: East Asian wide characters and emoji
 * take two terminal cells), not by `.length`, so CJK and emoji ids line up.
 *
 * string-width is loaded only for output that has non-ASCII text (`loadDisplayWidth`, which `output` in
 * commands/shared.ts calls): loading it and its first call compile Unicode property regexes and an
 * Intl.Segmenter, measured at 100-300 ms, which every command would otherwise pay at startup.
 */
import type { InstanceView } from '../control/instance-view.js';
import type { WatchEvent } from '../control/watch.js';
import type { RegistryStats } from '../registry/types.js';

let wideWidth: ((text: string) => number) | undefined;

/** Load string-width, needed before rendering non-ASCII text (see above). */
export async function loadDisplayWidth(): Promise<void> {
  wideWidth ??= (await import('string-width')).default;
}

/** Whether `value` (a command's result) holds non-ASCII text, so that rendering it needs `loadDisplayWidth`. */
export function hasNonAscii(value: unknown): boolean {
  // JSON escapes control characters, so anything outside printable ASCII here is non-ASCII text.
  return /[^\x20-\x7e]/.test(JSON.stringify(value) ?? '');
}

/** Terminal cells `text` takes. Printable ASCII is one cell a character; anything else asks string-width. */
export function stringWidth(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  // Not loaded (a caller skipped loadDisplayWidth): code points, which is right for most scripts.
  return wideWidth ? wideWidth(text) : [...text].length;
}

/** `text` padded with spaces to `width` terminal cells. */
export function padCells(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stringWidth(text)));
}

/** Render rows as an aligned table with a header line. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : padCells(c, widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `key  value` lines with the keys padded to one width. */
export function keyValues(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([k]) => stringWidth(k)));
  return rows.map(([k, v]) => `${padCells(k, width)}  ${v}`.trimEnd()).join('\n');
}

/**
 * A duration as people write it: `250ms`, `3s`, `1.5s`, `1m30s`, `2h5m`, `3d4h`. Below a minute a
 * fraction of a second is kept (one decimal); from a minute on, whole seconds, and the two largest units.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((Math.floor(ms / 100) / 10).toFixed(1))}s`;
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  let rest = Math.floor(ms / 1000) * 1000;
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
  }
  // The two largest units say enough ("2h5m", not "2h5m12s"); a zero second unit is dropped ("1m", not "1m0s").
  return parts.slice(0, 2).filter((p, i) => i === 0 || !/^0/.test(p)).join('');
}

/** How long ago `at` was, e.g. `3s ago`. */
export function ago(at: number, now: number): string {
  return `${formatDuration(Math.max(0, now - at))} ago`;
}

/** The health column: health plus maintenance (with its reason) and circuit when they matter. */
export function healthCell(instance: InstanceView): string {
  const parts: string[] = [instance.health];
  if (instance.maintenance) parts.push(instance.maintenanceReason ? `maintenance: ${instance.maintenanceReason}` : 'maintenance');
  if (instance.circuit !== 'closed') parts.push(`circuit ${instance.circuit}`);
  return parts.join(', ');
}

/** A table of instances. */
export function instancesTable(instances: readonly InstanceView[]): string {
  return table(
    ['ID', 'ADDRESS', 'PORT', 'HEALTH', 'TAGS', 'WEIGHT', 'CHECK', 'NOTE'],
    instances.map((i) => [
      i.id,
      i.address,
      String(i.port),
      healthCell(i),
      i.tags.join(',') || '-',
      String(i.weight),
      checkCell(i),
      i.note ?? '',
    ]),
  );
}

interface CheckShape {
  readonly type?: string;
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

/** The CHECK column: `ttl 3s`, `http <url>`, `tcp host:port`. */
function checkCell(instance: InstanceView): string {
  const check = instance.check as CheckShape | undefined;
  if (!check?.type || check.type === 'ttl') return instance.ttlMs === undefined ? 'ttl' : `ttl ${formatDuration(instance.ttlMs)}`;
  if (check.type === 'http') return `http ${check.url ?? ''}`;
  if (check.type === 'tcp') return `tcp ${check.host ?? instance.address}:${check.port ?? instance.port}`;
  return check.type;
}

/** The TTL an instance's heartbeats must beat, when it has a TTL check with a known TTL. */
function heartbeatTtl(instance: InstanceView): number | undefined {
  const check = instance.check as CheckShape | undefined;
  return !check?.type || check.type === 'ttl' ? instance.ttlMs : undefined;
}

/** One instance as `key  value` lines, with its liveness figures relative to `now`. */
export function instanceDetails(instance: InstanceView, now: number = Date.now()): string {
  const check = instance.check as CheckShape | undefined;
  const rows: [string, string][] = [
    ['service', instance.service],
    ['id', instance.id],
    ['address', `${instance.address}:${instance.port} (${instance.protocol})`],
    ['health', `${instance.health} for ${formatDuration(Math.max(0, now - instance.healthSince))}`],
  ];
  if (instance.maintenance) rows.push(['maintenance', instance.maintenanceReason ? `on: ${instance.maintenanceReason}` : 'on']);
  if (instance.circuit !== 'closed') rows.push(['circuit', instance.circuit]);
  rows.push(['check', checkCell(instance)]);
  if (check?.type === 'http' || check?.type === 'tcp') {
    const timing = [check.intervalMs === undefined ? undefined : `every ${formatDuration(check.intervalMs)}`, check.timeoutMs === undefined ? undefined : `timeout ${formatDuration(check.timeoutMs)}`].filter(Boolean);
    if (timing.length > 0) rows.push(['check timing', timing.join(', ')]);
  }
  rows.push(['last result', instance.note ? `${instance.health}: ${instance.note}` : instance.health]);
  rows.push(['last heartbeat', ago(instance.lastHeartbeat, now)]);
  const ttl = heartbeatTtl(instance);
  if (ttl !== undefined) {
    const left = instance.lastHeartbeat + ttl - now;
    rows.push(['ttl remaining', left > 0 ? `${formatDuration(left)} of ${formatDuration(ttl)}` : `expired ${formatDuration(-left)} ago (ttl ${formatDuration(ttl)})`]);
  }
  rows.push(
    ['tags', instance.tags.join(', ') || '-'],
    ['metadata', Object.entries(instance.metadata).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ['weight/priority', `${instance.weight}/${instance.priority}`],
    ['registered', ago(instance.registeredAt, now)],
  );
  return keyValues(rows);
}

/** What `/v1/stats` may hold besides the registry counts. */
interface StatsExtras {
  readonly dns?: { queries?: number; cacheHits?: number; cacheMisses?: number; cacheEntries?: number; cacheBytes?: number; dropped?: number; truncated?: number; tcpOpen?: number };
  readonly checks?: { scheduled?: number; inFlight?: number };
  readonly watchers?: number;
}

/** `beacon stats`: registry counts, health checks, and DNS figures when the daemon reports them. */
export function statsTable(stats: { readonly registry: RegistryStats; readonly dns?: unknown; readonly checks?: unknown; readonly watchers?: unknown }): string {
  const r = stats.registry;
  const { dns, checks, watchers } = stats as StatsExtras;
  const rows: [string, string][] = [
    ['services', String(r.totalServices)],
    ['instances', `${r.totalInstances} (${r.healthyInstances} healthy, ${r.unhealthyInstances} unhealthy, ${r.unknownInstances} unknown, ${r.maintenanceInstances} in maintenance)`],
    ['change index', String(r.index)],
  ];
  if (checks) rows.push(['health checks', `${checks.scheduled ?? 0} scheduled, ${checks.inFlight ?? 0} running`]);
  if (typeof watchers === 'number') rows.push(['watchers', String(watchers)]);
  if (dns) {
    rows.push(['dns queries', `${dns.queries ?? 0} (cache hits ${dns.cacheHits ?? 0}, misses ${dns.cacheMisses ?? 0})`]);
    if (dns.cacheEntries !== undefined) rows.push(['dns cache', `${dns.cacheEntries} entries, ${dns.cacheBytes ?? 0} bytes`]);
    if (dns.dropped !== undefined) rows.push(['dns dropped', `${dns.dropped} (truncated replies ${dns.truncated ?? 0})`]);
    if (dns.tcpOpen !== undefined) rows.push(['dns tcp open', String(dns.tcpOpen)]);
  }
  return table(['STAT', 'VALUE'], rows);
}

/** `beacon info`: the daemon's facts as `key  value` lines. */
export function infoDetails(info: Record<string, unknown>): string {
  const dns = (info.dns ?? {}) as { udp?: string[]; tcp?: string[]; udpTransport?: string; udpTransportReason?: string };
  const control = (info.control ?? {}) as { socket?: string; tcp?: string };
  const mdns = info.mdns as { interfaces?: string[] } | undefined;
  const rows: [string, string][] = [];
  const add = (key: string, value: unknown): void => {
    if (value !== undefined && value !== '') rows.push([key, String(value)]);
  };
  add('version', info.version);
  add('pid', info.pid);
  add('store', info.store);
  add('data dir', info.dataDir);
  add('domain', info.domain);
  add('dns udp', dns.udp?.join(', '));
  add('dns tcp', dns.tcp?.join(', '));
  add('udp transport', dns.udpTransport === undefined ? undefined : `${dns.udpTransport}${dns.udpTransportReason ? ` (${dns.udpTransportReason})` : ''}`);
  add('mdns', mdns?.interfaces?.join(', '));
  add('control socket', control.socket);
  add('control tcp', control.tcp);
  add('change index', info.index);
  return keyValues(rows);
}

/** Column widths of `watch` (fixed: rows are printed as they come). */
const WATCH_COLUMNS = [['INDEX', 8], ['CHANGE', 16], ['INSTANCE', 32], ['STATE', 0]] as const;

/** The header line of `watch`. */
export function watchHeader(): string {
  return WATCH_COLUMNS.map(([name, width]) => padCells(name, width)).join('  ').trimEnd();
}

/** One change as a `watch` row, aligned under `watchHeader` (a longer cell pushes the rest right). */
export function watchRow(e: WatchEvent): string {
  const state = e.removed ? 'removed' : `${e.health ?? ''}${e.maintenance ? ', maintenance' : ''}`;
  const cells = [String(e.index), e.type, `${e.service}/${e.id}`, state];
  return cells.map((cell, i) => padCells(cell, WATCH_COLUMNS[i]?.[1] ?? 0)).join('  ').trimEnd();
}
