/**
 * The control API's request latency histogram (method, route pattern, status), observed once per request on
 * the daemon's event loop. prom-client's Histogram would do, but its `observe` takes a labels object, checks
 * it, hashes it into a string and looks buckets up by their bound as a property name, for every request;
 * here a request is three Map lookups (no allocation once a label set exists) and one linear bucket scan.
 * Rendering stays prom-client's own: `getForPromString` hands its registry the values in exactly the shape
 * its Histogram does (same order, labels and sums), so the exposition text is the same byte for byte
 * (test/control/request-histogram.test.ts compares the two).
 */
import type { Metric, Registry } from 'prom-client';

/** One label set's counts. */
interface Series {
  readonly labels: { readonly method: string; readonly route: string; readonly status: string };
  /** Observations per bucket (not cumulative): index i counts values in (bounds[i-1], bounds[i]]. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** One sample as prom-client's registry renders it (its histogram's `getForPromString` shape). */
interface Sample {
  readonly labels: Record<string, string | number>;
  readonly sharedLabels: Record<string, string>;
  readonly value: number;
  readonly metricName: string;
  readonly exemplar?: null;
}

/** What prom-client's registry reads from a metric to render it. */
interface Rendered {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: Sample[];
}

/** A histogram with the labels `method`, `route` and `status`, registered in a prom-client registry. */
export class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** prom-client calls this before rendering when set; nothing is pulled here. */
  readonly collect = undefined;
  /** method -> route -> status -> series; Map insertion order is the order prom-client's hash map keeps. */
  private readonly series = new Map<string, Map<string, Map<number, Series>>>();
  /** In first-observed order, for rendering. */
  private readonly ordered: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending (prom-client's `buckets`). */
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** Count one request that took `seconds`. */
  observe(method: string, route: string, status: number, seconds: number): void {
    // prom-client refuses non-finite values (a TypeError); an observation must never fail a request.
    if (!Number.isFinite(seconds)) return;
    let byRoute = this.series.get(method);
    if (byRoute === undefined) this.series.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = { labels: { method, route, status: String(status) }, counts: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 };
      byStatus.set(status, series);
      this.ordered.push(series);
    }
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        series.counts[i]! += 1;
        break;
      }
    }
    series.sum += seconds;
    series.count += 1;
  }

  /** Forget every observation (prom-client's `reset`). */
  reset(): void {
    this.series.clear();
    this.ordered.length = 0;
  }

  /** The values as prom-client's Histogram hands them to its registry for the text format. */
  async getForPromString(): Promise<Rendered> {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.ordered) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: series.labels, value: cumulative, metricName: bucketName, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucketName, exemplar: null });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  /** The same values with each sample's labels merged, as prom-client's Histogram `get()` returns them (JSON). */
  async get(): Promise<Rendered> {
    const rendered = await this.getForPromString();
    return { ...rendered, values: rendered.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) as unknown as Sample[] };
  }
}
