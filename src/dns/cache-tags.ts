/**
 * Cache dependency tags: the vocabulary shared by the authority, which tags each answer with the registry
 * facts it read, and the cache invalidation, which drops the answers tagged with what changed.
 *
 * Tags are built with `Array.prototype.join`, which makes one flat string, rather than with `+` or a
 * template: V8 makes a concatenation of 13 or more characters a ConsString, a tree of one 32-octet node per
 * `+` that keeps its parts alive (the service and id strings parsed from each question). Every cached answer
 * holds its tags, so the tree would cost memory per cached question (docs/ARCHITECTURE.md, 'Habits' 14).
 */

/** One flat string of `parts` (see above). */
function flat(...parts: string[]): string {
  return parts.join('');
}

/** Dependency tag of everything under `_service._proto.<domain>`. */
export const serviceTag = (service: string): string => flat('svc:', service);
/**
 * Dependency tag of the answers under `_service._proto.<domain>` that read its eligible instances' SRV data and
 * addresses but neither their metadata nor their tags (the service's SRV, A, AAAA; NODATA for other types): a
 * change to an instance's metadata or tags alone keeps them.
 */
export const serviceShapeTag = (service: string): string => flat('svcshape:', service);
/** Dependency tag of a subtype's answers (`_tag._sub._service._proto.<domain>`, RFC 6763 §7.1); `foldedTag` ASCII-lower-cased. */
export const subtypeTag = (service: string, protocol: 'tcp' | 'udp', foldedTag: string): string => flat('sub:', service, '/', protocol, '/', foldedTag);
/**
 * Dependency tag of every subtype answer of a service besides its subtypeTag: dropped when the service comes or
 * goes, or changes without naming its instances (the tags that moved are not known then).
 */
export const subtypesTag = (service: string): string => flat('subs:', service);
/** Dependency tag of a host name (or an empty non-terminal above one). */
export const nameTag = (key: string): string => flat('name:', key);
/** Dependency tag of an eligible instance's own answers (`I._S._P.D` SRV/TXT); `foldedId` is ASCII-lower-cased. */
export const instanceTag = (service: string, protocol: 'tcp' | 'udp', foldedId: string): string => flat('inst:', service, '/', protocol, '/', foldedId);
/** Dependency tag of an eligible instance's own answers that do not read its metadata (SRV, no TXT): see serviceShapeTag. */
export const instanceShapeTag = (service: string, protocol: 'tcp' | 'udp', foldedId: string): string => flat('instshape:', service, '/', protocol, '/', foldedId);
/**
 * Dependency tag of the negative answers at instance names of a service (no eligible instance holds the
 * name): they also carry the name's instanceTag, which a change that lists its registrations drops; this one
 * goes with every change of the service that does not (see DnsChange.registrations).
 */
export const unheldTag = (service: string): string => flat('unheld:', service);
/** Dependency tag of the enumeration names (`_services._dns-sd._udp`, `_tcp`, `_udp`). */
export const ENUM_TAG = 'enum';
/** Dependency tag of the answers that carry the DNS-SD domain's SOA (its serial moves with every change). */
export const SOA_TAG = 'soa';
