/**
 * Octets kept for the life of a memo (the authority's service names, the host index's address targets, the
 * parsed-address memo) come from slabs of their own. A Buffer made with `Buffer.from` is a view into Node's
 * shared 8 KiB allocation pool, and one long-lived view keeps its whole pool alive: memoised addresses made
 * between cache misses pinned a pool each, about 11 MB at 100,000 cached questions
 * (scripts/bench/cache-memory.mjs).
 */
import { type Label, type Name, assertNameLength } from './name.js';

/** Octets per label slab: hundreds of labels. */
const SLAB_OCTETS = 16 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_OCTETS);
let used = 0;

/** `length` octets of memory shared only with other durable octets (contents unset). */
function reserve(length: number): Buffer {
  if (length > SLAB_OCTETS) return Buffer.allocUnsafeSlow(length);
  if (used + length > SLAB_OCTETS) {
    slab = Buffer.allocUnsafeSlow(SLAB_OCTETS);
    used = 0;
  }
  const out = slab.subarray(used, used + length);
  used += length;
  return out;
}

/** A durable copy of `bytes`. */
export function durableCopy(bytes: Uint8Array): Buffer {
  const out = reserve(bytes.length);
  out.set(bytes);
  return out;
}

/** A label (UTF-8) whose octets share memory only with other durable octets. */
export function durableLabel(text: string): Label {
  const label = reserve(Buffer.byteLength(text, 'utf8'));
  label.write(text, 'utf8');
  return label;
}

/** `labels` (UTF-8 text) followed by `parent`: `joinNames(nameFromLabels(labels), parent)` with durable labels. */
export function durableName(labels: readonly string[], parent: Name): Name {
  const own = labels.map(durableLabel);
  assertNameLength(own); // as nameFromLabels: the labels themselves
  return [...own, ...parent];
}
