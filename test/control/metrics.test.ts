import { afterEach, describe, expect, it } from 'vitest';
import { ANSWER_LATENCY_BUCKETS, ANSWER_LATENCY_SAMPLE_EVERY, AnswerLatencySampler, answerLatencySeries } from '../../src/dns/answer-latency.js';
import { DnsCounters } from '../../src/dns/stats.js';
import { Metrics, type MetricsInputs } from '../../src/control/metrics.js';
import { makeApp } from './harness.js';

const registry: MetricsInputs['registry'] = { totalServices: 2, totalInstances: 5, healthyInstances: 3, unhealthyInstances: 1, unknownInstances: 1, maintenanceInstances: 1, index: 42 };
const dns = {
  queriesByType: { SRV: 7 },
  responsesByRcode: { NOERROR: 6, NXDOMAIN: 1 },
  cacheHits: 4,
  cacheMisses: 3,
  cacheEntries: 3,
  cacheBytes: 1200,
  cacheInvalidations: 1,
  dropped: 2,
  truncated: 0,
  internalErrors: 0,
  tcpConnections: 5,
  tcpOpen: 2,
  tcpRejected: 1,
};

/** The value of one sample line, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let made: Awaited<ReturnType<typeof makeApp>> | undefined;
afterEach(async () => {
  await made?.close();
  made = undefined;
});

describe('Prometheus metrics', () => {
  it('beacon_build_info carries the Beacon and Node.js versions', async () => {
    const text = await new Metrics({ build: { version: '9.8.7' } }).render({ registry });
    expect(sample(text, `beacon_build_info{version="9.8.7",node="${process.version}"}`)).toBe(1);
  });

  it('adds the default process and Node.js runtime metrics only when asked', async () => {
    const text = await new Metrics({ runtime: true }).render({ registry });
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
    expect(await new Metrics().render({ registry })).not.toContain('process_cpu_user_seconds_total');
  });

  it('registry gauges read at scrape time', async () => {
    const text = await new Metrics().render({ registry, watchers: 3, checksScheduled: 2 });
    expect(sample(text, 'beacon_services')).toBe(2);
    expect(sample(text, 'beacon_instances{health="healthy"}')).toBe(3);
    expect(sample(text, 'beacon_instances{health="unhealthy"}')).toBe(1);
    expect(sample(text, 'beacon_instances{health="unknown"}')).toBe(1);
    expect(sample(text, 'beacon_instances_maintenance')).toBe(1);
    expect(sample(text, 'beacon_change_index')).toBe(42);
    expect(sample(text, 'beacon_watchers')).toBe(3);
    expect(sample(text, 'beacon_checks_scheduled')).toBe(2);
  });

  it('DNS counters and gauges: cache entries and bytes, open TCP connections, drops', async () => {
    const text = await new Metrics().render({ registry, dns });
    expect(sample(text, 'beacon_dns_queries_total{qtype="SRV"}')).toBe(7);
    expect(sample(text, 'beacon_dns_responses_total{rcode="NXDOMAIN"}')).toBe(1);
    expect(sample(text, 'beacon_dns_cache_hits_total')).toBe(4);
    expect(sample(text, 'beacon_dns_cache_misses_total')).toBe(3);
    expect(sample(text, 'beacon_dns_cache_invalidations_total')).toBe(1);
    expect(sample(text, 'beacon_dns_cache_entries')).toBe(3);
    expect(sample(text, 'beacon_dns_cache_bytes')).toBe(1200);
    expect(sample(text, 'beacon_dns_dropped_total')).toBe(2);
    expect(sample(text, 'beacon_dns_tcp_connections_total')).toBe(5);
    expect(sample(text, 'beacon_dns_tcp_connections_open')).toBe(2);
    expect(sample(text, 'beacon_dns_tcp_rejected_total')).toBe(1);
    expect(text).toContain('# TYPE beacon_dns_cache_bytes gauge');
    expect(text).toContain('# TYPE beacon_dns_tcp_rejected_total counter');
  });

  it('workers desired and alive, store stale: read from the daemon at each scrape', async () => {
    let alive = 2;
    let stale = false;
    const metrics = new Metrics({ daemon: { workersDesired: () => 2, workersAlive: () => alive, storeStale: () => stale } });
    let text = await metrics.render({ registry });
    expect(sample(text, 'beacon_dns_workers_desired')).toBe(2);
    expect(sample(text, 'beacon_dns_workers_alive')).toBe(2);
    expect(sample(text, 'beacon_store_stale')).toBe(0);
    alive = 1;
    stale = true;
    text = await metrics.render({ registry });
    expect(sample(text, 'beacon_dns_workers_alive')).toBe(1);
    expect(sample(text, 'beacon_store_stale')).toBe(1);
    expect(await new Metrics().render({ registry })).not.toContain('beacon_store_stale');
  });

  it('DNS answer latency: a cumulative histogram by transport and rcode from the (summed) bucket counts', async () => {
    const a = new AnswerLatencySampler(String);
    a.record('udp', 'NOERROR', 0.00002);
    a.record('udp', 'NOERROR', 0.0004);
    const b = new AnswerLatencySampler(String);
    b.record('udp', 'NOERROR', 0.00002);
    b.record('tcp', 'NXDOMAIN', 5);
    // What the daemon does with its workers' reports: add the records key by key.
    const summed: Record<string, number> = {};
    for (const figures of [a.snapshot(), b.snapshot()]) for (const [k, v] of Object.entries(figures)) summed[k] = (summed[k] ?? 0) + v;
    const text = await new Metrics().render({ registry, dns: { ...dns, answerLatency: summed } });
    const name = 'beacon_dns_answer_duration_seconds';
    expect(text).toContain(`# TYPE ${name} histogram`);
    expect(sample(text, `${name}_bucket{rcode="NOERROR",transport="udp",le="0.00001"}`)).toBe(0);
    expect(sample(text, `${name}_bucket{rcode="NOERROR",transport="udp",le="0.000025"}`)).toBe(2);
    expect(sample(text, `${name}_bucket{rcode="NOERROR",transport="udp",le="0.0005"}`)).toBe(3);
    expect(sample(text, `${name}_bucket{rcode="NOERROR",transport="udp",le="+Inf"}`)).toBe(3);
    expect(sample(text, `${name}_count{rcode="NOERROR",transport="udp"}`)).toBe(3);
    expect(sample(text, `${name}_sum{rcode="NOERROR",transport="udp"}`)).toBeCloseTo(0.00044, 10);
    expect(sample(text, `${name}_bucket{rcode="NXDOMAIN",transport="tcp",le="0.1"}`)).toBe(0);
    expect(sample(text, `${name}_bucket{rcode="NXDOMAIN",transport="tcp",le="+Inf"}`)).toBe(1);
    expect(answerLatencySeries(summed)).toHaveLength(2);
  });

  it('the sampler times one request in 64 on average, at random gaps of 1 to 127 requests', () => {
    const draws = [0, 0.999999, 0.5];
    const sampler = new AnswerLatencySampler(() => 'NOERROR', () => draws.shift() ?? 0.5);
    const sampledAt: number[] = [];
    for (let i = 1; i <= 64 + 1 + 127 + 64; i++) {
      const before = answerLatencySeries(sampler.snapshot())[0]?.counts.reduce((x, y) => x + y, 0) ?? 0;
      sampler.started('udp');
      sampler.answered(0);
      const after = answerLatencySeries(sampler.snapshot())[0]?.counts.reduce((x, y) => x + y, 0) ?? 0;
      if (after > before) sampledAt.push(i);
    }
    expect(sampledAt).toEqual([64, 65, 65 + 127, 65 + 127 + 64]);
  });

  it('the DNS counters time requests by transport and label them with the rcode answered', () => {
    const counters = new DnsCounters();
    for (let i = 0; i < ANSWER_LATENCY_SAMPLE_EVERY * 3; i++) {
      counters.started(i < ANSWER_LATENCY_SAMPLE_EVERY ? 'tcp' : 'udp');
      counters.response(3);
    }
    const series = answerLatencySeries(counters.snapshot({ size: 0, bytes: 0, invalidated: 0 }).answerLatency ?? {});
    const count = (transport: string) => series.find((s) => s.transport === transport && s.rcode === 'NXDOMAIN')?.counts.reduce((x, y) => x + y, 0);
    // The first sample is the 64th request (a tcp one); the next ones fall 1 to 127 requests later (udp).
    expect(count('tcp')).toBe(1);
    expect(count('udp')).toBeGreaterThanOrEqual(1);
    expect(series.every((s) => s.counts.length === ANSWER_LATENCY_BUCKETS.length + 1)).toBe(true);
  });

  it('control API latency histogram by method, route pattern and status', async () => {
    made = await makeApp();
    const { app } = made;
    await app.inject({ method: 'PUT', url: '/v1/services/api/instances/a', payload: JSON.stringify({ address: '10.0.0.1', port: 80 }), headers: { 'content-type': 'application/json' } });
    await app.inject({ method: 'GET', url: '/v1/services/api/instances/a' });
    await app.inject({ method: 'GET', url: '/v1/services/api/instances/nope' });
    await app.inject({ method: 'GET', url: '/no/such/route' });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const name = 'beacon_control_request_duration_seconds';
    expect(text).toContain(`# TYPE ${name} histogram`);
    expect(sample(text, `${name}_count{method="PUT",route="/v1/services/:service/instances/:id",status="200"}`)).toBe(1);
    expect(sample(text, `${name}_count{method="GET",route="/v1/services/:service/instances/:id",status="200"}`)).toBe(1);
    expect(sample(text, `${name}_count{method="GET",route="/v1/services/:service/instances/:id",status="404"}`)).toBe(1);
    expect(sample(text, `${name}_count{method="GET",route="unmatched",status="404"}`)).toBe(1);
    expect(sample(text, `${name}_bucket{le="+Inf",method="GET",route="unmatched",status="404"}`)).toBe(1);
  });

  it('every family has a written HELP line (no generated "DNS fooBar." ones)', async () => {
    const text = await new Metrics({ runtime: true, build: { version: '1' }, daemon: { workersDesired: () => 0, workersAlive: () => 0, storeStale: () => false } }).render({ registry, dns, watchers: 0, checksScheduled: 0 });
    const helps = text.split('\n').filter((l) => l.startsWith('# HELP beacon_'));
    expect(helps.length).toBeGreaterThanOrEqual(30);
    for (const help of helps) {
      const words = help.split(' ').slice(3);
      expect(words.length, help).toBeGreaterThanOrEqual(4);
      expect(help, help).not.toMatch(/ DNS [a-z]+[A-Z]\w*\.$/);
    }
  });
});
