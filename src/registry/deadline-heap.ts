/**
 * Deadlines by key, earliest first: a binary min-heap indexed by key (each key's position in it), holding
 * exactly one entry per key. Setting, moving or deleting a key's deadline is O(log n), asking for the
 * earliest is O(1). It replaces scans over every instance (the reaper's next wake-up, DNS's TTL lapses)
 * that hold the event loop for tens of milliseconds at 100,000 instances.
 *
 * Memory is per instance (the registry and the DNS lapse watch each hold one item per instance), so the heap
 * is three parallel arrays rather than one array of entry objects: an array of numbers holds raw doubles,
 * where an entry would cost its header and a boxed double for its deadline (a timestamp is no small
 * integer); and the index maps each key to its position, a small integer stored unboxed, where a map of
 * deadlines would box each one (docs/ARCHITECTURE.md, 'Habits' 14).
 */

interface Entry<T, K> {
  readonly key: K;
  readonly deadline: number;
  readonly value: T;
}

/**
 * Deadlines (ms) of keyed items; `value` travels with its key (e.g. the service and id it names). Keys are
 * strings, or objects compared by identity.
 */
export class DeadlineHeap<T, K = string> {
  private readonly keys: K[] = [];
  private readonly times: number[] = [];
  private readonly values: T[] = [];
  /** key -> its position in the arrays. */
  private readonly positions = new Map<K, number>();

  /** Number of keys with a deadline. */
  get size(): number {
    return this.keys.length;
  }

  /** Give `key` this deadline (undefined: none), replacing the one it had. */
  set(key: K, deadline: number | undefined, value: T): void {
    if (deadline === undefined) {
      this.delete(key);
      return;
    }
    const at = this.positions.get(key);
    if (at === undefined) {
      this.keys.push(key);
      this.times.push(deadline);
      this.values.push(value);
      this.positions.set(key, this.keys.length - 1);
      this.up(this.keys.length - 1);
      return;
    }
    const before = this.times[at]!;
    this.times[at] = deadline;
    this.values[at] = value;
    if (deadline < before) this.up(at);
    else if (deadline > before) this.down(at);
  }

  /** Forget `key`'s deadline. */
  delete(key: K): void {
    const at = this.positions.get(key);
    if (at !== undefined) this.removeAt(at);
  }

  /** The earliest deadline with its key and value, or undefined when there is none. */
  peek(): Entry<T, K> | undefined {
    return this.keys.length === 0 ? undefined : this.entryAt(0);
  }

  /** Remove and return every item whose deadline is at or before `now`, earliest first. */
  takeDue(now: number): Entry<T, K>[] {
    const due: Entry<T, K>[] = [];
    while (this.keys.length > 0 && this.times[0]! <= now) {
      due.push(this.entryAt(0));
      this.removeAt(0);
    }
    return due;
  }

  /** Forget everything. */
  clear(): void {
    this.keys.length = 0;
    this.times.length = 0;
    this.values.length = 0;
    this.positions.clear();
  }

  private entryAt(at: number): Entry<T, K> {
    return { key: this.keys[at]!, deadline: this.times[at]!, value: this.values[at] as T };
  }

  /** Remove the item at `at`: the last item takes its place and moves to where it belongs. */
  private removeAt(at: number): void {
    const { keys, times, values } = this;
    this.positions.delete(keys[at]!);
    const last = keys.length - 1;
    if (at !== last) {
      const moved = times[last]!;
      const removed = times[at]!;
      this.put(at, keys[last]!, moved, values[last] as T);
      keys.pop();
      times.pop();
      values.pop();
      if (moved < removed) this.up(at);
      else this.down(at);
      return;
    }
    keys.pop();
    times.pop();
    values.pop();
  }

  /** Move the item at `at` towards the root while it is earlier than its parent. */
  private up(at: number): void {
    const key = this.keys[at]!;
    const deadline = this.times[at]!;
    const value = this.values[at] as T;
    let i = at;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent]! <= deadline) break;
      this.put(i, this.keys[parent]!, this.times[parent]!, this.values[parent] as T);
      i = parent;
    }
    if (i !== at) this.put(i, key, deadline, value);
  }

  /** Move the item at `at` towards the leaves while a child is earlier. */
  private down(at: number): void {
    const { keys, times, values } = this;
    const n = keys.length;
    const key = keys[at]!;
    const deadline = times[at]!;
    const value = values[at] as T;
    let i = at;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && times[right]! < times[left]! ? right : left;
      if (times[child]! >= deadline) break;
      this.put(i, keys[child]!, times[child]!, values[child] as T);
      i = child;
    }
    if (i !== at) this.put(i, key, deadline, value);
  }

  private put(at: number, key: K, deadline: number, value: T): void {
    this.keys[at] = key;
    this.times[at] = deadline;
    this.values[at] = value;
    this.positions.set(key, at);
  }
}
