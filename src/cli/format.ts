/** Human output of the CLI: aligned text tables and short summaries. `--json` bypasses all of this. */
import type { InstanceView } from '../control/instance-view.js';
import type { RegistryStats } from '../registry/types.js';

/** Render rows as an aligned table with a header line. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** The health column: health plus maintenance and circuit when they matter. */
export function healthCell(instance: InstanceView): string {
  const parts: string[] = [instance.health];
  if (instance.maintenance) parts.push('maintenance');
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

function checkCell(instance: InstanceView): string {
  const check = instance.check as { type?: string; url?: string; host?: string; port?: number } | undefined;
  if (!check?.type) return instance.ttlMs === undefined ? 'ttl' : `ttl ${instance.ttlMs}ms`;
  if (check.type === 'http') return `http ${check.url ?? ''}`;
  if (check.type === 'tcp') return `tcp ${check.host ?? instance.address}:${check.port ?? instance.port}`;
  return 'ttl';
}

/** One instance as `key: value` lines. */
export function instanceDetails(instance: InstanceView): string {
  const rows: [string, string][] = [
    ['service', instance.service],
    ['id', instance.id],
    ['address', `${instance.address}:${instance.port} (${instance.protocol})`],
    ['health', healthCell(instance)],
    ['tags', instance.tags.join(', ') || '-'],
    ['metadata', Object.entries(instance.metadata).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ['weight/priority', `${instance.weight}/${instance.priority}`],
    ['check', checkCell(instance)],
  ];
  if (instance.note) rows.push(['note', instance.note]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** `beacon stats`: registry counts, and DNS query counts when the daemon reports them. */
export function statsTable(stats: { readonly registry: RegistryStats; readonly dns?: unknown }): string {
  const r = stats.registry;
  const dns = stats.dns as { queries?: number; cacheHits?: number; cacheMisses?: number } | undefined;
  const rows: [string, string][] = [
    ['services', String(r.totalServices)],
    ['instances', `${r.totalInstances} (${r.healthyInstances} healthy, ${r.unhealthyInstances} unhealthy, ${r.unknownInstances} unknown, ${r.maintenanceInstances} in maintenance)`],
    ['change index', String(r.index)],
  ];
  if (dns) rows.push(['dns queries', `${dns.queries ?? 0} (cache hits ${dns.cacheHits ?? 0}, misses ${dns.cacheMisses ?? 0})`]);
  return table(['STAT', 'VALUE'], rows);
}
