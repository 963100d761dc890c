/**
 * Maps split into shards by a hash of the key, for tables that hold an entry per instance or per cached
 * question (docs/ARCHITECTURE.md, 'Habits' 15). V8 grows a Map by rehashing it whole into one twice its size,
 * in one step on the thread that inserts: the response cache's three tables took 40 ms to pass 65,536
 * questions. Split 64 ways, each growth copies a 64th of the table.
 */

/** log2 of the number of shards: 64 keeps each shard near 1,600 keys at 100,000. */
const SHARD_BITS = 6;
/** Number of shards a sharded table has. */
export const SHARD_COUNT = 1 << SHARD_BITS;

/** The shard, in [0, SHARD_COUNT), of a key with this 32-bit hash (its high and low halves mixed). */
export function shardOf(hash: number): number {
  return (hash ^ (hash >>> 16)) & (SHARD_COUNT - 1);
}

/**
 * A Map in SHARD_COUNT shards, keys spread by `hashOf` (the same key must always hash the same). A caller
 * that already has a key's hash passes it to the `...Hashed` methods, which skip `hashOf`: on the request
 * path the hash comes with the parsed question. No iteration: the shards' orders are not the whole's.
 */
export class ShardedMap<K, V> {
  private readonly shards: Map<K, V>[] = Array.from({ length: SHARD_COUNT }, () => new Map<K, V>());
  private count = 0;

  constructor(private readonly hashOf: (key: K) => number) {}

  /** Number of keys. */
  get size(): number {
    return this.count;
  }

  /** The value of `key`, if present. */
  get(key: K): V | undefined {
    return this.shardFor(key).get(key);
  }

  /** Whether `key` is present. */
  has(key: K): boolean {
    return this.shardFor(key).has(key);
  }

  /** Set `key` to `value`. */
  set(key: K, value: V): this {
    return this.setHashed(key, this.hashOf(key), value);
  }

  /** Remove `key`; true when it was present. */
  delete(key: K): boolean {
    return this.deleteHashed(key, this.hashOf(key));
  }

  /** Remove every key. */
  clear(): void {
    for (const shard of this.shards) shard.clear();
    this.count = 0;
  }

  /** `get` of a key whose `hashOf` is `hash`. */
  getHashed(key: K, hash: number): V | undefined {
    return this.shards[shardOf(hash)]!.get(key);
  }

  /** `set` of a key whose `hashOf` is `hash`. */
  setHashed(key: K, hash: number, value: V): this {
    const shard = this.shards[shardOf(hash)]!;
    const before = shard.size;
    shard.set(key, value);
    this.count += shard.size - before;
    return this;
  }

  /** `delete` of a key whose `hashOf` is `hash`. */
  deleteHashed(key: K, hash: number): boolean {
    if (!this.shards[shardOf(hash)]!.delete(key)) return false;
    this.count--;
    return true;
  }

  private shardFor(key: K): Map<K, V> {
    return this.shards[shardOf(this.hashOf(key))]!;
  }
}
