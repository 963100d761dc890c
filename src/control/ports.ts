/**
 * The ports the control API reaches the rest of Beacon through, typed by what each call really returns.
 * The daemon plugs the durable registry, the registry, the load balancer and the snapshot functions into
 * these; the route plugins never see the store or DNS (see docs/ARCHITECTURE.md, 'The write path').
 */
import type { RestoreResult } from '../registry/snapshot.js';
import type { CircuitState } from '../balancer/circuit-breaker.js';
import type { ChangeEvent } from '../registry/mutations.js';
import type { HealthStatus, InstanceRecord, RegistryStats, ResolveOptions } from '../registry/types.js';
import type { InstanceInput } from '../registry/validate.js';
import type { ZoneRRsetView } from './zone-view.js';
import type { BeaconSnapshot } from './zone-snapshot.js';

/**
 * Where the API's writes go: validate -> durable write -> apply -> acknowledge, never the registry itself.
 * Each call resolves with the change it made, or `undefined` when it changed nothing visible (a heartbeat
 * that only renewed a TTL); it rejects with a BeaconError and changes nothing when the input is bad.
 */
export interface WritePort {
  register(service: string, instance: InstanceInput): Promise<ChangeEvent | undefined>;
  deregister(service: string, id: string): Promise<ChangeEvent | undefined>;
  heartbeat(service: string, id: string, status?: 'pass' | 'fail', note?: string): Promise<ChangeEvent | undefined>;
  updateHealth(service: string, id: string, health: HealthStatus, note?: string): Promise<ChangeEvent | undefined>;
  setMaintenance(service: string, id: string, enabled: boolean, reason?: string): Promise<ChangeEvent | undefined>;
}

/** The registry as the API reads it (every read is in memory; writes go through a WritePort). */
export interface RegistryReader {
  /** The change index: increases by one per visible change. */
  readonly index: number;
  get(service: string, id: string): InstanceRecord | undefined;
  /** Every record, or one service's. */
  records(service?: string): readonly InstanceRecord[];
  listServices(): readonly string[];
  /** The records of a service that match `options` (tags, health). */
  candidates(service: string, options?: ResolveOptions): readonly InstanceRecord[];
  /** Whether DNS and `resolve` may hand out this record now (healthy, not in maintenance, TTL not lapsed). */
  isServable(record: InstanceRecord): boolean;
  /** When the record's heartbeat TTL lapses (ms); undefined when it has none (an active check, or TTLs kept by the store). */
  lapseAt(record: InstanceRecord): number | undefined;
  stats(): RegistryStats;
}

/** Instance selection and the per-instance circuit breakers. */
export interface SelectionPort {
  /** Pick one instance of `service`, or undefined when none is eligible. */
  select(service: string, options?: ResolveOptions): { readonly id: string } | undefined;
  circuitState(service: string, id: string): CircuitState;
  reportSuccess(service: string, id: string): void;
  reportFailure(service: string, id: string): void;
  /** Close the circuit by hand, forgetting its failures. */
  resetCircuit(service: string, id: string): void;
  /** When an open circuit turns half-open (ms); undefined when it is not open. */
  halfOpenAt(service: string, id: string): number | undefined;
  /** Subscribe to circuit transitions; returns the unsubscribe function. */
  onCircuitChange(listener: (change: { readonly service: string; readonly id: string; readonly from: CircuitState; readonly to: CircuitState }) => void): () => void;
}

/**
 * Snapshots as documents that travel in HTTP bodies: the daemon never reads or writes a file for the API
 * (a path would name a file on the daemon's host, whoever sends it). Wired by the daemon to src/registry/snapshot.ts.
 */
export interface SnapshotPort {
  /** The registry and the dynamic zone data now, as a snapshot document (see zone-snapshot.ts for versions). */
  document(): BeaconSnapshot;
  /**
   * Make the registry hold exactly the (validated) document's instances, all or nothing; with zone data
   * (version 2), first make the dynamic zone data exactly the document's, all or nothing.
   */
  restore(document: BeaconSnapshot): Promise<SnapshotRestoreResult>;
}

/** What a restore did: the registry's RestoreResult, and how many zone RRsets a version 2 snapshot held. */
export type SnapshotRestoreResult = RestoreResult & { readonly zoneRRsets?: number };

/**
 * Dynamic zone data (the RRsets DNS UPDATE keeps that describe no instance) as the API reads and deletes it.
 * Wired by the daemon to its DynamicZone and the zone writer UPDATE uses (src/daemon/zone-port.ts), so a
 * deletion is durable, reaches the DNS workers and moves the SOA serial like an UPDATE.
 */
export interface ZonePort {
  /** Every RRset held, in canonical order (owner, then type). */
  list(): readonly ZoneRRsetView[];
  /**
   * Delete the RRset at `owner` (presentation form) of `type`, all or nothing; resolves with what was deleted,
   * or undefined when no such RRset is held. Rejects with INVALID_ARGUMENT when the owner does not parse or lies
   * outside the zone, and with the store's error (changing nothing) when the write fails.
   */
  remove(owner: string, type: number): Promise<ZoneRRsetView | undefined>;
}
