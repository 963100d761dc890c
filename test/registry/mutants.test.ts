// One test per seed mutant (section 4.10). Each was checked by putting its bug back into src/ and watching it fail.
import { describe, expect, it } from 'vitest';
import { InvalidConfigurationError, ManualClock, RoundRobin, ServiceInstance, ServiceRegistry, validateRegistryConfig } from '../../src/index.js';

describe('seed mutants', () => {
  it('A (boundary): zero or negative durations are rejected with INVALID_CONFIGURATION', () => {
    for (const field of ['defaultTtlMs', 'healthCheckIntervalMs', 'deregisterCriticalAfterMs'] as const) {
      for (const bad of [0, -1, -30_000, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
        expect(() => new ServiceRegistry({ [field]: bad }), `${field}=${bad}`).toThrow(InvalidConfigurationError);
      }
    }
    expect(() => validateRegistryConfig({ defaultTtlMs: 0 })).toThrow(/defaultTtlMs must be greater than zero/);
    // a per-instance TTL of zero is refused too, and the registry stays unchanged
    const registry = new ServiceRegistry();
    expect(() => registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withTtl(0))).toThrow(/ttlMs/);
    expect(registry.index).toBe(0);
    expect(registry.listServices()).toEqual([]);
  });

  it('B (safety): 100 interleaved registrations of one new service lose nothing', async () => {
    const registry = new ServiceRegistry();
    const events: number[] = [];
    registry.onChange((e) => events.push(e.index));
    // Interleave registrations across many macrotask turns, as 100 socket clients would.
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        new Promise<void>((resolve) => setImmediate(() => {
          registry.register('fresh', new ServiceInstance(`i-${i}`, `10.0.${i >> 8}.${i & 255}`, 8080));
          resolve();
        })),
      ),
    );
    expect(registry.resolveAll('fresh').map((i) => i.id).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `i-${i}`).sort());
    expect(events).toEqual(Array.from({ length: 100 }, (_, i) => i + 1)); // one event each, indexes strictly increasing
  });

  it('C (logic): cleanupExpired really removes expired instances and counts them', () => {
    const clock = new ManualClock(0);
    const registry = new ServiceRegistry({ defaultTtlMs: 1_000, deregisterCriticalAfterMs: 2_000 }, { clock });
    for (let i = 0; i < 5; i++) registry.register('api', new ServiceInstance(`i-${i}`, '10.0.0.1', 80));
    registry.register('db', new ServiceInstance('db-1', '10.0.0.2', 5432));
    clock.advance(1_500);
    registry.heartbeat('db', 'db-1');
    expect(registry.cleanupExpired()).toBe(0); // TTL missed: unhealthy, not yet removed
    expect(registry.resolve('api')).toBeUndefined();
    expect(registry.stats().unhealthyInstances).toBe(5);
    clock.advance(1_600); // api instances critical since t=1000 for 3100 ms > 2000
    expect(registry.cleanupExpired()).toBe(5);
    expect(registry.listServices()).toEqual(['db']);
    expect(registry.cleanupExpired()).toBe(0);
  });

  it('D (edge): round-robin never overflows or wraps unfairly, even over long runs and changing sets', () => {
    const registry = new ServiceRegistry();
    for (const id of ['a', 'b', 'c']) registry.register('api', new ServiceInstance(id, '10.0.0.1', 80));
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    const sequence: string[] = [];
    for (let i = 0; i < 300_000; i++) {
      const id = registry.resolveWithOptions('api', { strategy: 'round-robin' })!.id;
      counts[id]! += 1;
      if (i < 7) sequence.push(id);
    }
    expect(counts).toEqual({ a: 100_000, b: 100_000, c: 100_000 });
    expect(sequence).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']); // wraps to the first, not the second
    // The candidate set changes between calls: each present candidate is still served once per round.
    const rr = new RoundRobin();
    const pick = (keys: string[]) => rr.next('g', keys.map((key) => ({ key, weight: 1 })))!.key;
    expect([pick(['a', 'b', 'c']), pick(['a', 'b', 'c']), pick(['a', 'c']), pick(['a', 'c'])]).toEqual(['a', 'b', 'c', 'a']);
    expect([pick(['a', 'b', 'c', 'd']), pick(['a', 'b', 'c', 'd']), pick(['a', 'b', 'c', 'd']), pick(['a', 'b', 'c', 'd'])]).toEqual(['b', 'c', 'd', 'a']);
  });

  it('E (return): healthyOnly never returns an unhealthy, unknown or in-maintenance instance, on every resolution path', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('good', '10.0.0.1', 80).withTags(['v1']).withWeight(1));
    registry.register('api', new ServiceInstance('sick', '10.0.0.2', 80).withTags(['v1']).withWeight(1000).withHealth('unhealthy'));
    registry.register('api', new ServiceInstance('new', '10.0.0.3', 80).withTags(['v1']).withWeight(1000).withHealth('unknown'));
    registry.register('api', new ServiceInstance('maint', '10.0.0.4', 80).withTags(['v1']).withWeight(1000));
    registry.setMaintenance('api', 'maint', true, 'upgrade');
    for (const strategy of ['round-robin', 'random', 'weighted-random', 'least-connections'] as const) {
      for (let i = 0; i < 50; i++) {
        expect(registry.resolveWithOptions('api', { healthyOnly: true, strategy })?.id, strategy).toBe('good');
        expect(registry.resolveWithOptions('api', { healthyOnly: true, strategy, tags: ['v1'] })?.id, strategy).toBe('good');
      }
    }
    for (let i = 0; i < 10; i++) expect(registry.resolve('api')?.id).toBe('good');
    registry.updateHealth('api', 'good', 'unhealthy');
    expect(registry.resolve('api')).toBeUndefined();
    expect(registry.resolveWithOptions('api', { healthyOnly: true })).toBeUndefined();
  });
});
