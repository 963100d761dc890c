// The seed's 15 tests (section 4.2 and the table in 4.1), translated to TypeScript.
import { describe, expect, it } from 'vitest';
import { InstanceNotFoundError, ManualClock, ServiceInstance, ServiceNotFoundError, ServiceRegistry } from '../../src/index.js';

describe('seed tests', () => {
  it('register_service', () => {
    const registry = new ServiceRegistry();
    expect(() => registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080))).not.toThrow();
    expect(registry.listServices()).toEqual(['api']);
  });

  it('register_duplicate: same id updates, never duplicates', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080));
    registry.register('api', new ServiceInstance('api-1', '192.168.1.9', 9090));
    const all = registry.resolveAll('api');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id: 'api-1', address: '192.168.1.9', port: 9090 });
  });

  it('deregister_service', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080));
    expect(() => registry.deregister('api', 'api-1')).not.toThrow();
    expect(registry.resolve('api')).toBeUndefined();
    expect(registry.listServices()).toEqual([]); // empty services disappear
  });

  it('deregister_unknown: InstanceNotFound (and ServiceNotFound for an unknown service)', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080));
    expect(() => registry.deregister('api', 'nope')).toThrow(InstanceNotFoundError);
    expect(() => registry.deregister('ghost', 'api-1')).toThrow(ServiceNotFoundError);
    expect(registry.resolveAll('api')).toHaveLength(1);
  });

  it('resolve_service', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080));
    expect(registry.resolve('api')?.id).toBe('api-1');
  });

  it('resolve_all', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080));
    registry.register('api', new ServiceInstance('api-2', '192.168.1.2', 8080));
    expect(registry.resolveAll('api')).toHaveLength(2);
  });

  it('round_robin: 3 instances, 6 calls, each twice', () => {
    const registry = new ServiceRegistry();
    for (const n of [1, 2, 3]) registry.register('api', new ServiceInstance(`api-${n}`, `192.168.1.${n}`, 8080));
    const counts = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const instance = registry.resolveWithOptions('api', { strategy: 'round-robin' });
      if (instance) counts.set(instance.id, (counts.get(instance.id) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ 'api-1': 2, 'api-2': 2, 'api-3': 2 });
  });

  it('weighted_selection: weights 1:2:1 give a proportional distribution', async () => {
    const { seededRandom } = await import('../../src/index.js');
    const registry = new ServiceRegistry({}, { random: seededRandom(42) });
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withWeight(1));
    registry.register('api', new ServiceInstance('b', '10.0.0.2', 80).withWeight(2));
    registry.register('api', new ServiceInstance('c', '10.0.0.3', 80).withWeight(1));
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 4000; i++) counts[registry.resolveWithOptions('api', { strategy: 'weighted-random' })!.id]! += 1;
    expect(counts.b! / 4000).toBeGreaterThan(0.45);
    expect(counts.b! / 4000).toBeLessThan(0.55);
  });

  it('health_filtering: healthyOnly returns only the healthy instance', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080));
    const unhealthy = new ServiceInstance('api-2', '192.168.1.2', 8080);
    unhealthy.health = 'unhealthy';
    registry.register('api', unhealthy);
    for (let i = 0; i < 4; i++) expect(registry.resolveWithOptions('api', { healthyOnly: true })?.id).toBe('api-1');
  });

  it('tag_filtering: all requested tags must match', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080).withTags(['v1', 'production']));
    registry.register('api', new ServiceInstance('api-2', '192.168.1.2', 8080).withTags(['v2', 'production']));
    for (let i = 0; i < 4; i++) expect(registry.resolveWithOptions('api', { tags: ['v1'] })?.id).toBe('api-1');
    expect(registry.resolveWithOptions('api', { tags: ['v1', 'v2'] })).toBeUndefined();
  });

  it('heartbeat_update: last heartbeat moves forward', () => {
    const clock = new ManualClock(1_000);
    const registry = new ServiceRegistry({}, { clock });
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080));
    clock.advance(10);
    expect(() => registry.heartbeat('api', 'api-1')).not.toThrow();
    expect(registry.get('api', 'api-1')?.lastHeartbeat).toBe(1_010);
    expect(() => registry.heartbeat('api', 'ghost')).toThrow(InstanceNotFoundError);
  });

  it('cleanup_expired: instances past TTL and the critical period are removed', () => {
    const clock = new ManualClock(0);
    const registry = new ServiceRegistry({ defaultTtlMs: 1_000, deregisterCriticalAfterMs: 5_000 }, { clock });
    registry.register('api', new ServiceInstance('old', '10.0.0.1', 80));
    clock.advance(900);
    registry.register('api', new ServiceInstance('fresh', '10.0.0.2', 80));
    clock.advance(5_200); // old: deadline 1000, critical until 6000; fresh: deadline 1900, critical until 6900
    expect(registry.cleanupExpired()).toBe(1);
    expect(registry.resolveAll('api').map((i) => i.id)).toEqual(['fresh']);
    expect(registry.get('api', 'fresh')?.health).toBe('unhealthy');
  });

  it('concurrent_register: 100 parallel registrations, none lost', async () => {
    const registry = new ServiceRegistry();
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        Promise.resolve().then(() => registry.register('api', new ServiceInstance(`api-${i}`, `192.168.1.${i % 256}`, 8080))),
      ),
    );
    expect(registry.resolveAll('api')).toHaveLength(100);
  });

  it('stats_accuracy', () => {
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('api-1', '192.168.1.1', 8080));
    registry.register('api', new ServiceInstance('api-2', '192.168.1.2', 8080));
    registry.register('db', new ServiceInstance('db-1', '192.168.1.10', 5432));
    registry.updateHealth('api', 'api-2', 'unhealthy');
    expect(registry.stats()).toMatchObject({ totalServices: 2, totalInstances: 3, healthyInstances: 2, unhealthyInstances: 1 });
  });

  it('service_not_found / empty_registry: resolve gives undefined', () => {
    const registry = new ServiceRegistry();
    expect(registry.resolve('unknown')).toBeUndefined();
    expect(registry.resolveAll('unknown')).toEqual([]);
    expect(registry.listServices()).toEqual([]);
    expect(registry.stats()).toMatchObject({ totalServices: 0, totalInstances: 0 });
  });
});
