import { describe, expect, it } from 'vitest';
import { ConnectionTracker, RoundRobin, ServiceInstance, ServiceRegistry, pickLeastConnections, pickWeighted, seededRandom } from '../../src/index.js';

describe('weighted random', () => {
  it('weights 1:2:1 over 40,000 seeded picks land within 2 percentage points of 25/50/25', () => {
    const registry = new ServiceRegistry({}, { random: seededRandom(2026) });
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withWeight(1));
    registry.register('api', new ServiceInstance('b', '10.0.0.2', 80).withWeight(2));
    registry.register('api', new ServiceInstance('c', '10.0.0.3', 80).withWeight(1));
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    const picks = 40_000;
    for (let i = 0; i < picks; i++) counts[registry.resolveWithOptions('api', { strategy: 'weighted-random' })!.id]! += 1;
    expect(Math.abs(counts.a! / picks - 0.25)).toBeLessThan(0.02);
    expect(Math.abs(counts.b! / picks - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(counts.c! / picks - 0.25)).toBeLessThan(0.02);
  });

  it('weight 0 is standby: never chosen while any candidate has weight, uniform when all are 0', () => {
    const random = seededRandom(7);
    const live = [{ key: 'zero', weight: 0 }, { key: 'one', weight: 1 }];
    for (let i = 0; i < 1000; i++) expect(pickWeighted(live, random)?.key).toBe('one');
    const standby = [{ key: 'x', weight: 0 }, { key: 'y', weight: 0 }];
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(pickWeighted(standby, random)!.key);
    expect([...seen].sort()).toEqual(['x', 'y']);
    expect(pickWeighted([], random)).toBeUndefined();
  });

  it('random picks come from the injected source (reproducible)', () => {
    const run = (seed: number) => {
      const registry = new ServiceRegistry({}, { random: seededRandom(seed) });
      for (const id of ['a', 'b', 'c', 'd']) registry.register('api', new ServiceInstance(id, '10.0.0.1', 80));
      return Array.from({ length: 20 }, () => registry.resolveWithOptions('api', { strategy: 'random' })!.id).join('');
    };
    expect(run(1)).toBe(run(1));
    expect(new Set(run(1).split('')).size).toBeGreaterThan(1);
  });
});

describe('least connections', () => {
  it('picks the instance with the fewest in-flight calls; ties go round-robin; release is idempotent', () => {
    const registry = new ServiceRegistry();
    for (const id of ['a', 'b', 'c']) registry.register('api', new ServiceInstance(id, '10.0.0.1', 80));
    const pick = () => registry.resolveWithOptions('api', { strategy: 'least-connections' })!.id;
    expect([pick(), pick(), pick()]).toEqual(['a', 'b', 'c']);
    const releaseA = registry.acquire('api', 'a');
    const releaseB = registry.acquire('api', 'b');
    registry.acquire('api', 'b');
    for (let i = 0; i < 5; i++) expect(pick()).toBe('c');
    registry.acquire('api', 'c');
    registry.acquire('api', 'c');
    expect(pick()).toBe('a');
    releaseA();
    releaseA();
    expect(registry.inFlight('api', 'a')).toBe(0);
    releaseB();
    expect(registry.inFlight('api', 'b')).toBe(1);
  });

  it('counts are per service: the same id in two services does not share a count', () => {
    const tracker = new ConnectionTracker();
    tracker.acquire('api', 'x');
    expect(tracker.count('api', 'x')).toBe(1);
    expect(tracker.count('db', 'x')).toBe(0);
    const candidates = [{ key: 'x', weight: 1 }, { key: 'y', weight: 1 }];
    expect(pickLeastConnections('api', candidates, tracker, new RoundRobin())?.key).toBe('y');
    expect(pickLeastConnections('db', candidates, tracker, new RoundRobin())?.key).toBe('x');
  });
});
