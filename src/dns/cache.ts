/**
 * Pre-encoded responses (docs/ARCHITECTURE.md, "Request path"). One entry per (case-folded qname, qtype)
 * holds the rotation step and the encoded bytes per EDNS shape, filled lazily. Entries are indexed by their
 * dependency tags (cache-tags.ts) so a registry change drops exactly the entries that read what changed
 * (cache-invalidation.ts decides which).
 * Bounded twice: past `maxEntries` questions or `maxBytes` of encoded replies the oldest entries go, so
 * neither a flood of random names nor a large registry with big answers can grow memory without limit.
 * The tables of entries are sharded (sharded-map.ts): one Map per table took 12 ms to grow past 16,384
 * questions and 40 ms past 65,536, on the loop that answers DNS.
 */
import { type AuthorityAnswer } from './authority.js';
import { type WindowedReply } from './answer-limit.js';
import { ReplyArena, slotBytes, type ArenaSlot, type Slab } from './reply-arena.js';
import { SOA_TAG } from './cache-tags.js';
import { soaSerialOffset } from './soa-serial-offset.js';
import { questionKeyHash } from './wire.js';
import { ShardedMap } from '../sharded-map.js';
import { textHash } from '../text-hash.js';

/** One encoded reply for one EDNS shape, as the encoder hands it to the cache. */
export interface EncodedVariant {
  /** The reply; possibly a view of the encoder's scratch (wire.ts, `transient`): `storeVariant` copies it. */
  readonly bytes: Buffer;
  /** Answer record offsets (and the section end) when the answer rotates by moving bytes; else undefined. */
  readonly answerOffsets: readonly number[] | undefined;
  /** A large RRset handed out a window per reply (answer-limit.ts); `bytes` is then its header and question. */
  readonly window?: WindowedReply;
}

/**
 * A cached reply: its octets are `memory[offset, offset + length)`, in the reply arena (reply-arena.ts) or,
 * for a windowed reply, the window's header. Fields rather than a Buffer view: a view is one more heap
 * object per cached question, and hits copy from the memory directly.
 */
export interface StoredVariant extends ArenaSlot {
  answerOffsets: readonly number[] | undefined;
  window: WindowedReply | undefined;
  /** In a reply that carries the zone's moving SOA: where its serial is (rewriteSerial); else -1. */
  serialAt: number;
  /** With `serialAt`: the serial its octets hold now, and the zone's (`freshSerial` makes them agree). */
  serialHeld: number;
  serialZone: ZoneSerialValue | undefined;
  /** The octets, as a new view per read (serial made current): the hot path reads `memory` and `offset` itself. */
  readonly bytes: Buffer;
}

/** The zone's serial as the cache last heard it (-1: not yet), shared by the replies that carry it. */
export interface ZoneSerialValue {
  value: number;
}

/**
 * Make the serial a stored reply carries the zone's current one: written at the first read after a move
 * rather than into every cached negative answer at each move (one change would then cost a write per cached
 * negative answer, hundreds of thousands under a flood of random names). Call before reading its octets.
 */
export function freshSerial(variant: StoredVariant): void {
  const zone = variant.serialZone;
  if (zone === undefined || zone.value === variant.serialHeld || zone.value < 0) return;
  const value = zone.value;
  const at = variant.offset + variant.serialAt;
  const memory = variant.memory;
  memory[at] = value >>> 24;
  memory[at + 1] = (value >>> 16) & 0xff;
  memory[at + 2] = (value >>> 8) & 0xff;
  memory[at + 3] = value & 0xff;
  variant.serialHeld = value;
}

/** A further EDNS shape's reply, for the few questions asked in more than one shape. */
class OtherVariant implements StoredVariant {
  memory: Buffer = EMPTY;
  offset = 0;
  length = 0;
  slab: Slab | undefined = undefined;
  index = -1;
  answerOffsets: readonly number[] | undefined = undefined;
  window: WindowedReply | undefined = undefined;
  serialAt = -1;
  serialHeld = -1;
  serialZone: ZoneSerialValue | undefined = undefined;

  /** The octets (a view; see `StoredVariant.bytes`). */
  get bytes(): Buffer {
    freshSerial(this);
    return slotBytes(this);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * One cached question, with the reply of the first EDNS shape asked inline (most questions only ever see
 * one shape): one heap object per cached question besides its key. The authority's answer is kept only
 * until the first reply is encoded (records cost far more memory than bytes); a later EDNS shape asks the
 * authority again. Rotation does not multiply the bytes: successive replies move the answer records' bytes
 * (see `rotatable` in wire.ts).
 */
export class CacheEntry implements StoredVariant {
  /** Rotation step of the next reply, always in [0, rotation). */
  next = 0;
  /** The first shape asked (-1: none yet); its reply is this entry's own StoredVariant fields. */
  shape = -1;
  memory: Buffer = EMPTY;
  offset = 0;
  length = 0;
  slab: Slab | undefined = undefined;
  index = -1;
  answerOffsets: readonly number[] | undefined = undefined;
  window: WindowedReply | undefined = undefined;
  serialAt = -1;
  serialHeld = -1;
  serialZone: ZoneSerialValue | undefined = undefined;
  /** Further shapes, created on demand. */
  others: Map<number, OtherVariant> | undefined = undefined;
  /** The next entry whose key has the same hash (ResponseCache.find), most recent first. */
  sameHash: CacheEntry | undefined = undefined;
  /** The entries stored just before and just after this one (ResponseCache evicts the oldest first). */
  older: CacheEntry | undefined = undefined;
  newer: CacheEntry | undefined = undefined;

  constructor(
    readonly key: string,
    /** Dependency tags: one as a string (most answers), more as an array of exactly that length. */
    readonly tags: string | readonly string[],
    readonly rcode: number,
    /** How many orders replies cycle through (the answer RRset's size, or 1). */
    readonly rotation: number,
    /** The authority's answer, until the first variant is encoded. */
    public answer: AuthorityAnswer | undefined,
  ) {}

  /** The first shape's octets (a view; see `StoredVariant.bytes`). */
  get bytes(): Buffer {
    freshSerial(this);
    return slotBytes(this);
  }
}

/** The stored reply of `entry` for `shape`, if there is one. */
export function variantFor(entry: CacheEntry, shape: number): StoredVariant | undefined {
  return entry.shape === shape ? entry : entry.others?.get(shape);
}

/** Whether `entry`'s key is the octets `octets[0, length)` (see ResponseCache.hashed). */
export function hasKey(entry: CacheEntry, octets: Buffer, length: number): boolean {
  return sameKey(entry.key, octets, length);
}

/** Whether the latin1 string `key` holds exactly the octets `octets[0, length)`. */
function sameKey(key: string, octets: Buffer, length: number): boolean {
  if (key.length !== length) return false;
  for (let i = 0; i < length; i++) if (key.charCodeAt(i) !== octets[i]) return false;
  return true;
}

/** Keys a tag lists in an array before it gets a Set (deleting from the array scans it). */
const SMALL_KEY_LIST = 8;

/** Default bound on cached questions. */
export const DEFAULT_CACHE_ENTRIES = 100_000;

/**
 * Default bound on cached reply bytes (32 MiB). Each byte of reply costs about twice that in RSS once
 * Buffer headers and the entry are counted; 32 MiB holds every question of a 50 x 3 registry many times
 * over, and keeps a 100,000-instance registry with a warm cache inside 300 MB.
 */
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

/** Bytes an entry's replies hold. */
function entryBytes(entry: CacheEntry): number {
  let bytes = entry.shape >= 0 ? variantBytes(entry) : 0;
  if (entry.others) for (const variant of entry.others.values()) bytes += variantBytes(variant);
  return bytes;
}

function variantBytes(variant: StoredVariant): number {
  return variant.window?.byteLength ?? variant.length;
}

function hasTag(tags: string | readonly string[], tag: string): boolean {
  return typeof tags === 'string' ? tags === tag : tags.includes(tag);
}


/** The response cache with tag-based invalidation. */
export class ResponseCache {
  /** Number of entries. */
  private count = 0;
  /** Both ends of the entries in the order they were stored, linked through `older` and `newer`. */
  private oldestEntry: CacheEntry | undefined;
  private newestEntry: CacheEntry | undefined;
  /**
   * The entries by key hash, colliding ones chained through `sameHash`: the one index of them (a key's entry
   * is its chain's entry with that key). The request path finds its question from the parsed key octets
   * without turning them into a string (making and hashing that string was the largest cost of a cache hit).
   */
  private readonly byHash = new ShardedMap<number, CacheEntry>((hash) => hash);
  /**
   * tag → the keys depending on it: one key as a plain string, a few (an instance's SRV and TXT) as an
   * array, more than SMALL_KEY_LIST as a Set, so a tag costs no Set object until it has many keys and
   * dropping one key never scans a long list.
   */
  private readonly byTag = new ShardedMap<string, string | string[] | Set<string>>(textHash);
  private invalidatedCount = 0;
  /** The zone's serial as last told (rewriteSerial); stored replies holding it write it when read (freshSerial). */
  private readonly zoneSerial: ZoneSerialValue = { value: -1 };
  /** Stored replies holding the zone's moving SOA serial at `serialAt` (those with `serialZone` set). */
  private serialHolders = 0;
  /** Keys of SOA-tagged entries with a reply (or pending answer) whose serial cannot be rewritten: dropped on a move. */
  private readonly serialMisses = new Set<string>();
  private bytesHeld = 0;
  private readonly arena = new ReplyArena();

  constructor(
    private readonly maxEntries = DEFAULT_CACHE_ENTRIES,
    private readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {}

  /**
   * Store the encoded reply of `entry` for `shape`, then evict the oldest entries while over the byte budget.
   * Returns the reply as stored (its bytes copied into the arena).
   */
  storeVariant(entry: CacheEntry, shape: number, variant: EncodedVariant): StoredVariant {
    const live = this.byKey(entry.key, questionKeyHash(entry.key)) === entry; // evicted meanwhile: not counted, not kept
    let stored: StoredVariant;
    if (entry.shape < 0) {
      entry.shape = shape;
      stored = entry;
    } else {
      stored = new OtherVariant();
      (entry.others ??= new Map()).set(shape, stored);
    }
    stored.answerOffsets = variant.answerOffsets;
    stored.window = variant.window;
    // Replies carrying the moving SOA get their serial rewritten in place when it moves (rewriteSerial).
    stored.serialAt = -1;
    stored.serialZone = undefined;
    if (live && hasTag(entry.tags, SOA_TAG)) {
      stored.serialAt = variant.window === undefined ? soaSerialOffset(variant.bytes) : -1;
      if (stored.serialAt >= 0) {
        stored.serialHeld = variant.bytes.readUInt32BE(stored.serialAt);
        stored.serialZone = this.zoneSerial;
        this.serialHolders++;
        if (stored === entry) this.serialMisses.delete(entry.key);
      } else {
        this.serialMisses.add(entry.key);
      }
    }
    if (live && variant.window === undefined) {
      this.arena.place(stored, variant.bytes);
    } else {
      // A window keeps its own memory; an entry evicted meanwhile still answers this one request, from a copy
      // (the encoder's bytes may be its scratch).
      stored.memory = variant.window === undefined ? Buffer.from(variant.bytes) : variant.bytes;
      stored.offset = 0;
      stored.length = variant.bytes.length;
    }
    if (!live) return stored;
    this.bytesHeld += variantBytes(stored);
    while (this.bytesHeld > this.maxBytes) {
      const oldest = this.oldestEntry;
      // What is left is this entry and newer ones; a delete that finds nothing would loop forever.
      if (oldest === undefined || oldest === entry || !this.delete(oldest.key)) break;
    }
    return stored;
  }

  /** Reply bytes held. */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** The entry for a key, if cached. */
  get(key: string): CacheEntry | undefined {
    return this.byKey(key, questionKeyHash(key));
  }

  /** The entry whose key is the octets `key[0, length)`, hashed to `hash` (questionKeyHash), if cached. */
  find(key: Buffer, length: number, hash: number): CacheEntry | undefined {
    let entry = this.byHash.getHashed(hash, hash);
    while (entry !== undefined && !sameKey(entry.key, key, length)) entry = entry.sameHash;
    return entry;
  }

  /**
   * The newest entry whose key hashes to `hash`, the others following through `sameHash`: for a caller that
   * checks the keys itself (`hasKey`, or an equally strict test of its own).
   */
  hashed(hash: number): CacheEntry | undefined {
    return this.byHash.getHashed(hash, hash);
  }

  /** Store an answer (replacing any entry for the key) and index it under its tags. */
  set(key: string, answer: AuthorityAnswer): CacheEntry {
    const hash = questionKeyHash(key);
    this.delete(key, hash);
    if (this.count >= this.maxEntries && this.oldestEntry !== undefined) this.delete(this.oldestEntry.key);
    const tags = answer.tags.length === 1 ? (answer.tags[0] as string) : answer.tags.slice();
    const entry = new CacheEntry(key, tags, answer.rcode, answer.rotation, answer);
    this.count++;
    entry.older = this.newestEntry;
    if (this.newestEntry === undefined) this.oldestEntry = entry;
    else this.newestEntry.newer = entry;
    this.newestEntry = entry;
    // Until its reply is stored with the serial's offset, the entry holds the serial only in `answer`.
    if (answer.tags.includes(SOA_TAG)) this.serialMisses.add(key);
    entry.sameHash = this.byHash.getHashed(hash, hash);
    this.byHash.setHashed(hash, hash, entry);
    for (const tag of answer.tags) {
      const keys = this.byTag.get(tag);
      if (keys === undefined || keys === key) this.byTag.set(tag, key);
      else if (typeof keys === 'string') this.byTag.set(tag, [keys, key]);
      else if (!Array.isArray(keys)) keys.add(key);
      else if (keys.includes(key)) continue;
      else if (keys.length < SMALL_KEY_LIST) keys.push(key);
      else this.byTag.set(tag, new Set([...keys, key]));
    }
    return entry;
  }

  /** Drop every entry that depends on `tag`; returns how many went. Cost: the entries dropped. */
  invalidate(tag: string): number {
    const keys = this.byTag.get(tag);
    if (keys === undefined) return 0;
    let n = 0;
    for (const key of typeof keys === 'string' ? [keys] : Array.isArray(keys) ? keys.slice() : [...keys]) if (this.delete(key)) n++;
    this.byTag.delete(tag);
    this.invalidatedCount += n;
    return n;
  }

  /**
   * The zone's SOA serial moved: every cached reply tagged SOA_TAG that holds it (the SOA answer, negative
   * answers) carries the new one from now on, in place, so they stay cached (each writes it at its next read:
   * freshSerial); entries with a reply whose serial was not found are dropped instead. Cost: those entries,
   * whatever the number of negative answers cached. Returns how many replies now carry `serial`.
   */
  rewriteSerial(serial: number): number {
    if (this.serialMisses.size > 0) {
      for (const key of [...this.serialMisses]) if (this.delete(key)) this.invalidatedCount++;
      this.serialMisses.clear();
    }
    this.zoneSerial.value = serial >>> 0;
    return this.serialHolders;
  }

  /** Drop everything. */
  clear(): void {
    this.serialHolders = 0;
    this.serialMisses.clear();
    this.count = 0;
    this.oldestEntry = undefined;
    this.newestEntry = undefined;
    this.byHash.clear();
    this.byTag.clear();
    this.bytesHeld = 0;
    this.arena.clear();
  }

  /** Number of cached questions. */
  get size(): number {
    return this.count;
  }

  /** Entries dropped by invalidation since start. */
  get invalidated(): number {
    return this.invalidatedCount;
  }

  /** Drop the entry of `key` (`hash`: its questionKeyHash, when the caller has it). */
  private delete(key: string, hash = questionKeyHash(key)): boolean {
    const entry = this.byKey(key, hash);
    if (!entry) return false;
    this.count--;
    this.unlink(entry);
    this.unchain(entry, hash);
    this.bytesHeld -= entryBytes(entry);
    if (entry.serialZone !== undefined) this.serialHolders--;
    if (entry.others) for (const variant of entry.others.values()) if (variant.serialZone !== undefined) this.serialHolders--;
    this.serialMisses.delete(key);
    if (entry.shape >= 0) this.arena.release(entry);
    if (entry.others) for (const variant of entry.others.values()) this.arena.release(variant);
    for (const tag of typeof entry.tags === 'string' ? [entry.tags] : entry.tags) {
      const keys = this.byTag.get(tag);
      if (keys === undefined) continue;
      if (typeof keys === 'string') {
        if (keys === key) this.byTag.delete(tag);
        continue;
      }
      if (Array.isArray(keys)) {
        const at = keys.indexOf(key);
        if (at < 0) continue;
        keys[at] = keys[keys.length - 1] as string;
        keys.pop();
        if (keys.length === 1) this.byTag.set(tag, keys[0] as string);
        continue;
      }
      keys.delete(key);
      if (keys.size === 0) this.byTag.delete(tag);
    }
    return true;
  }

  /** The entry of `key`, whose questionKeyHash is `hash`. */
  private byKey(key: string, hash: number): CacheEntry | undefined {
    let entry = this.byHash.getHashed(hash, hash);
    while (entry !== undefined && entry.key !== key) entry = entry.sameHash;
    return entry;
  }

  /** Take `entry` out of the order of storing. */
  private unlink(entry: CacheEntry): void {
    const { older, newer } = entry;
    if (older === undefined) this.oldestEntry = newer;
    else older.newer = newer;
    if (newer === undefined) this.newestEntry = older;
    else newer.older = older;
    entry.older = undefined;
    entry.newer = undefined;
  }

  /** Take `entry` out of its hash chain (`hash`: its key's; not kept per entry, to save memory). */
  private unchain(entry: CacheEntry, hash: number): void {
    const head = this.byHash.getHashed(hash, hash);
    if (head === entry) {
      if (entry.sameHash === undefined) this.byHash.deleteHashed(hash, hash);
      else this.byHash.setHashed(hash, hash, entry.sameHash);
    } else {
      let before = head;
      while (before !== undefined && before.sameHash !== entry) before = before.sameHash;
      if (before !== undefined) before.sameHash = entry.sameHash;
    }
    entry.sameHash = undefined;
  }
}
