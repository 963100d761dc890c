import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Reaper } from '../../src/health/reaper.js';
import { ServiceRegistry } from '../../src/registry/registry.js';

function setup(maxSleepMs = 1000) {
  const registry = new ServiceRegistry({ defaultTtlMs: 1000, deregisterCriticalAfterMs: 3000 });
  let runs = 0;
  const writer = { cleanupExpired: async () => { runs++; return registry.cleanupExpired(); } };
  const reaper = new Reaper({ registry, writer, maxSleepMs });
  return { registry, reaper, runs: () => runs };
}

describe('Reaper', () => {
  let reaper: Reaper | undefined;
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await reaper?.stop();
    vi.useRealTimers();
  });

  it('marks a silent instance unhealthy just after its TTL, then removes it after deregister-critical-after', async () => {
    const s = setup(60_000);
    reaper = s.reaper;
    reaper.start();
    s.registry.register('api', { id: 'a', address: '127.0.0.1', port: 80 });
    await vi.advanceTimersByTimeAsync(999);
    expect(s.registry.get('api', 'a')?.health).toBe('healthy');
    expect(s.runs()).toBe(0);
    await vi.advanceTimersByTimeAsync(2);
    expect(s.registry.get('api', 'a')?.health).toBe('unhealthy');
    await vi.advanceTimersByTimeAsync(2998);
    expect(s.registry.get('api', 'a')).toBeDefined();
    await vi.advanceTimersByTimeAsync(3);
    expect(s.registry.get('api', 'a')).toBeUndefined();
    expect(s.registry.records()).toHaveLength(0);
  });

  it('keeps an instance that heartbeats', async () => {
    const s = setup();
    reaper = s.reaper;
    reaper.start();
    s.registry.register('api', { id: 'a', address: '127.0.0.1', port: 80 });
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(500);
      s.registry.heartbeat('api', 'a');
    }
    expect(s.registry.get('api', 'a')?.health).toBe('healthy');
  });

  it('holds a single timer, and none when nothing can expire', async () => {
    const s = setup();
    reaper = s.reaper;
    reaper.start();
    expect(vi.getTimerCount()).toBe(0);
    for (let i = 0; i < 10; i++) s.registry.register('api', { id: `i${i}`, address: '127.0.0.1', port: 80 + i });
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.registry.records()).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('brings the wake-up forward when a shorter TTL arrives', async () => {
    const s = setup(60_000);
    reaper = s.reaper;
    reaper.start();
    s.registry.register('api', { id: 'slow', address: '127.0.0.1', port: 80, ttlMs: 50_000 });
    s.registry.register('api', { id: 'fast', address: '127.0.0.1', port: 81, ttlMs: 200 });
    await vi.advanceTimersByTimeAsync(201);
    expect(s.registry.get('api', 'fast')?.health).toBe('unhealthy');
    expect(s.registry.get('api', 'slow')?.health).toBe('healthy');
  });

  it('retries after a failed run', async () => {
    const registry = new ServiceRegistry({ defaultTtlMs: 1000, deregisterCriticalAfterMs: 3000 });
    let attempts = 0;
    const writer = {
      cleanupExpired: async () => {
        attempts++;
        if (attempts === 1) throw new Error('store down');
        return registry.cleanupExpired();
      },
    };
    reaper = new Reaper({ registry, writer, retryMs: 100 });
    reaper.start();
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 80 });
    await vi.advanceTimersByTimeAsync(1001);
    expect(attempts).toBe(1);
    expect(registry.get('api', 'a')?.health).toBe('healthy');
    await vi.advanceTimersByTimeAsync(100);
    expect(attempts).toBe(2);
    expect(registry.get('api', 'a')?.health).toBe('unhealthy');
  });

  it('backs off while the store keeps failing, and recovers', async () => {
    const registry = new ServiceRegistry({ defaultTtlMs: 1000, deregisterCriticalAfterMs: 60_000 });
    let attempts = 0;
    let down = true;
    const writer = {
      cleanupExpired: async () => {
        attempts++;
        if (down) throw new Error('store down');
        return registry.cleanupExpired();
      },
    };
    reaper = new Reaper({ registry, writer, retryMs: 100, maxSleepMs: 1000 });
    reaper.start();
    registry.register('api', { id: 'a', address: '127.0.0.1', port: 80 });
    await vi.advanceTimersByTimeAsync(1001);
    expect(attempts).toBe(1);
    // Retries after 100, 200, 400, 800, then every 1000 ms (the cap).
    await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 800);
    expect(attempts).toBe(5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempts).toBe(6);
    down = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(registry.get('api', 'a')?.health).toBe('unhealthy');
  });
});
