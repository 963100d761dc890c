/**
 * Small live charts: a rolling window of samples drawn as an SVG sparkline. Hand-written (a polyline per
 * chart) because four fixed-size sparklines do not justify a charting library in an offline page.
 */

/** Samples kept per chart: a minute and a half at one poll per 1.5 s. */
export const WINDOW = 60;

/** One chart's rolling samples. */
export class Series {
  readonly values: number[] = [];

  /** Add a sample, dropping the oldest beyond the window. */
  push(value: number): void {
    this.values.push(value);
    if (this.values.length > WINDOW) this.values.shift();
  }

  /** The newest sample. */
  get last(): number | undefined {
    return this.values[this.values.length - 1];
  }
}

/** The polyline points of `values` in a `width` x `height` box, scaled to their maximum (or `max`). */
export function sparkPoints(values: readonly number[], width: number, height: number, max?: number): string {
  const top = Math.max(max ?? 0, ...values, 1e-9);
  const step = width / Math.max(WINDOW - 1, 1);
  const offset = WINDOW - values.length;
  return values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(height - (v / top) * (height - 2) - 1).toFixed(1)}`).join(' ');
}

/** Redraw a chart's SVG polyline and its figure. */
export function draw(root: HTMLElement, series: Series, figure: string, max?: number): void {
  const line = root.querySelector('polyline');
  if (line) line.setAttribute('points', sparkPoints(series.values, 120, 32, max));
  const value = root.querySelector('[data-figure]');
  if (value) value.textContent = figure;
}
