/**
 * A memo keyed by object whose entries die with their key (WeakMaps) and whose size is bounded by
 * generations: entries go into the young generation; after `generation` insertions the young one becomes the
 * old one and the previous old one is let go. A hit in the old generation moves the entry to the young one,
 * so whatever is used at least once per generation stays. Live entries: at most twice `generation`, and
 * never more than the keys alive.
 *
 * Why not a bounded Map evicting the oldest: a working set even one larger than the bound, read in the same
 * order each time (every listing of a large registry rebuilt after its writes), then misses on every read,
 * and the Map keeps replaced keys alive until they are evicted. Here a working set up to `generation` always
 * hits, and a replaced key frees its entry at once.
 *
 * A working set larger than a generation would still miss on many reads, each miss rebuilding what was let
 * go a moment before (a deploy growing fifty services to a thousand instances each while DNS lists them
 * all: the rebuilds took a third of the daemon's time). So the memo remembers which keys it has held (a
 * sample of them, below), and once the keys it let go and is asked for again pass
 * 1/RETURNS_PER_GROWTH of a generation, it doubles the generation (at most once per generation): it grows
 * to the working set that keeps coming back, within a generation or two of the first misses. Keys read once
 * (a cold registry asked each name once) never come back and never make it grow. It stops growing once its
 * generations hold what is read between two writes: nothing is let go too soon any more. So it holds at most
 * one entry per live key that is read again and again, which is what rebuilding each one every time would
 * allocate anyway; it never shrinks, but entries die with their keys.
 *
 * It marks one in HELD_SAMPLE of the unmarked keys it memoises (in a WeakSet: a mark dies with its key) and
 * counts a marked key coming back as HELD_SAMPLE returns: keys let go come back in no particular relation
 * to the order they were first memoised, so the sample's returns stand for all of them. A WeakSet of every
 * live key grew with the registry, and V8 grows a weak table by rehashing it whole into one twice its size
 * (20 ms at 43,691 keys, on the event loop; docs/ARCHITECTURE.md, 'Habits' 15); the sample's table is a
 * sixteenth of that.
 */
const RETURNS_PER_GROWTH = 32;
/** One in this many unmarked keys memoised is marked; a marked key's return counts this many times. */
const HELD_SAMPLE = 16;

export class GenerationalMemo<K extends object, V> {
  private young = new WeakMap<K, V>();
  private old = new WeakMap<K, V>();
  /** A sample of the keys memoised and still alive: a miss on one of these is a key let go too soon. */
  private readonly held = new WeakSet<K>();
  /** Unmarked keys memoised since the last one marked. */
  private unmarked = 0;
  /** Insertions into `young` since it was made, and how many of them were keys let go too soon. */
  private filled = 0;
  private returned = 0;
  /** Whether the generation has doubled since `young` was made. */
  private grown = false;
  private generation: number;

  /** `generation`: insertions per generation to start with (it doubles while the memo thrashes). */
  constructor(generation: number) {
    this.generation = generation;
  }

  /** Insertions per generation now. */
  get generationSize(): number {
    return this.generation;
  }

  /** The value for `key`, if memoised. */
  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) this.insert(key, aged);
    return aged;
  }

  /** Memoise `value` for `key`. */
  set(key: K, value: V): void {
    if (this.held.has(key)) {
      if (!this.young.has(key) && !this.old.has(key)) this.noteReturn();
    } else if (++this.unmarked === HELD_SAMPLE) {
      this.unmarked = 0;
      this.held.add(key);
    }
    this.insert(key, value);
  }

  /** Forget `key` (a value that must not be handed out again); memoised again later, it is new, not a return. */
  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
    this.held.delete(key);
  }

  /** A key let go too soon is memoised again (see RETURNS_PER_GROWTH). */
  private noteReturn(): void {
    this.returned += HELD_SAMPLE;
    if (!this.grown && this.returned * RETURNS_PER_GROWTH > this.generation) {
      this.generation *= 2;
      this.grown = true;
    }
  }

  private insert(key: K, value: V): void {
    if (this.filled >= this.generation) {
      this.old = this.young;
      this.young = new WeakMap();
      this.filled = 0;
      this.returned = 0;
      this.grown = false;
    }
    this.young.set(key, value);
    this.filled++;
  }
}
