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

describe('durations, display widths, info, watch rows', () => {
  it('loads string-width only for non-ASCII output', async () => {
    const { hasNonAscii } = await import('../../src/cli/format.js');
    expect(hasNonAscii({ id: 'web-1', note: 'line\nbreak' })).toBe(false);
    expect(hasNonAscii({ id: '東京' })).toBe(true);
    expect(hasNonAscii([{ id: 'é' }])).toBe(true);
  });

  it('prints durations the way people write them', async () => {
    const { formatDuration } = await import('../../src/cli/format.js');
    expect([0, 250, 1000, 1500, 3000, 59_999, 60_000, 90_000, 3_600_000, 3_660_000, 7_512_000, 90_000_000].map(formatDuration)).toEqual([
      '0ms', '250ms', '1s', '1.5s', '3s', '59.9s', '1m', '1m30s', '1h', '1h1m', '2h5m', '1d1h',
    ]);
  });

  it('CHECK says `ttl 3s`, not milliseconds', () => {
    expect(instancesTable([{ ...base, ttlMs: 3000 }]).split('\n')[1]).toMatch(/ttl 3s$/);
  });

  it('aligns by display width: CJK and emoji take two cells', async () => {
    const { loadDisplayWidth } = await import('../../src/cli/format.js');
    await loadDisplayWidth();
    expect(table(['ID', 'PORT'], [['東京', '1'], ['😀x', '2'], ['abcd', '3']]).split('\n')).toEqual(['ID    PORT', '東京  1', '😀x   2', 'abcd  3']);
  });

  it('stats shows the health check figures', () => {
    const registry = { totalServices: 0, totalInstances: 0, healthyInstances: 0, unhealthyInstances: 0, unknownInstances: 0, maintenanceInstances: 0, index: 0 };
    expect(statsTable({ registry, checks: { scheduled: 4, inFlight: 1 } }).split('\n')).toContain('health checks  4 scheduled, 1 running');
  });

  it('info as key/value lines', async () => {
    const { infoDetails } = await import('../../src/cli/format.js');
    const text = infoDetails({ version: '0.1.0', pid: 7, store: 'sqlite', dataDir: '/var/lib/beacon', domain: 'local.', dns: { udp: ['127.0.0.1:53'], tcp: ['127.0.0.1:53'], udpTransport: 'dgram', udpTransportReason: 'no addon' }, control: { socket: '/run/beacon/beacon.sock' }, index: 3 });
    expect(text.split('\n')).toEqual([
      'version         0.1.0',
      'pid             7',
      'store           sqlite',
      'data dir        /var/lib/beacon',
      'domain          local.',
      'dns udp         127.0.0.1:53',
      'dns tcp         127.0.0.1:53',
      'udp transport   dgram (no addon)',
      'control socket  /run/beacon/beacon.sock',
      'change index    3',
    ]);
  });

  it('watch rows line up under the header, CJK ids too', async () => {
    const { loadDisplayWidth, watchHeader, watchRow } = await import('../../src/cli/format.js');
    await loadDisplayWidth();
    const header = watchHeader();
    const row = watchRow({ index: 12, type: 'set-maintenance', service: 'web', id: '東京', health: 'healthy', maintenance: true, removed: false });
    expect(header).toBe('INDEX     CHANGE            INSTANCE                          STATE');
    expect(row).toBe('12        set-maintenance   web/東京                          healthy, maintenance');
    expect(watchRow({ index: 13, type: 'deregister', service: 'web', id: 'a', removed: true })).toMatch(/ removed$/);
  });
});
