/**
 * Deadlines by key, earliest first: binary min-heaps indexed by key (each key's position in its heap),
 * holding exactly one entry per key. Setting, moving or deleting a key's deadline is O(log n), asking for
 * the earliest is O(shards). It replaces scans over every instance (the reaper's next wake-up, DNS's TTL
 * lapses) that hold the event loop for tens of milliseconds at 100,000 instances.
 *
 * Memory is per instance (the registry and the DNS lapse watch each hold one item per instance), so a heap
 * is three parallel arrays rather than one array of entry objects: an array of numbers holds raw doubles,
 * where an entry would cost its header and a boxed double for its deadline (a timestamp is no small
 * integer); and the index maps each key to its position, a small integer stored unboxed, where a map of
 * deadlines would box each one (docs/ARCHITECTURE.md, 'Habits' 14).
 *
 * Keys are spread over up to 64 such heaps by a hash, so that no table grows with the registry in one
 * piece (docs/ARCHITECTURE.md, 'Habits' 15): V8 grows a Map or an array by copying it whole into new memory
 * in one step, and one registration that took the position index from 32,768 to 65,536 keys held the event
 * loop for 5-14 ms per table on a host where fresh memory costs about 3 ms per MiB.
 */
import { shardOf } from '../sharded-map.js';

interface Entry<T, K> {
  readonly key: K;
  readonly deadline: number;
  readonly value: T;
}

/**
 * Deadlines (ms) of keyed items; `value` travels with its key (e.g. the service and id it names). Keys are
 * strings, or objects compared by identity; `shardHash` spreads keys over shards (`textHash` for strings;
 * an object's hash must not change while it is held).
 */
export class DeadlineHeap<T, K = string> {
  private readonly shards: (HeapShard<T, K> | undefined)[] = [];
  private count = 0;
  constructor(private readonly shardHash: (key: K) => number) {}

  /** Number of keys with a deadline. */
  get size(): number {
    return this.count;
  }

  /** The most keys one shard holds: what one growth of its tables copies at most. */
  get largestShard(): number {
    let most = 0;
    for (const shard of this.shards) most = Math.max(most, shard?.size ?? 0);
    return most;
  }

  /** Give `key` this deadline (undefined: none), replacing the one it had. */
  set(key: K, deadline: number | undefined, value: T): void {
    if (deadline === undefined) {
      this.delete(key);
      return;
    }
    const index = this.shardIndex(key);
    let shard = this.shards[index];
    if (shard === undefined) this.shards[index] = shard = new HeapShard<T, K>();
    if (shard.set(key, deadline, value)) this.count++;
  }

  /** Forget `key`'s deadline. */
  delete(key: K): void {
    if (this.shards[this.shardIndex(key)]?.delete(key) === true) this.count--;
  }

  /** The earliest deadline with its key and value, or undefined when there is none. */
  peek(): Entry<T, K> | undefined {
    return this.earliestShard()?.peek();
  }

  /** Remove and return every item whose deadline is at or before `now`, earliest first. */
  takeDue(now: number): Entry<T, K>[] {
    const due: Entry<T, K>[] = [];
    let contributors = 0;
    for (const shard of this.shards) {
      const before = due.length;
      shard?.takeDue(now, due);
      if (due.length > before) contributors++;
    }
    // Each shard gives its own in order; items from more than one shard need one sort.
    if (contributors > 1) due.sort((a, b) => a.deadline - b.deadline);
    this.count -= due.length;
    return due;
  }

  /** Forget everything. */
  clear(): void {
    this.shards.length = 0;
    this.count = 0;
  }

  private shardIndex(key: K): number {
    return shardOf(this.shardHash(key));
  }

  private earliestShard(): HeapShard<T, K> | undefined {
    let best: HeapShard<T, K> | undefined;
    let earliest = Infinity;
    for (const shard of this.shards) {
      const at = shard?.earliest() ?? Infinity;
      if (at < earliest) {
        earliest = at;
        best = shard;
      }
    }
    return best;
  }
}

/** One binary min-heap of deadlines by key, with its position index. */
class HeapShard<T, K> {
  private readonly keys: K[] = [];
  private readonly times: number[] = [];
  private readonly values: T[] = [];
  /** key -> its position in the arrays. */
  private readonly positions = new Map<K, number>();

  /** Number of keys here. */
  get size(): number {
    return this.keys.length;
  }

  /** Give `key` this deadline, replacing the one it had; true when the key was new here. */
  set(key: K, deadline: number, value: T): boolean {
    const at = this.positions.get(key);
    if (at === undefined) {
      this.keys.push(key);
      this.times.push(deadline);
      this.values.push(value);
      this.positions.set(key, this.keys.length - 1);
      this.up(this.keys.length - 1);
      return true;
    }
    const before = this.times[at]!;
    this.times[at] = deadline;
    this.values[at] = value;
    if (deadline < before) this.up(at);
    else if (deadline > before) this.down(at);
    return false;
  }

  /** Forget `key`'s deadline; true when it had one here. */
  delete(key: K): boolean {
    const at = this.positions.get(key);
    if (at === undefined) return false;
    this.removeAt(at);
    return true;
  }

  /** The earliest deadline here, Infinity when empty. */
  earliest(): number {
    return this.keys.length === 0 ? Infinity : this.times[0]!;
  }

  /** The earliest deadline with its key and value, or undefined when empty. */
  peek(): Entry<T, K> | undefined {
    return this.keys.length === 0 ? undefined : this.entryAt(0);
  }

  /** Move every item whose deadline is at or before `now` into `due`, earliest first. */
  takeDue(now: number, due: Entry<T, K>[]): void {
    while (this.keys.length > 0 && this.times[0]! <= now) {
      due.push(this.entryAt(0));
      this.removeAt(0);
    }
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
