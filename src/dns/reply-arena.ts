/**
 * Where the response cache keeps its encoded replies: packed into shared 64 KiB slabs rather than one Buffer
 * each. A Buffer of its own costs an ArrayBuffer object, a native backing store and a malloc'd block besides
 * its octets; a slot names its reply by (memory, offset, length) in fields of the object that owns it, so a
 * cached reply costs no heap object at all (a Buffer view would cost about 100 octets of V8 heap per reply;
 * scripts/bench/cache-memory.mjs).
 *
 * Holes left by dropped replies are bounded: once a slab other than the one being filled holds less than
 * half its octets in live replies, those replies move to the current slab and the old one is let go (the
 * garbage collector frees it once the last view is gone). So slabs pin at most about twice the live reply
 * octets plus one slab, and a move costs no more than the octets already freed (amortised O(1) per octet).
 */

/** Slab size: hundreds of replies per slab. */
const SLAB_BYTES = 64 * 1024;
/** Replies larger than this get memory of their own (a TCP-sized reply would waste most of a slab). */
const OWN_MEMORY_ABOVE = 8 * 1024;

/** `ArenaSlot.index` of a reply with memory of its own. */
const OWN = -2;

/** A reply's place in the arena; the arena updates `memory` and `offset` when it moves the reply. */
export interface ArenaSlot {
  /** The slab's memory (or the reply's own); the reply is `memory[offset, offset + length)`. */
  memory: Buffer;
  offset: number;
  length: number;
  /** The slab holding the reply (undefined: memory of its own, or not placed). */
  slab: Slab | undefined;
  /** Position in the slab's slot list; -1 when not placed (or released). */
  index: number;
}

/** The reply a slot holds, as a view (a new object each call: not for the hot path). */
export function slotBytes(slot: ArenaSlot): Buffer {
  return slot.memory.subarray(slot.offset, slot.offset + slot.length);
}

/** One slab and the replies in it. */
export class Slab {
  /** Memory of its own (allocUnsafeSlow: never a pool slice), so offsets into it are offsets into `arrayBuffer`. */
  readonly memory = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** The memory's ArrayBuffer, kept: the request path makes views of it on every cache hit. */
  readonly arrayBuffer: ArrayBuffer = this.memory.buffer as ArrayBuffer;
  /** A DataView of the memory, kept: a cache hit copies its reply from it without making a view (copy-octets.ts). */
  readonly view = new DataView(this.arrayBuffer);
  used = 0;
  liveBytes = 0;
  readonly slots: ArenaSlot[] = [];
}

/** Packs reply bytes into slabs; see the module comment. */
export class ReplyArena {
  private current: Slab | undefined;
  private pinnedBytes = 0;

  /** Octets the slabs in use and the replies with their own memory hold. */
  get pinned(): number {
    return this.pinnedBytes;
  }

  /** Copy `reply` into the arena and point the slot at the copy. */
  place(slot: ArenaSlot, reply: Buffer): void {
    const length = reply.length;
    slot.length = length;
    if (length > OWN_MEMORY_ABOVE) {
      const own = Buffer.allocUnsafeSlow(length);
      reply.copy(own);
      slot.memory = own;
      slot.offset = 0;
      slot.slab = undefined;
      slot.index = OWN;
      this.pinnedBytes += length;
      return;
    }
    let slab = this.current;
    if (slab === undefined || slab.used + length > SLAB_BYTES) {
      slab = this.current = new Slab();
      this.pinnedBytes += SLAB_BYTES;
    }
    slab.memory.set(reply, slab.used);
    slot.memory = slab.memory;
    slot.offset = slab.used;
    slab.used += length;
    slab.liveBytes += length;
    slot.slab = slab;
    slot.index = slab.slots.length;
    slab.slots.push(slot);
  }

  /** Forget a placed reply (its bytes stay readable until the caller lets go of them). */
  release(slot: ArenaSlot): void {
    const slab = slot.slab;
    if (slab === undefined) {
      if (slot.index === OWN) this.pinnedBytes -= slot.length;
      slot.index = -1;
      return;
    }
    const last = slab.slots.pop() as ArenaSlot;
    if (last !== slot) {
      slab.slots[slot.index] = last;
      last.index = slot.index;
    }
    slot.slab = undefined;
    slot.index = -1;
    slab.liveBytes -= slot.length;
    if (slab.slots.length === 0) {
      this.drop(slab);
    } else if (slab !== this.current && slab.liveBytes * 2 < slab.used) {
      // Mostly holes: move what is left into the current slab and let this one go.
      for (const moving of slab.slots) this.place(moving, slotBytes(moving));
      slab.slots.length = 0;
      this.drop(slab);
    }
  }

  /** Forget every reply. */
  clear(): void {
    this.current = undefined;
    this.pinnedBytes = 0;
  }

  private drop(slab: Slab): void {
    this.pinnedBytes -= SLAB_BYTES;
    // Never refilled: a reply copied out of it earlier may still be on its way to a socket.
    if (slab === this.current) this.current = undefined;
  }
}
