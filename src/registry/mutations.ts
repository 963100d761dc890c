import type { HealthStatus, InstanceRecord, InstanceSpec } from './types.js';

/**
 * Every state change of the registry is one of these, applied by `ServiceRegistry.apply`.
 * Mutations carry their own timestamp (`at`, ms) so that replaying them (store, etcd watch) is deterministic.
 */
export type Mutation =
  | { readonly type: 'register'; readonly service: string; readonly spec: InstanceSpec; readonly health: HealthStatus; readonly at: number }
  | { readonly type: 'deregister'; readonly service: string; readonly id: string; readonly reason?: 'expired' | 'api'; readonly at: number }
  | { readonly type: 'heartbeat'; readonly service: string; readonly id: string; readonly status: 'pass' | 'fail'; readonly note?: string; readonly at: number }
  | { readonly type: 'set-health'; readonly service: string; readonly id: string; readonly health: HealthStatus; readonly note?: string; readonly at: number }
  | { readonly type: 'set-maintenance'; readonly service: string; readonly id: string; readonly enabled: boolean; readonly reason?: string; readonly at: number }
  /** "This instance is now exactly `record` (or gone)": state learned from a shared store (etcd watch, snapshot restore). */
  | { readonly type: 'sync'; readonly service: string; readonly id: string; readonly record: InstanceRecord | undefined; readonly at: number };

/** The mutation kinds. */
export type MutationType = Mutation['type'];

/**
 * Announced after every mutation that changed state. `index` increases by one per event and never repeats.
 * `before`/`after` are the instance record before and after (undefined when absent), so listeners can tell
 * exactly what changed without re-reading the registry.
 */
export interface ChangeEvent {
  readonly index: number;
  readonly mutation: Mutation;
  readonly service: string;
  readonly id: string;
  readonly before: InstanceRecord | undefined;
  readonly after: InstanceRecord | undefined;
}

/** A listener for change events. Listeners must not throw; a throwing listener is isolated and logged. */
export type ChangeListener = (event: ChangeEvent) => void;

/** The instance id a mutation is about. */
export function mutationId(m: Mutation): string {
  return m.type === 'register' ? m.spec.id : m.id;
}
