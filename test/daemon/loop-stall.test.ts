import { describe, expect, it } from 'vitest';
import { LoopStallMonitor, type DelayHistogram } from '../../src/daemon/loop-stall.js';

/** A histogram the test fills by hand (nanoseconds, like node's). */
function fakeHistogram(samplesNs: number[]) {
  const state = { enabled: 0, disabled: 0, samples: [...samplesNs] };
  const sorted = (): number[] => [...state.samples].sort((a, b) => a - b);
  const histogram: DelayHistogram = {
    enable: () => { state.enabled += 1; return true; },
    disable: () => { state.disabled += 1; return true; },
    reset: () => { state.samples = []; },
    get max() { return sorted().at(-1) ?? 0; },
    get mean() { return state.samples.length === 0 ? NaN : state.samples.reduce((a, b) => a + b, 0) / state.samples.length; },
    get count() { return state.samples.length; },
    percentile: (p: number) => sorted()[Math.max(0, Math.ceil((p / 100) * state.samples.length) - 1)] ?? 0,
  };
  return { histogram, state };
}

describe('LoopStallMonitor', () => {
  it('reports the longest time between ticks minus the sampling period, in ms', () => {
    const { histogram } = fakeHistogram([1_000_000, 1_200_000, 41_000_000, 2_000_000]);
    const monitor = new LoopStallMonitor({ resolutionMs: 1, histogram });
    const reading = monitor.read();
    expect(reading.maxStallMs).toBeCloseTo(40, 6);
    expect(reading.p99StallMs).toBeCloseTo(40, 6);
    expect(reading.meanStallMs).toBeCloseTo(10.3, 6);
    expect(reading.samples).toBe(4);
  });

  it('never reports a negative stall, and zeros before the first sample', () => {
    const { histogram, state } = fakeHistogram([]);
    const monitor = new LoopStallMonitor({ resolutionMs: 10, histogram });
    expect(monitor.read()).toEqual({ maxStallMs: 0, p99StallMs: 0, meanStallMs: 0, samples: 0 });
    state.samples.push(9_500_000);
    expect(monitor.read().maxStallMs).toBe(0);
  });

  it('forgets on reset and stops sampling once, however often stop() is called', () => {
    const { histogram, state } = fakeHistogram([30_000_000]);
    const monitor = new LoopStallMonitor({ histogram });
    expect(state.enabled).toBe(1);
    monitor.reset();
    expect(monitor.read().samples).toBe(0);
    monitor.stop();
    monitor.stop();
    expect(state.disabled).toBe(1);
  });

  it('take() returns the window since the previous take and starts a new one', () => {
    const { histogram, state } = fakeHistogram([25_000_000, 2_000_000]);
    const monitor = new LoopStallMonitor({ histogram });
    const first = monitor.take(Date.now() + 500);
    expect(first.maxStallMs).toBeCloseTo(24, 6);
    expect(first.samples).toBe(2);
    expect(first.windowMs).toBeGreaterThanOrEqual(500);
    state.samples.push(3_000_000);
    const second = monitor.take();
    expect(second.maxStallMs).toBeCloseTo(2, 6);
    expect(second.samples).toBe(1);
  });

  it('refuses a sampling period under 1 ms', () => {
    expect(() => new LoopStallMonitor({ resolutionMs: 0 })).toThrow(RangeError);
  });

  it('sees a real synchronous block of the event loop (a lower bound: the block lasts at least that long)', async () => {
    const monitor = new LoopStallMonitor();
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const until = performance.now() + 30;
      while (performance.now() < until) { /* hold the loop */ }
      // Let the sampling timer tick after the block so that the long interval is recorded.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(monitor.read().maxStallMs).toBeGreaterThanOrEqual(20);
    } finally {
      monitor.stop();
    }
  });
});
