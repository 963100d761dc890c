import { describe, expect, it } from 'vitest';
import type { InstanceView } from '../../src/control/app.js';
import { healthCell, instancesTable, statsTable, table } from '../../src/cli/format.js';

const base: InstanceView = {
  service: 'api', id: 'a', address: '10.0.0.1', port: 80, tags: [], metadata: {}, weight: 1, priority: 0, protocol: 'tcp',
  health: 'healthy', maintenance: false, circuit: 'closed', registeredAt: 0, lastHeartbeat: 0, healthSince: 0,
};

describe('CLI tables', () => {
  it('aligns columns and trims trailing space', () => {
    expect(table(['A', 'LONGER'], [['xxxx', 'y'], ['z', '']])).toBe('A     LONGER\nxxxx  y\nz');
  });

  it('shows maintenance and a non-closed circuit in the health column', () => {
    expect(healthCell(base)).toBe('healthy');
    expect(healthCell({ ...base, maintenance: true, circuit: 'open' })).toBe('healthy, maintenance, circuit open');
  });

  it('lists instances with their check', () => {
    const rows = instancesTable([
      { ...base, tags: ['v1', 'eu'] },
      { ...base, id: 'b', port: 81, health: 'unhealthy', note: 'HTTP 500', check: { type: 'http', url: 'http://10.0.0.1:81/h' } },
      { ...base, id: 'c', port: 82, circuit: 'half-open', check: { type: 'tcp' } },
    ]);
    expect(rows.split('\n')).toEqual([
      'ID  ADDRESS   PORT  HEALTH                      TAGS   WEIGHT  CHECK                      NOTE',
      'a   10.0.0.1  80    healthy                     v1,eu  1       ttl',
      'b   10.0.0.1  81    unhealthy                   -      1       http http://10.0.0.1:81/h  HTTP 500',
      'c   10.0.0.1  82    healthy, circuit half-open  -      1       tcp 10.0.0.1:82',
    ]);
  });

  it('summarises stats, with DNS counts only when the daemon reports them', () => {
    const registry = { totalServices: 2, totalInstances: 5, healthyInstances: 3, unhealthyInstances: 1, unknownInstances: 1, maintenanceInstances: 1, index: 42 };
    expect(statsTable({ registry }).split('\n')).toEqual([
      'STAT          VALUE',
      'services      2',
      'instances     5 (3 healthy, 1 unhealthy, 1 unknown, 1 in maintenance)',
      'change index  42',
    ]);
    expect(statsTable({ registry, dns: { queries: 9, cacheHits: 4, cacheMisses: 5 } }).split('\n').at(-1)).toBe('dns queries   9 (cache hits 4, misses 5)');
  });
});
