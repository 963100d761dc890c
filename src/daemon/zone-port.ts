/**
 * The control API's zone port (control/ports.ts, ZonePort) over the daemon's dynamic zone data: listings read
 * the DynamicZone; a deletion goes through the same zone writer as DNS UPDATE (daemon/zone-data.ts), so it is
 * durable before it is applied, streamed to DNS workers and moves the SOA serial (docs/ARCHITECTURE.md,
 * "Dynamic zone data").
 */
import { type DynamicRRset, type DynamicZone, ownerText } from '../dns/dynamic-zone.js';
import { type Name, ROOT, isSubdomain, nameToPresentation, parseName } from '../dns/name.js';
import { InvalidArgumentError } from '../errors.js';
import type { ZonePort } from '../control/ports.js';
import { compareZoneRRsets, zoneRRsetView } from '../control/zone-view.js';

/** What the port needs: the zone held in memory and the writer that makes changes durable, then applies them. */
export interface ZoneSource {
  readonly zone: DynamicZone;
  write(sets: readonly DynamicRRset[]): Promise<void>;
  /** Run a read-then-write alone among the zone's writers (daemon/zone-data.ts). */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
}

/** A ZonePort for the zone `domain`. */
export function zonePort(source: ZoneSource, domain: Name): ZonePort {
  const view = (name: Name, type: number) => {
    const set = source.zone.rrset(name, type);
    return set ? zoneRRsetView(set, source.zone.records(name, type)) : undefined;
  };
  return {
    list: () => source.zone.entries().map((e) => zoneRRsetView(e.set, e.records)).sort(compareZoneRRsets),
    async remove(owner, type) {
      const name = ownerName(owner, domain);
      return source.exclusive(async () => {
        const held = view(name, type);
        if (!held) return undefined;
        // No RDATA: the store removes the RRset (store/zone-data.ts), as an UPDATE deleting it does.
        await source.write([{ owner: ownerText(name), type, ttl: 0, rdata: [] }]);
        return held;
      });
    },
  };
}

/** `owner` as a name inside `domain` (a missing trailing dot is allowed); INVALID_ARGUMENT otherwise. */
function ownerName(owner: string, domain: Name): Name {
  let name: Name;
  try {
    name = parseName(owner, ROOT); // relative to the root: the trailing dot may be left off
  } catch (error) {
    throw new InvalidArgumentError(`not a domain name: ${owner} (${error instanceof Error ? error.message : String(error)})`, 'owner');
  }
  if (!isSubdomain(name, domain)) throw new InvalidArgumentError(`${owner} is not in the zone ${nameToPresentation(domain)}`, 'owner');
  return name;
}
