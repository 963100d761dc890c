/**
 * A memo keyed by object whose entries die with their key (WeakMaps) and whose size is bounded by
 * generations: entries go into the young generation; after `generation` insertions the young one becomes the
 * old one and the previous old one is let go. A hit in the old generation moves the entry to the young one,
 * so whatever is used at least once per generation stays. Live entries: at most twice `generation`.
 *
 * Why not a bounded Map evicting the oldest: a working set even one larger than the bound, read in the same
 * order each time (every listing of a large registry rebuilt after its writes), then misses on every read,
 * and the Map keeps replaced keys alive until they are evicted. Here a working set up to `generation` always
 * hits, and a replaced key frees its entry at once.
 */
export class GenerationalMemo<K extends object, V> {
  private young = new WeakMap<K, V>();
  private old = new WeakMap<K, V>();
  /** Insertions into `young` since it was made. */
  private filled = 0;

  constructor(private readonly generation: number) {}

  /** The value for `key`, if memoised. */
  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  /** Memoise `value` for `key`. */
  set(key: K, value: V): void {
    if (this.filled >= this.generation) {
      this.old = this.young;
      this.young = new WeakMap();
      this.filled = 0;
    }
    this.young.set(key, value);
    this.filled++;
  }
}
