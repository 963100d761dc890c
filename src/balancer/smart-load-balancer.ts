import { foldAscii } from '../ascii.js';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import type { ServiceRegistry } from '../registry/registry.js';
import { toServiceInstance } from '../registry/registry.js';
import type { InstanceRecord, ResolveOptions, ServiceInstance } from '../registry/types.js';
import { breaker, validateCircuitBreakerConfig, type BreakerState, type CircuitBreakerConfig, type CircuitState } from './circuit-breaker.js';

/** A circuit transition, announced to listeners (DNS cache invalidation, metrics, logs). */
export interface CircuitChange {
  readonly service: string;
  readonly id: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
}

/** Options beyond the breaker configuration. */
export interface LoadBalancerOptions {
  clock?: Clock;
  logger?: Logger;
}

/**
 * The seed bonus's SmartLoadBalancer: selection over the registry's healthy instances that never picks an
 * instance whose circuit is open, and admits at most `halfOpenMaxCalls` trial calls to a half-open one.
 * Failures and successes are reported by callers (the control API's `report`). It reads the registry and
 * chooses through the registry's Selector, so `resolve` and `select` share round-robin positions and counts.
 */
export class SmartLoadBalancer {
  /** Validated breaker configuration. */
  readonly config: CircuitBreakerConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly circuits = new Map<string, BreakerState>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly listeners = new Set<(change: CircuitChange) => void>();
  private readonly unsubscribe: () => void;

  constructor(private readonly registry: ServiceRegistry, config: Partial<CircuitBreakerConfig> = {}, options: LoadBalancerOptions = {}) {
    this.config = validateCircuitBreakerConfig(config);
    this.clock = options.clock ?? registry.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    // A deregistered instance's circuit is forgotten, so a new instance with the same id starts closed.
    this.unsubscribe = registry.onChange((event) => {
      if (event.after === undefined) this.forget(event.service, event.id);
    });
  }

  /** Choose an instance: healthy (unless `healthyOnly: false`), tags matched, circuit not open. */
  select(service: string, options: ResolveOptions = {}): ServiceInstance | undefined {
    const name = foldAscii(service);
    const candidates = this.registry
      .candidates(name, { ...options, healthyOnly: options.healthyOnly ?? true })
      .filter((record) => this.admits(record));
    const chosen = this.registry.selector.pick(name, candidates, options.strategy);
    if (chosen === undefined) return undefined;
    this.update(name, chosen.spec.id, (state) => breaker.admit(state));
    return toServiceInstance(chosen);
  }

  /** Whether DNS and selection may hand out this instance now (closed, or half-open with a free trial slot). */
  admits(record: InstanceRecord): boolean {
    return breaker.canAdmit(this.stateOf(record.service, record.spec.id), this.config);
  }

  /** Report a successful call to an instance. */
  reportSuccess(service: string, id: string): void {
    this.update(foldAscii(service), id, (state) => breaker.success(state, this.config));
  }

  /** Report a failed call to an instance. */
  reportFailure(service: string, id: string): void {
    this.update(foldAscii(service), id, (state) => breaker.failure(state, this.config, this.clock.now()));
  }

  /** The circuit state of an instance (closed when never reported). */
  circuitState(service: string, id: string): CircuitState {
    return publicState(this.stateOf(foldAscii(service), id));
  }

  /** Close an instance's circuit by hand (an operator's reset): its failures are forgotten. */
  resetCircuit(service: string, id: string): void {
    this.update(foldAscii(service), id, () => breaker.initial());
  }

  /** When an open circuit turns half-open (ms, on the balancer's clock); undefined when it is not open. */
  halfOpenAt(service: string, id: string): number | undefined {
    const state = this.stateOf(foldAscii(service), id);
    return state.kind === 'open' ? state.openedAt + this.config.openTimeoutMs : undefined;
  }

  /** Count an in-flight call (least-connections); call the returned function when it finishes. */
  acquire(service: string, id: string): () => void {
    return this.registry.selector.acquire(foldAscii(service), id);
  }

  /** Subscribe to circuit transitions; returns the unsubscribe function. */
  onCircuitChange(listener: (change: CircuitChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stop timers and listening to the registry. */
  dispose(): void {
    this.unsubscribe();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.listeners.clear();
  }

  private stateOf(service: string, id: string): BreakerState {
    const key = circuitKey(service, id);
    const stored = this.circuits.get(key);
    if (stored === undefined) return breaker.initial();
    const settled = breaker.settle(stored, this.config, this.clock.now());
    if (settled !== stored) this.commit(service, id, stored, settled);
    return settled;
  }

  private update(service: string, id: string, step: (state: BreakerState) => BreakerState): void {
    const before = this.stateOf(service, id);
    const after = step(before);
    if (after !== before) this.commit(service, id, before, after);
  }

  private commit(service: string, id: string, before: BreakerState, after: BreakerState): void {
    const key = circuitKey(service, id);
    if (after.kind === 'closed' && after.failures === 0) this.circuits.delete(key); // closed and clean: nothing to remember
    else this.circuits.set(key, after);
    const existing = this.timers.get(key);
    if (existing !== undefined) {
      clearTimeout(existing);
      this.timers.delete(key);
    }
    if (after.kind === 'open') this.wakeAtHalfOpen(service, id, after.openedAt + this.config.openTimeoutMs);
    const from = publicState(before);
    const to = publicState(after);
    // Admission-slot changes matter too: a half-open circuit with no free slot must leave DNS answers.
    const slotChange = from === 'half-open' && to === 'half-open' && breaker.canAdmit(before, this.config) !== breaker.canAdmit(after, this.config);
    if (from === to && !slotChange) return;
    // Logged at info by the daemon's circuit listener (src/daemon/change-log.ts); here for library debugging.
    this.logger.debug({ service, id, from, to }, 'circuit transition');
    for (const listener of this.listeners) {
      try {
        listener({ service, id, from, to });
      } catch (error) {
        this.logger.error({ err: error }, 'circuit listener failed');
      }
    }
  }

  /**
   * Wake up when the open timeout ends, so DNS learns of the half-open state without waiting for a query.
   * Node counts a timer from the event loop's cached time, which lags the clock after a long loop turn, so
   * the timer can fire before the clock reaches `at`: then it waits again for the rest.
   */
  private wakeAtHalfOpen(service: string, id: string, at: number): void {
    const key = circuitKey(service, id);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      const state = this.stateOf(service, id);
      if (state.kind === 'open' && !this.timers.has(key)) this.wakeAtHalfOpen(service, id, state.openedAt + this.config.openTimeoutMs);
    }, Math.max(1, at - this.clock.now()));
    timer.unref?.();
    this.timers.set(key, timer);
  }

  private forget(service: string, id: string): void {
    const key = circuitKey(service, id);
    this.circuits.delete(key);
    const timer = this.timers.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(key);
  }
}

function circuitKey(service: string, id: string): string {
  return `${service}\u0000${id}`;
}

function publicState(state: BreakerState): CircuitState {
  return state.kind;
}
