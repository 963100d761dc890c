import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestHistogram } from '../../src/control/request-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60];
const NAME = 'beacon_control_request_duration_seconds';
const HELP = 'Control API request latency, from the request arriving to the response sent, by method, route pattern and HTTP status.';

type Observation = [method: string, route: string, status: number, seconds: number];

/** The same observations through prom-client's Histogram and through RequestHistogram, each in its own registry. */
function both(observations: readonly Observation[]): { reference: Registry; ours: Registry } {
  const reference = new Registry();
  const histogram = new Histogram({ name: NAME, help: HELP, labelNames: ['method', 'route', 'status'], buckets: BUCKETS, registers: [reference] });
  const ours = new Registry();
  const requestHistogram = new RequestHistogram(NAME, HELP, BUCKETS, ours);
  for (const [method, route, status, seconds] of observations) {
    histogram.observe({ method, route, status: String(status) }, seconds);
    requestHistogram.observe(method, route, status, seconds);
  }
  return { reference, ours };
}

/** Interleaved label sets, values on bucket bounds, between them, above the last one, and zero. */
function mixed(): Observation[] {
  const routes = ['/v1/services/:service/instances/:id', 'unmatched', '/v1/services/:service'];
  const seconds = [0, 0.0005, 0.0007, 0.001, 0.0031, 0.05, 0.2, 1, 2.5, 9.99, 60, 61, 1e-9, 0.12345678];
  const out: Observation[] = [];
  for (let i = 0; i < 200; i++) out.push([i % 3 === 0 ? 'GET' : 'PUT', routes[i % routes.length]!, i % 7 === 0 ? 404 : 200, seconds[i % seconds.length]!]);
  return out;
}

describe('RequestHistogram', () => {
  it('renders the same exposition text as prom-client’s Histogram, byte for byte', async () => {
    const { reference, ours } = both(mixed());
    const text = await ours.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain(`${NAME}_bucket{le="0.0005",method="PUT",route="unmatched",status="200"}`);
    expect(text).toContain(`${NAME}_count{method="GET",route="/v1/services/:service/instances/:id",status="404"}`);
  });

  it('gives the same JSON as prom-client’s Histogram', async () => {
    const { reference, ours } = both(mixed());
    expect(await ours.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON());
  });

  it('renders only HELP and TYPE before any observation, like prom-client', async () => {
    const { reference, ours } = both([]);
    expect(await ours.metrics()).toBe(await reference.metrics());
  });

  it('counts per bucket, cumulatively rendered, with sum and count', async () => {
    const { ours } = both([['PUT', '/r', 200, 0.0004], ['PUT', '/r', 200, 0.001], ['PUT', '/r', 200, 100]]);
    const text = await ours.metrics();
    const value = (sample: string): number => Number(text.split('\n').find((line) => line.startsWith(`${sample} `))?.split(' ')[1]);
    expect(value(`${NAME}_bucket{le="0.0005",method="PUT",route="/r",status="200"}`)).toBe(1);
    expect(value(`${NAME}_bucket{le="0.001",method="PUT",route="/r",status="200"}`)).toBe(2);
    expect(value(`${NAME}_bucket{le="60",method="PUT",route="/r",status="200"}`)).toBe(2);
    expect(value(`${NAME}_bucket{le="+Inf",method="PUT",route="/r",status="200"}`)).toBe(3);
    expect(value(`${NAME}_count{method="PUT",route="/r",status="200"}`)).toBe(3);
    expect(value(`${NAME}_sum{method="PUT",route="/r",status="200"}`)).toBeCloseTo(100.0014, 10);
  });

  it('ignores a non-finite duration instead of failing the request', async () => {
    const { ours } = both([]);
    const histogram = new RequestHistogram('x_seconds', 'x', BUCKETS, new Registry());
    expect(() => histogram.observe('GET', '/r', 200, Number.NaN)).not.toThrow();
    expect((await histogram.getForPromString()).values).toEqual([]);
    expect(await ours.metrics()).not.toContain('_count');
  });
});
