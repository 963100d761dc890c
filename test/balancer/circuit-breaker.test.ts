import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidConfigurationError, ServiceInstance, ServiceRegistry, SmartLoadBalancer, createRegistryView, type CircuitChange } from '../../src/index.js';

// Fake timers drive both Date.now() (the registry's clock) and the breaker's open-timeout timer: no test sleeps.
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(config = {}) {
  const registry = new ServiceRegistry();
  for (const id of ['a', 'b']) registry.register('api', new ServiceInstance(id, '10.0.0.1', 80));
  const balancer = new SmartLoadBalancer(registry, { failureThreshold: 3, successThreshold: 2, openTimeoutMs: 10_000, halfOpenMaxCalls: 1, ...config });
  const changes: CircuitChange[] = [];
  balancer.onCircuitChange((c) => changes.push(c));
  return { registry, balancer, changes };
}

describe('circuit breaker', () => {
  it('closed -> open after N consecutive failures; a success in between resets the count', () => {
    const { balancer } = setup();
    balancer.reportFailure('api', 'a');
    balancer.reportFailure('api', 'a');
    balancer.reportSuccess('api', 'a');
    balancer.reportFailure('api', 'a');
    balancer.reportFailure('api', 'a');
    expect(balancer.circuitState('api', 'a')).toBe('closed');
    balancer.reportFailure('api', 'a');
    expect(balancer.circuitState('api', 'a')).toBe('open');
  });

  it('turns half-open on its own even when its timer fires before the clock reaches the open timeout', () => {
    // Node counts timers from the event loop's cached time, which lags the clock after a long loop turn: the
    // wake-up can come a little early. Nothing else may be needed to bring the instance back into DNS.
    let lag = 0;
    const clock = { now: () => Date.now() - lag };
    const registry = new ServiceRegistry();
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    const balancer = new SmartLoadBalancer(registry, { failureThreshold: 1, openTimeoutMs: 10_000 }, { clock });
    const changes: CircuitChange[] = [];
    balancer.onCircuitChange((c) => changes.push(c));
    balancer.reportFailure('api', 'a');
    lag = 5;
    vi.advanceTimersByTime(10_000); // the timer fires; the clock says 5 ms are still to go
    expect(changes.map((c) => c.to)).toEqual(['open']);
    vi.advanceTimersByTime(5);
    expect(changes.map((c) => c.to)).toEqual(['open', 'half-open']);
  });

  it('an open circuit is never selected; after the timeout it is half-open and admits at most halfOpenMaxCalls', () => {
    const { balancer, changes } = setup({ halfOpenMaxCalls: 2 });
    for (let i = 0; i < 3; i++) balancer.reportFailure('api', 'a');
    for (let i = 0; i < 20; i++) expect(balancer.select('api')?.id).toBe('b');
    vi.advanceTimersByTime(9_999);
    expect(balancer.circuitState('api', 'a')).toBe('open');
    vi.advanceTimersByTime(1);
    expect(changes.map((c) => `${c.id}:${c.from}->${c.to}`)).toEqual(['a:closed->open', 'a:open->half-open']);
    const picks = Array.from({ length: 10 }, () => balancer.select('api')?.id);
    expect(picks.filter((id) => id === 'a')).toHaveLength(2); // two trial calls, then only b
    expect(picks.slice(-4)).toEqual(['b', 'b', 'b', 'b']);
  });

  it('half-open -> closed after M successes; half-open -> open on a failure', () => {
    const { balancer } = setup();
    for (let i = 0; i < 3; i++) balancer.reportFailure('api', 'a');
    vi.advanceTimersByTime(10_000);
    expect(balancer.circuitState('api', 'a')).toBe('half-open');
    balancer.reportSuccess('api', 'a');
    expect(balancer.circuitState('api', 'a')).toBe('half-open');
    balancer.reportSuccess('api', 'a');
    expect(balancer.circuitState('api', 'a')).toBe('closed');
    for (let i = 0; i < 3; i++) balancer.reportFailure('api', 'a');
    vi.advanceTimersByTime(10_000);
    balancer.reportFailure('api', 'a');
    expect(balancer.circuitState('api', 'a')).toBe('open');
    vi.advanceTimersByTime(9_999);
    expect(balancer.circuitState('api', 'a')).toBe('open'); // the timeout restarted at the half-open failure
  });

  it('open circuits leave the DNS view and come back half-open, announced as changes', () => {
    const { registry, balancer } = setup();
    const view = createRegistryView(registry, balancer);
    const touched: string[] = [];
    view.onChange((c) => touched.push(...c.services));
    expect(view.eligible('api', 'tcp').map((i) => i.id)).toEqual(['a', 'b']);
    for (let i = 0; i < 3; i++) balancer.reportFailure('api', 'a');
    expect(view.eligible('api', 'tcp').map((i) => i.id)).toEqual(['b']);
    expect(touched).toEqual(['api']);
    vi.advanceTimersByTime(10_000);
    expect(touched).toEqual(['api', 'api']);
    expect(view.eligible('api', 'tcp').map((i) => i.id)).toEqual(['a', 'b']);
    view.dispose();
  });

  it('a deregistered instance forgets its circuit', () => {
    const { registry, balancer } = setup();
    for (let i = 0; i < 3; i++) balancer.reportFailure('api', 'a');
    registry.deregister('api', 'a');
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    expect(balancer.circuitState('api', 'a')).toBe('closed');
    balancer.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects invalid breaker configuration', () => {
    const registry = new ServiceRegistry();
    expect(() => new SmartLoadBalancer(registry, { failureThreshold: 0 })).toThrow(InvalidConfigurationError);
    expect(() => new SmartLoadBalancer(registry, { openTimeoutMs: -1 })).toThrow(InvalidConfigurationError);
    expect(() => new SmartLoadBalancer(registry, { halfOpenMaxCalls: 1.5 })).toThrow(InvalidConfigurationError);
  });
});
