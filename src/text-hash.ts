/**
 * FNV-1a (32-bit) over a string's UTF-16 code units: a cheap, well-spread hash of short keys, the one
 * definition for the code base (the response cache's question keys, the shards of per-instance tables).
 */

/** FNV-1a's 32-bit offset basis: the hash of the empty string, and the seed of a fresh hash. */
export const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a's 32-bit prime. */
export const FNV_PRIME = 0x01000193;

/** FNV-1a of `text`, continuing from `seed` (a previous hash, to hash several strings as one). */
export function textHash(text: string, seed: number = FNV_OFFSET): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}
