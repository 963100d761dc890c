/**
 * Deadlines by key, earliest first: a binary min-heap holding at most one live entry per key. Setting a key's
 * deadline is O(1) when it moves later (a heartbeat renewing a TTL: the entry already queued is an early
 * lower bound, re-queued at the real deadline when it surfaces) and O(log n) otherwise; asking for the
 * earliest deadline is O(log n) amortised. It replaces scans over every instance (the reaper's next
 * wake-up, DNS's TTL lapses) that hold the event loop for tens of milliseconds at 100,000 instances.
 */

interface Entry<T> {
  readonly key: string;
  readonly deadline: number;
  readonly value: T;
}

/** Deadlines (ms) of keyed items; `value` travels with its key (e.g. the service and id it names). */
export class DeadlineHeap<T> {
  private readonly heap: Entry<T>[] = [];
  /** key -> its real deadline. */
  private readonly current = new Map<string, number>();
  /** key -> the deadline of its live heap entry (<= its real one); other entries of the key are stale. */
  private readonly queued = new Map<string, number>();

  /** Number of keys with a deadline. */
  get size(): number {
    return this.current.size;
  }

  /** Give `key` this deadline (undefined: none), replacing the one it had. */
  set(key: string, deadline: number | undefined, value: T): void {
    if (deadline === undefined) {
      this.current.delete(key);
      return;
    }
    this.current.set(key, deadline);
    const queued = this.queued.get(key);
    if (queued !== undefined && queued <= deadline) return; // that entry surfaces first and is re-queued then
    this.queued.set(key, deadline);
    this.push({ key, deadline, value });
  }

  /** Forget `key`'s deadline. */
  delete(key: string): void {
    this.current.delete(key);
  }

  /** The earliest deadline with its key and value, or undefined when there is none. */
  peek(): Entry<T> | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      const queued = this.queued.get(top.key);
      const real = this.current.get(top.key);
      if (queued !== top.deadline) {
        this.pop(); // superseded by an earlier entry of the same key
      } else if (real === undefined) {
        this.pop();
        this.queued.delete(top.key);
      } else if (real > top.deadline) {
        this.pop(); // the deadline moved later since: queue it where it is now
        this.queued.set(top.key, real);
        this.push({ key: top.key, deadline: real, value: top.value });
      } else {
        return top;
      }
    }
  }

  /** Remove and return every item whose deadline is at or before `now`, earliest first. */
  takeDue(now: number): Entry<T>[] {
    const due: Entry<T>[] = [];
    for (let top = this.peek(); top !== undefined && top.deadline <= now; top = this.peek()) {
      this.pop();
      this.queued.delete(top.key);
      this.current.delete(top.key);
      due.push(top);
    }
    return due;
  }

  /** Forget everything. */
  clear(): void {
    this.heap.length = 0;
    this.current.clear();
    this.queued.clear();
  }

  private push(entry: Entry<T>): void {
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

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
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
  }
}
