// The benchmark harness runs end to end with tiny counts: Beacon, NSD and the dgram ceiling all answer
// dnsperf, Beacon's answers match NSD's on the same records, and the churn probe sees every change.
// No throughput figure is asserted (that would be a timing assertion): only that the pipeline works.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM helpers of the bench script, no type declarations
import { latencyPercentiles, parseDnsperf, perQueryLatency } from '../../scripts/bench/dnsperf.mjs';
// @ts-expect-error: plain ESM helpers of the bench script, no type declarations
import { buildDataset, buildQueryFile, buildZoneFile } from '../../scripts/bench/dataset.mjs';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SAMPLE = `Statistics:

  Queries sent:         1351640
  Queries completed:    1351600 (100.00%)
  Queries lost:         40 (0.00%)

  Response codes:       NOERROR 1284058 (95.00%), NXDOMAIN 67542 (5.00%)
  Average packet size:  request 40, response 120
  Run time (s):         10.000071
  Queries per second:   135163.040410

  Average Latency (s):  0.000712 (min 0.000014, max 0.008043)
  Latency StdDev (s):   0.000296
`;

describe('bench helpers', () => {
  it('parses a dnsperf summary', () => {
    const r = parseDnsperf(SAMPLE);
    expect(r).toMatchObject({ sent: 1351640, completed: 1351600, lost: 40, requestBytes: 40, responseBytes: 120 });
    expect(r.qps).toBeCloseTo(135163.04, 2);
    expect(r.avgLatencyMs).toBeCloseTo(0.712, 6);
    expect(r.maxLatencyMs).toBeCloseTo(8.043, 6);
    expect(r.rcodes).toEqual({ NOERROR: 1284058, NXDOMAIN: 67542 });
  });

  it('reads per-query latencies from dnsperf -v lines into percentiles', () => {
    expect(perQueryLatency('> NOERROR _svc-00000._tcp.local. PTR 0.000254')).toBeCloseTo(0.000254, 9);
    expect(perQueryLatency('> NXDOMAIN _nosuch-1._tcp.local. SRV 0.000010')).toBeCloseTo(0.00001, 9);
    expect(perQueryLatency('[Status] Sending queries (to 127.0.0.1:40338)')).toBeUndefined();
    expect(perQueryLatency('  Queries sent:         1351640')).toBeUndefined();
    // 1000 latencies of 1..1000 us: p50 501 us, p99 991 us, p99.9 1000 us.
    const r = latencyPercentiles(Array.from({ length: 1000 }, (_, i) => (1000 - i) / 1e6));
    expect(r.latencySamples).toBe(1000);
    expect(r.p50LatencyMs).toBeCloseTo(0.501, 9);
    expect(r.p99LatencyMs).toBeCloseTo(0.991, 9);
    expect(r.p999LatencyMs).toBeCloseTo(1, 9);
    expect(latencyPercentiles([])).toEqual({});
  });

  it('builds a deterministic query file with every query kind and a zone holding every queried name', () => {
    const ds = buildDataset({ services: 4, instances: 3 });
    const a = buildQueryFile(ds, { lines: 2000, seed: 5 });
    const b = buildQueryFile(ds, { lines: 2000, seed: 5 });
    expect(a.text).toBe(b.text);
    for (const kind of Object.keys(a.mix)) expect(a.mix[kind]).toBeGreaterThan(0);
    const zone: string = buildZoneFile(ds);
    for (const line of a.text.trim().split('\n')) {
      const [name, type] = line.split(' ');
      const present = zone.includes(`${name} IN ${type} `);
      // Only the deliberately unknown names are absent from the zone.
      expect(present || /^(_nosuch-|ghost-)/.test(name!)).toBe(true);
    }
  });
});

describe('npm run bench (tiny)', () => {
  it('measures Beacon, NSD and the ceiling and writes JSON', async () => {
    const out = join(dir, 'bench.json');
    await run(process.execPath, [
      'scripts/bench.mjs', '--quick', '--services', '3', '--instances', '2', '--seconds', '1', '--short-seconds', '1',
      '--rounds', '1', '--no-multicore', '--churn-rate', '200', '--out', out,
    ], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    const results = JSON.parse(readFileSync(out, 'utf8'));
    expect(results.error).toBeUndefined();
    expect(results.tools.dnsperf).toBeTruthy();
    expect(results.tools.nsd).toBeTruthy();
    const udp = results.phases[0];
    for (const server of ['beacon', 'nsd', 'ceiling']) expect(udp.medians[server].qps).toBeGreaterThan(0);
    // Same query file, same records: same NXDOMAIN share for Beacon and NSD, and identical answer sets.
    expect(udp.runs.beacon[0].rcodes.NXDOMAIN).toBeGreaterThan(0);
    expect(results.crossCheck.same).toBe(results.crossCheck.checked);
    const churn = results.phases.find((p: { title: string }) => p.title.startsWith('churn')).churn;
    expect(churn.probes).toBeGreaterThan(0);
    expect(churn.probeFailures).toBe(0);
    expect(results.phases.map((p: { title: string }) => p.title)).toEqual(expect.arrayContaining(['TCP']));
  }, 150_000);
});
