import type { InstanceSpec } from './types.js';

const NO_TAGS: readonly string[] = Object.freeze([]);

/**
 * The same spec laid out to cost the least memory while the registry holds it (one per instance, so at
 * 100,000 instances every field counts): one object literal with the fields in-object, in validation's
 * order, and a tags array of exactly its length. Validation may add fields to an object after it is made
 * (V8 then keeps them in an overflow PropertyArray) and builds the tags by `push`, which reserves room for
 * 17; each costs about as much as the rest of the spec. Frozen like the input.
 * See docs/ARCHITECTURE.md, 'Habits' 14.
 */
export function compactSpec(spec: InstanceSpec): InstanceSpec {
  const tags = spec.tags.length === 0 ? NO_TAGS : Object.freeze(spec.tags.slice());
  const { id, address, port, metadata, weight, priority, protocol, host, ttlMs, check } = spec;
  // One literal per common set of optional fields keeps them in-object; the rare others keep validation's layout.
  if (ttlMs !== undefined || check !== undefined) return Object.freeze({ ...spec, tags });
  if (host !== undefined) return Object.freeze({ id, address, port, tags, metadata, weight, priority, protocol, host });
  return Object.freeze({ id, address, port, tags, metadata, weight, priority, protocol });
}
