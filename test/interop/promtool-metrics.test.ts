/**
 * `promtool check metrics` (Prometheus' own linter) on the real daemon's /metrics after DNS traffic over UDP
 * and TCP and control API traffic, with DNS answered in the main process and by two DNS workers.
 */
import { execFile, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { startDaemon, until } from '../e2e/daemon.js';

/** Ask `count` SRV questions with one dig run (dig takes several queries on one command line). */
function digMany(port: number, count: number, tcp: boolean): Promise<void> {
  const queries = Array.from({ length: count }, (_, i) => (i % 4 === 0 ? ['nosuch.local', 'A'] : ['_web._tcp.local', 'SRV'])).flat();
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=2', '+tries=1', ...(tcp ? ['+tcp'] : []), ...queries], { timeout: 30_000 }, (error) => (error ? reject(error) : resolve()));
  });
}

/** Run `promtool check metrics` on `text`; resolves with its exit code and output. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

/** The value of one sample line, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each([[1], [2]])('promtool check metrics, --workers %i', (workers) => {
  it('is clean after DNS (UDP, TCP) and control API traffic, with every family filled', async () => {
    const daemon = await startDaemon(['--workers', String(workers), '--ephemeral']);
    try {
      await daemon.ok('register', 'web', 'w1', '--address', '127.0.0.1', '--port', '8080');
      await daemon.ok('instances', 'web');
      await daemon.cli('show', 'web', 'nosuch');
      // 400 queries over UDP, then 300 over TCP: samples are at most 127 requests apart, so both transports
      // are in the latency sample (with two workers too: each has its own countdown).
      for (let i = 0; i < 4; i++) await digMany(daemon.dnsPort, 100, false);
      for (let i = 0; i < 3; i++) await digMany(daemon.dnsPort, 100, true);
      const client = new ControlClient({ socketPath: `${daemon.dataDir}/beacon.sock` });
      // Workers report their counters every second: wait until every query is counted.
      const text = await until(() => client.metrics(), (t) => (sample(t, 'beacon_dns_queries_total{qtype="SRV"}') ?? 0) >= 525);
      const checked = await promtool(text);
      expect(checked.output).toBe('');
      expect(checked.code).toBe(0);

      expect(sample(text, 'beacon_dns_answer_duration_seconds_count{rcode="NOERROR",transport="udp"}')).toBeGreaterThan(0);
      expect(sample(text, 'beacon_control_request_duration_seconds_count{method="PUT",route="/v1/services/:service/instances/:id",status="200"}')).toBe(1);
      expect(sample(text, 'beacon_dns_answer_duration_seconds_count{rcode="NOERROR",transport="tcp"}')).toBeGreaterThan(0);
      expect(sample(text, 'beacon_dns_tcp_connections_total')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'beacon_dns_cache_entries')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'beacon_dns_cache_bytes')).toBeGreaterThan(0);
      expect(sample(text, 'beacon_dns_workers_desired')).toBe(workers === 1 ? 0 : workers);
      expect(sample(text, 'beacon_dns_workers_alive')).toBe(workers === 1 ? 0 : workers);
      expect(sample(text, 'beacon_store_stale')).toBe(0);
      expect(sample(text, 'beacon_instances{health="healthy"}')).toBe(1);
      expect(text).toMatch(/^beacon_build_info\{version="[^"]+",node="v\d+[^"]*"\} 1$/m);
      expect(text).toMatch(/^process_cpu_seconds_total \d/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});
