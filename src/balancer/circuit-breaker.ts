import { InvalidConfigurationError } from '../errors.js';
import { validateDuration } from '../registry/validate.js';

/** Circuit breaker settings (seed bonus: CircuitBreakerConfig). */
export interface CircuitBreakerConfig {
  /** Consecutive failures that open a closed circuit. */
  readonly failureThreshold: number;
  /** Successes in half-open that close the circuit. */
  readonly successThreshold: number;
  /** How long a circuit stays open before it lets trial calls through (ms). */
  readonly openTimeoutMs: number;
  /** Trial calls admitted at once while half-open. */
  readonly halfOpenMaxCalls: number;
}

/** Defaults: five consecutive failures open the circuit for 30 s; two trial successes close it. */
export const DEFAULT_CIRCUIT_BREAKER_CONFIG: CircuitBreakerConfig = Object.freeze({
  failureThreshold: 5,
  successThreshold: 2,
  openTimeoutMs: 30_000,
  halfOpenMaxCalls: 1,
});

/** The three circuit states (seed bonus: CircuitState). */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** The breaker's state as a discriminated union: each state carries exactly the data it needs. */
export type BreakerState =
  | { readonly kind: 'closed'; readonly failures: number }
  | { readonly kind: 'open'; readonly openedAt: number }
  | { readonly kind: 'half-open'; readonly admitted: number; readonly successes: number };

/** Validate and fill a circuit breaker configuration. */
export function validateCircuitBreakerConfig(config: Partial<CircuitBreakerConfig> = {}): CircuitBreakerConfig {
  const merged = { ...DEFAULT_CIRCUIT_BREAKER_CONFIG, ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) };
  const count = (value: unknown, field: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
      throw new InvalidConfigurationError(`${field} must be a whole number from 1 to 1000000, got ${String(value)}`, field);
    }
    return value;
  };
  return Object.freeze({
    failureThreshold: count(merged.failureThreshold, 'failureThreshold'),
    successThreshold: count(merged.successThreshold, 'successThreshold'),
    openTimeoutMs: validateDuration(merged.openTimeoutMs, 'openTimeoutMs'),
    halfOpenMaxCalls: count(merged.halfOpenMaxCalls, 'halfOpenMaxCalls'),
  });
}

/**
 * The pure transition functions of one circuit. `now` is passed in (injected clock), so the state machine is
 * deterministic: closed -> open after N consecutive failures; open -> half-open once the timeout has passed;
 * half-open -> closed after M successes, -> open on any failure.
 */
export const breaker = {
  /** A fresh, closed circuit. */
  initial(): BreakerState {
    return { kind: 'closed', failures: 0 };
  },

  /** The state at time `now` (an open circuit whose timeout has passed reads as half-open). */
  settle(state: BreakerState, config: CircuitBreakerConfig, now: number): BreakerState {
    if (state.kind === 'open' && now - state.openedAt >= config.openTimeoutMs) return { kind: 'half-open', admitted: 0, successes: 0 };
    return state;
  },

  /** Whether a call may go to this instance now. */
  canAdmit(state: BreakerState, config: CircuitBreakerConfig): boolean {
    if (state.kind === 'closed') return true;
    if (state.kind === 'half-open') return state.admitted < config.halfOpenMaxCalls;
    return false;
  },

  /** Record that a call was sent (only half-open counts them: they are the trial calls). */
  admit(state: BreakerState): BreakerState {
    return state.kind === 'half-open' ? { ...state, admitted: state.admitted + 1 } : state;
  },

  /** Record a successful call. */
  success(state: BreakerState, config: CircuitBreakerConfig): BreakerState {
    switch (state.kind) {
      case 'closed':
        return state.failures === 0 ? state : { kind: 'closed', failures: 0 };
      case 'half-open': {
        const successes = state.successes + 1;
        if (successes >= config.successThreshold) return { kind: 'closed', failures: 0 };
        // The trial call finished: its slot is free for the next one.
        return { kind: 'half-open', admitted: Math.max(0, state.admitted - 1), successes };
      }
      case 'open':
        return state; // a late result from before the circuit opened changes nothing
    }
  },

  /** Record a failed call at time `now`. */
  failure(state: BreakerState, config: CircuitBreakerConfig, now: number): BreakerState {
    switch (state.kind) {
      case 'closed': {
        const failures = state.failures + 1;
        return failures >= config.failureThreshold ? { kind: 'open', openedAt: now } : { kind: 'closed', failures };
      }
      case 'half-open':
        return { kind: 'open', openedAt: now };
      case 'open':
        return state;
    }
  },
};
