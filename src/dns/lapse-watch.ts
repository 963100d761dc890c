/**
 * One timer for the TTL lapses of every instance DNS hands out. A missed TTL takes an instance out of DNS at
 * once (docs/ARCHITECTURE.md, "Registry semantics"), but nothing in the registry changes at that moment (the
 * reaper writes it down later, and not at all while the store refuses writes), so the view must notice by
 * itself. Heartbeats renew deadlines silently (no change event): a watched deadline is only a lower bound,
 * and when it passes the owner re-reads the instance and either drops it or watches its new deadline.
 * Cost: O(log n) per watched instance per TTL period, never a scan of a service.
 */
import { DeadlineHeap } from '../registry/deadline-heap.js';
import { textHash } from '../text-hash.js';

/** An instance as the owner watches it: any object with its id (the object is the key, compared by identity). */
export interface WatchedInstance {
  readonly id: string;
}

/** An instance whose deadline passed, with the service it was watched under: the owner decides whether it really lapsed. */
export interface DueInstance<I extends WatchedInstance = WatchedInstance> {
  readonly instance: I;
  readonly service: string;
}

/**
 * Deadlines (ms, on `now()`'s clock) of instances behind one timer. An instance is watched as the object the
 * owner hands out for it (compared by identity), so nothing is built or kept per instance beside its
 * deadline and its service (docs/ARCHITECTURE.md, 'Habits' 14); the owner unwatches an object it replaces.
 */
export class LapseWatch<I extends WatchedInstance = WatchedInstance> {
  // The id alone spreads the keys: equal ids of two services share a shard, which only orders it.
  private readonly deadlines = new DeadlineHeap<string, I>((instance) => textHash(instance.id));
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly now: () => number,
    /** Called with every instance whose watched deadline passed, once per timer run. */
    private readonly onDue: (due: readonly DueInstance<I>[]) => void,
  ) {}

  /** Watch `deadline` for an instance of `service` (replacing what was watched for it). */
  watch(instance: I, service: string, deadline: number): void {
    this.deadlines.set(instance, deadline, service);
    if (deadline < this.timerAt) this.arm(deadline);
  }

  /** Stop watching an instance (it left DNS, or was replaced). */
  unwatch(instance: I): void {
    this.deadlines.delete(instance);
  }

  /** Number of instances watched. */
  get size(): number {
    return this.deadlines.size;
  }

  /** Stop the timer and forget everything. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.deadlines.clear();
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.fire(), Math.max(0, deadline - this.now()));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const due = this.deadlines.takeDue(this.now()).map((entry) => ({ instance: entry.key, service: entry.value }));
    if (due.length > 0) this.onDue(due); // may watch again (renewed deadlines)
    // onDue may have armed the timer for a renewed deadline later than the earliest one still queued.
    const next = this.deadlines.peek();
    if (next !== undefined && next.deadline < this.timerAt) this.arm(next.deadline);
  }
}
