/**
 * Selection strategies over plain candidates (a key and a weight). This module is a leaf: it imports nothing.
 * The Selector (selector.ts) is their one user; the registry's seed API and the SmartLoadBalancer go through it.
 */

/** What a strategy chooses among: a unique key (the instance id) and a weight (0..65535). */
export interface Candidate {
  readonly key: string;
  readonly weight: number;
}

/** A source of uniform numbers in [0, 1), like Math.random. Injectable so tests are deterministic. */
export type RandomSource = () => number;

/** A small, fast, seeded PRNG (mulberry32) for reproducible tests and benchmarks. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Round-robin that stays fair when the candidate set changes between calls: instead of a counter (which
 * must wrap, seed mutant D, and which skips or repeats instances when the set shrinks or grows), each group
 * remembers the key it served last and serves the next key in sorted order, wrapping to the smallest.
 * Every candidate present for k consecutive rounds is served exactly once per round. O(n) per pick, no sort.
 */
export class RoundRobin {
  private readonly lastKey = new Map<string, string>();

  /** Pick the next candidate for `group` (e.g. a service name); undefined when there are none. */
  next<T extends Candidate>(group: string, candidates: readonly T[]): T | undefined {
    const last = this.lastKey.get(group);
    let smallest: T | undefined;
    let successor: T | undefined;
    for (const candidate of candidates) {
      if (smallest === undefined || candidate.key < smallest.key) smallest = candidate;
      if (last !== undefined && candidate.key > last && (successor === undefined || candidate.key < successor.key)) successor = candidate;
    }
    const chosen = successor ?? smallest;
    if (chosen !== undefined) this.lastKey.set(group, chosen.key);
    return chosen;
  }

  /** Forget a group's position (when a service disappears), so memory stays bounded by live groups. */
  forget(group: string): void {
    this.lastKey.delete(group);
  }
}

/** Uniform random choice. */
export function pickRandom<T>(candidates: readonly T[], random: RandomSource): T | undefined {
  if (candidates.length === 0) return undefined;
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
}

/**
 * Weighted random choice, proportional to weight. Weight 0 means standby: such a candidate is chosen only
 * when every candidate has weight 0 (then the choice is uniform), the way an SRV weight of 0 is a last resort.
 */
export function pickWeighted<T extends Candidate>(candidates: readonly T[], random: RandomSource): T | undefined {
  let total = 0;
  for (const candidate of candidates) total += candidate.weight;
  if (total === 0) return pickRandom(candidates, random);
  let point = random() * total;
  let lastPositive: T | undefined;
  for (const candidate of candidates) {
    if (candidate.weight === 0) continue;
    lastPositive = candidate;
    if (point < candidate.weight) return candidate;
    point -= candidate.weight;
  }
  // Only reachable through floating-point rounding at the very top of the range.
  return lastPositive;
}

/**
 * In-flight request counts per key, for least-connections. Callers `acquire` before using an instance and
 * call the returned release function exactly once when done (extra calls are ignored).
 */
export class ConnectionTracker {
  // Keyed by group and id together: the same instance id may exist in two services.
  private readonly inFlight = new Map<string, number>();

  /** Count one request against `key` in `group`; returns its idempotent release. */
  acquire(group: string, id: string): () => void {
    const key = `${group}\u0000${id}`;
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const count = (this.inFlight.get(key) ?? 1) - 1;
      if (count <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, count);
    };
  }

  /** Current in-flight count for `id` in `group`. */
  count(group: string, id: string): number {
    return this.inFlight.get(`${group}\u0000${id}`) ?? 0;
  }
}

/** Least-connections: the candidates with the fewest in-flight requests, ties broken round-robin. */
export function pickLeastConnections<T extends Candidate>(
  group: string,
  candidates: readonly T[],
  tracker: ConnectionTracker,
  roundRobin: RoundRobin,
): T | undefined {
  let fewest = Infinity;
  let tied: T[] = [];
  for (const candidate of candidates) {
    const count = tracker.count(group, candidate.key);
    if (count < fewest) {
      fewest = count;
      tied = [candidate];
    } else if (count === fewest) {
      tied.push(candidate);
    }
  }
  return roundRobin.next(tieBreakGroup(group), tied);
}

/** The round-robin group in which least-connections breaks ties for `group`. */
export function tieBreakGroup(group: string): string {
  return `${group}\u0000lc`;
}
