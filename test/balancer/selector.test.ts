import { describe, expect, it } from 'vitest';
import { ServiceInstance, ServiceRegistry, SmartLoadBalancer } from '../../src/index.js';

describe('Selector: the one owner of selection state', () => {
  it('is shared by the registry seed API and the SmartLoadBalancer (one round-robin position per service)', () => {
    const registry = new ServiceRegistry();
    for (const id of ['a', 'b', 'c']) registry.register('api', new ServiceInstance(id, '10.0.0.1', 80));
    const balancer = new SmartLoadBalancer(registry);
    expect([registry.resolve('api')?.id, balancer.select('api')?.id, registry.resolve('API')?.id, balancer.select('Api')?.id]).toEqual(['a', 'b', 'c', 'a']);
    const release = balancer.acquire('api', 'a');
    expect(registry.inFlight('api', 'a')).toBe(1);
    release();
    expect(registry.selector.inFlight('api', 'a')).toBe(0);
    balancer.dispose();
  });

  it('forgets the positions of a service that disappears, so it starts over when it comes back', () => {
    const registry = new ServiceRegistry();
    const ids = ['a', 'b', 'c'];
    for (const id of ids) registry.register('api', new ServiceInstance(id, '10.0.0.1', 80));
    expect([registry.resolve('api')?.id, registry.resolve('api')?.id]).toEqual(['a', 'b']);
    expect(registry.resolveWithOptions('api', { strategy: 'least-connections' })?.id).toBe('a');
    for (const id of ids) registry.deregister('api', id);
    for (const id of ids) registry.register('api', new ServiceInstance(id, '10.0.0.1', 80));
    expect(registry.resolve('api')?.id).toBe('a');
    expect(registry.resolveWithOptions('api', { strategy: 'least-connections' })?.id).toBe('a');
  });
});
