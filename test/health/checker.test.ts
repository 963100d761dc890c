import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HealthChecker, type HealthCheckerOptions, type ProbeRunner } from '../../src/health/checker.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import type { ProbeResult } from '../../src/health/probes.js';
import type { ActiveCheck, HealthStatus } from '../../src/registry/types.js';

/** A probe runner the test controls: each call waits for the test to answer it. */
function controlledProbe() {
  const calls: { id: string; check: ActiveCheck; resolve: (r: ProbeResult) => void; signal: AbortSignal | undefined }[] = [];
  const probe: ProbeRunner = (check, record, options) =>
    new Promise((resolve) => calls.push({ id: record.spec.id, check, resolve, signal: options.signal }));
  return { probe, calls };
}

function writerFor(registry: ServiceRegistry) {
  const writes: { id: string; health: HealthStatus }[] = [];
  return {
    writes,
    updateHealth: async (service: string, id: string, health: HealthStatus, note?: string) => {
      writes.push({ id, health });
      return registry.updateHealth(service, id, health, note);
    },
  };
}

/** A registry, a controlled probe and a started checker over them (extra options merged in). */
function startChecker(options: Partial<HealthCheckerOptions> = {}) {
  const registry = new ServiceRegistry();
  const { probe, calls } = controlledProbe();
  const started = new HealthChecker({ registry, writer: writerFor(registry), probe, ...options });
  started.start();
  return { registry, calls, checker: started };
}

const httpCheck = (intervalMs = 1000, timeoutMs = 500): ActiveCheck => ({ type: 'http', url: 'http://127.0.0.1:1/health', intervalMs, timeoutMs });

describe('HealthChecker', () => {
  let checker: HealthChecker | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    await checker?.stop();
    vi.useRealTimers();
  });

  it('probes a newly registered instance at once; it starts unknown and enters healthy on a pass', async () => {
    const setup = startChecker();
    const { registry, calls } = setup;
    checker = setup.checker;
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080, check: httpCheck() });
    expect(registry.get('api', 'a')?.health).toBe('unknown');
    expect(calls).toHaveLength(1);
    calls[0]!.resolve({ healthy: true, note: 'HTTP 200' });
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.get('api', 'a')?.health).toBe('healthy');
  });

  it('probes only the instances this node owns (shared stores: the lease holder probes)', async () => {
    const setup = startChecker({ owns: (_service, id) => id !== 'theirs' });
    const { registry, calls } = setup;
    checker = setup.checker;
    registry.register('api', { id: 'theirs', address: '127.0.0.1', port: 8080, check: httpCheck() });
    registry.register('api', { id: 'mine', address: '127.0.0.1', port: 8081, check: httpCheck() });
    expect(calls.map((c) => c.id)).toEqual(['mine']);
    expect(checker.size).toBe(1);
  });

  it('probes again every interval and records a failure', async () => {
    const setup = startChecker();
    const { registry, calls } = setup;
    checker = setup.checker;
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080, check: httpCheck(1000) });
    calls[0]!.resolve({ healthy: true, note: 'ok' });
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve({ healthy: false, note: 'HTTP 500' });
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.get('api', 'a')?.health).toBe('unhealthy');
    expect(registry.get('api', 'a')?.note).toBe('HTTP 500');
  });

  it('does not rewrite an unchanged status', async () => {
    const registry = new ServiceRegistry();
    const { probe, calls } = controlledProbe();
    const writer = writerFor(registry);
    checker = new HealthChecker({ registry, writer, probe });
    checker.start();
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080, check: httpCheck(1000) });
    for (let i = 0; i < 3; i++) {
      calls[i]!.resolve({ healthy: true, note: 'ok' });
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(writer.writes).toEqual([{ id: 'a', health: 'healthy' }]);
  });

  it('cuts a hung probe off at its timeout (unhealthy) while other instances keep being probed', async () => {
    const setup = startChecker();
    const { registry, calls } = setup;
    checker = setup.checker;
    registry.register('api', { id: 'hung', address: '127.0.0.1', port: 8080, check: httpCheck(1000, 300) });
    registry.register('api', { id: 'fine', address: '127.0.0.1', port: 8081, check: httpCheck(100, 50) });
    const fine = () => calls.filter((c) => c.id === 'fine');
    const answerFine = () => fine().forEach((c) => c.resolve({ healthy: true, note: 'ok' }));
    answerFine();
    // While 'hung' is in flight, 'fine' is probed on its own schedule.
    await vi.advanceTimersByTimeAsync(100);
    expect(fine()).toHaveLength(2);
    answerFine();
    await vi.advanceTimersByTimeAsync(100);
    expect(fine()).toHaveLength(3);
    answerFine();
    expect(registry.get('api', 'hung')?.health).toBe('unknown');
    await vi.advanceTimersByTimeAsync(100);
    answerFine();
    const hung = calls.find((c) => c.id === 'hung')!;
    expect(hung.signal?.aborted).toBe(true);
    expect(registry.get('api', 'hung')?.health).toBe('unhealthy');
    expect(registry.get('api', 'hung')?.note).toBe('timeout after 300 ms');
    expect(registry.get('api', 'fine')?.health).toBe('healthy');
  });

  it('stops probing a deregistered instance and aborts its probe', async () => {
    const setup = startChecker();
    const { registry, calls } = setup;
    checker = setup.checker;
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080, check: httpCheck(1000) });
    expect(checker.size).toBe(1);
    registry.deregister('api', 'a');
    expect(checker.size).toBe(0);
    expect(calls[0]!.signal?.aborted).toBe(true);
    calls[0]!.resolve({ healthy: true, note: 'late' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reschedules when the check is replaced, and drops the schedule when the check is removed', async () => {
    const setup = startChecker();
    const { registry, calls } = setup;
    checker = setup.checker;
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080, check: httpCheck(1000) });
    calls[0]!.resolve({ healthy: true, note: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080, check: { type: 'tcp', intervalMs: 5000, timeoutMs: 100 } });
    expect(calls).toHaveLength(2);
    expect(calls[1]!.check.type).toBe('tcp');
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080 });
    expect(checker.size).toBe(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls).toHaveLength(2);
  });

  it('schedules instances already in the registry when started, and ignores TTL checks', async () => {
    const registry = new ServiceRegistry();
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080, check: httpCheck() });
    registry.register('api', { id: 'b', address: '127.0.0.1', port: 8081, check: { type: 'ttl', ttlMs: 1000 } });
    const { probe, calls } = controlledProbe();
    checker = new HealthChecker({ registry, writer: writerFor(registry), probe });
    checker.start();
    expect(calls.map((c) => c.id)).toEqual(['a']);
    expect(checker.size).toBe(1);
  });

  it('reports every result to onResult', async () => {
    const registry = new ServiceRegistry();
    const { probe, calls } = controlledProbe();
    const results: boolean[] = [];
    checker = new HealthChecker({ registry, writer: writerFor(registry), probe, onResult: (r) => results.push(r.healthy) });
    checker.start();
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 8080, check: httpCheck(1000) });
    calls[0]!.resolve({ healthy: false, note: 'no' });
    await vi.advanceTimersByTimeAsync(1000);
    calls[1]!.resolve({ healthy: true, note: 'yes' });
    await vi.advanceTimersByTimeAsync(0);
    expect(results).toEqual([false, true]);
  });

  it('spreads the first probes of restored healthy instances over one interval; probes unknown ones at once', async () => {
    const registry = new ServiceRegistry();
    registry.register('api', { id: 'known', address: '127.0.0.1', port: 8080, check: httpCheck(1000) });
    registry.updateHealth('api', 'known', 'healthy');
    registry.register('api', { id: 'fresh', address: '127.0.0.1', port: 8081, check: httpCheck(1000) });
    const { probe, calls } = controlledProbe();
    checker = new HealthChecker({ registry, writer: writerFor(registry), probe, random: () => 0.5 });
    checker.start();
    expect(calls.map((c) => c.id)).toEqual(['fresh']);
    await vi.advanceTimersByTimeAsync(499);
    expect(calls.map((c) => c.id)).toEqual(['fresh']);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.id)).toEqual(['fresh', 'known']);
  });
});
