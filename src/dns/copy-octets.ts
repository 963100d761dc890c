/**
 * Copy octets between two DataViews without creating an object: the cache-hit path copies every reply, and
 * `Uint8Array#set` needs a view of exactly the source range (one heap object per copy, ~70 octets: the
 * main allocation of a cache hit, and the young-generation collections that follow). DataView reads and
 * writes are inlined by the optimising compiler; eight octets per step as a float64 (about 0.2 ns per octet
 * here, against ~35 ns plus the collection for a view and `set`).
 *
 * A float carries any 64 bits exactly except a NaN, whose payload an engine may canonicalise on the way
 * through a register; so a word that reads as NaN is copied as two 32-bit integers instead. Both sides use
 * the same (little-endian) order, so the copy is octet for octet on any host.
 */

/** Copy `from[fromOffset, fromOffset + length)` to `to[toOffset, ...)`; the ranges must not overlap. */
export function copyOctets(from: DataView, fromOffset: number, to: DataView, toOffset: number, length: number): void {
  let i = 0;
  for (; i + 8 <= length; i += 8) {
    const word = from.getFloat64(fromOffset + i, true);
    if (word === word) {
      to.setFloat64(toOffset + i, word, true);
    } else {
      to.setInt32(toOffset + i, from.getInt32(fromOffset + i, true), true);
      to.setInt32(toOffset + i + 4, from.getInt32(fromOffset + i + 4, true), true);
    }
  }
  for (; i < length; i++) to.setUint8(toOffset + i, from.getUint8(fromOffset + i));
}
