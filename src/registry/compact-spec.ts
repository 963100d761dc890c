import type { InstanceSpec } from './types.js';

const NO_TAGS: readonly string[] = Object.freeze([]);

/**
 * Tag lists already laid out, by their tags joined with NUL (validation refuses control characters in a
 * tag, so no two lists share a key). The instances of a service mostly carry the same tags, and a list of
 * its own costs each of them about 56 octets; sharing a frozen list changes nothing a reader can see
 * (readers that compare tags by identity, as the DNS view does, find equal lists equal). Emptied when full:
 * the cost of forgetting is one list per instance registered afterwards, as without the table.
 */
const sharedTagLists = new Map<string, readonly string[]>();
const MAX_SHARED_TAG_LISTS = 4096;

/** `tags` as a frozen list of exactly its length, shared with every earlier spec that had the same tags. */
function sharedTags(tags: readonly string[]): readonly string[] {
  if (tags.length === 0) return NO_TAGS;
  const key = tags.length === 1 ? (tags[0] as string) : tags.join('\u0000');
  let list = sharedTagLists.get(key);
  if (list === undefined) {
    if (sharedTagLists.size >= MAX_SHARED_TAG_LISTS) sharedTagLists.clear();
    list = Object.freeze(tags.slice());
    sharedTagLists.set(key, list);
  }
  return list;
}

/**
 * The same spec laid out to cost the least memory while the registry holds it (one per instance, so at
 * 100,000 instances every field counts): one object literal with the fields in-object, in validation's
 * order, and a tags array of exactly its length, shared by the specs with the same tags. Validation may add
 * fields to an object after it is made (V8 then keeps them in an overflow PropertyArray) and builds the tags
 * by `push`, which reserves room for 17; each costs about as much as the rest of the spec. Frozen like the
 * input; a registration and a load lay specs out this way.
 * See docs/ARCHITECTURE.md, 'Habits' 14.
 */
export function compactSpec(spec: InstanceSpec): InstanceSpec {
  const tags = sharedTags(spec.tags);
  const { id, address, port, metadata, weight, priority, protocol, host, ttlMs, check } = spec;
  // One literal per common set of optional fields keeps them in-object; the rare others keep validation's layout.
  if (ttlMs !== undefined || check !== undefined) return Object.freeze({ ...spec, tags });
  if (host !== undefined) return Object.freeze({ id, address, port, tags, metadata, weight, priority, protocol, host });
  return Object.freeze({ id, address, port, tags, metadata, weight, priority, protocol });
}
