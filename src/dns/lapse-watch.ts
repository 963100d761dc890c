/**
 * One timer for the TTL lapses of every instance DNS hands out. A missed TTL takes an instance out of DNS at
 * once (docs/ARCHITECTURE.md, "Registry semantics"), but nothing in the registry changes at that moment (the
 * reaper writes it down later, and not at all while the store refuses writes), so the view must notice by
 * itself. Heartbeats renew deadlines silently (no change event): a watched deadline is only a lower bound,
 * and when it passes the owner re-reads the instance and either drops it or watches its new deadline.
 * Cost: O(log n) per watched instance per TTL period, never a scan of a service.
 */

/** An instance whose deadline passed: the owner decides whether it really lapsed. */
export interface DueInstance {
  readonly service: string;
  readonly id: string;
}

interface Entry extends DueInstance {
  readonly deadline: number;
  readonly key: string;
}

/** Deadlines (ms, on `now()`'s clock) of instances, in a binary min-heap, behind one timer. */
export class LapseWatch {
  private readonly heap: Entry[] = [];
  /** key -> the deadline of its live heap entry (other entries of that key are stale and skipped). */
  private readonly armed = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly now: () => number,
    /** Called with every instance whose watched deadline passed, once per timer run. */
    private readonly onDue: (due: readonly DueInstance[]) => void,
  ) {}

  /** Watch `deadline` for an instance; a later deadline than the one already watched changes nothing. */
  watch(service: string, id: string, deadline: number): void {
    const key = `${service}\u0000${id}`;
    const known = this.armed.get(key);
    // The earlier deadline stays: when it passes, the owner re-reads the instance and re-watches it.
    if (known !== undefined && known <= deadline) return;
    this.armed.set(key, deadline);
    this.push({ service, id, deadline, key });
    if (deadline < this.timerAt) this.arm(deadline);
  }

  /** Number of instances watched. */
  get size(): number {
    return this.armed.size;
  }

  /** Stop the timer and forget everything. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap.length = 0;
    this.armed.clear();
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
    const now = this.now();
    const due: DueInstance[] = [];
    while (this.heap.length > 0 && this.heap[0]!.deadline <= now) {
      const entry = this.pop();
      if (this.armed.get(entry.key) !== entry.deadline) continue; // superseded by an earlier watch
      this.armed.delete(entry.key);
      due.push({ service: entry.service, id: entry.id });
    }
    if (due.length > 0) this.onDue(due); // may watch again (renewed deadlines)
    if (this.heap.length > 0 && this.timer === undefined) this.arm(this.heap[0]!.deadline);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.deadline <= entry.deadline) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.deadline < heap[left]!.deadline ? right : left;
      if (heap[child]!.deadline >= last.deadline) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
