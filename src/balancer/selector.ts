import type { InstanceRecord, SelectionStrategy } from '../registry/types.js';
import { ConnectionTracker, RoundRobin, pickLeastConnections, pickRandom, pickWeighted, tieBreakGroup, type RandomSource } from './strategies.js';

/**
 * The one owner of selection: picks one instance among candidates with a strategy, and holds the state
 * strategies need (round-robin positions, in-flight counts). The registry's seed API (`resolve`) and the
 * SmartLoadBalancer both choose through the same Selector, so they share positions and counts. It reads
 * nothing but the candidates it is given: filtering (tags, health, circuits) is the caller's job.
 */
export class Selector {
  private readonly roundRobin = new RoundRobin();
  private readonly connections = new ConnectionTracker();

  constructor(private readonly random: RandomSource = Math.random) {}

  /** Choose one of `candidates` of `service` with `strategy` (round-robin by default); undefined when empty. */
  pick(service: string, candidates: readonly InstanceRecord[], strategy: SelectionStrategy = 'round-robin'): InstanceRecord | undefined {
    if (candidates.length === 0) return undefined;
    const keyed = candidates.map((record) => ({ key: record.spec.id, weight: record.spec.weight, record }));
    switch (strategy) {
      case 'round-robin':
        return this.roundRobin.next(service, keyed)?.record;
      case 'random':
        return pickRandom(keyed, this.random)?.record;
      case 'weighted-random':
        return pickWeighted(keyed, this.random)?.record;
      case 'least-connections':
        return pickLeastConnections(service, keyed, this.connections, this.roundRobin)?.record;
    }
  }

  /** Count an in-flight request against an instance (least-connections); call the returned function when done. */
  acquire(service: string, id: string): () => void {
    return this.connections.acquire(service, id);
  }

  /** In-flight requests currently counted against an instance. */
  inFlight(service: string, id: string): number {
    return this.connections.count(service, id);
  }

  /** Forget a service that disappeared (its round-robin positions), so memory stays bounded by live services. */
  forget(service: string): void {
    this.roundRobin.forget(service);
    this.roundRobin.forget(tieBreakGroup(service));
  }
}
