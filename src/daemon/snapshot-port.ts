/**
 * The control API's snapshot port (control/ports.ts, SnapshotPort) over the durable registry and the dynamic
 * zone data: documents of version 1 or 2 (control/zone-snapshot.ts). A version 2 restore writes the zone
 * data through the same zone writer as DNS UPDATE (durable, streamed to DNS workers, the SOA serial moves).
 */
import type { SnapshotPort } from '../control/ports.js';
import { withZoneData } from '../control/zone-snapshot.js';
import type { DynamicRRset } from '../dns/dynamic-zone.js';
import { type Name, isSubdomain, nameToPresentation, parseName } from '../dns/name.js';
import { InvalidArgumentError } from '../errors.js';
import { SNAPSHOT_VERSION, restoreDocument, snapshotDocument } from '../registry/snapshot.js';
import type { DurableRegistry } from '../registry/write-path.js';
import type { ZoneSource } from './zone-port.js';

/** A SnapshotPort for `durable`, with the zone data of `domain` when given. */
export function snapshotPort(durable: DurableRegistry, zone?: { readonly source: ZoneSource; readonly domain: Name }): SnapshotPort {
  return {
    document: () => withZoneData(snapshotDocument(durable), zone ? sorted(zone.source.zone.all()) : []),
    async restore(document) {
      let zoneRRsets: number | undefined;
      if (document.version === 2) {
        if (!zone) throw new InvalidArgumentError('this daemon keeps no dynamic zone data: it cannot restore a snapshot that holds some', 'snapshot');
        const outside = document.zone.findIndex((set) => !isSubdomain(parseName(set.owner), zone.domain));
        if (outside >= 0) throw new InvalidArgumentError(`snapshot: zone[${outside}] (${document.zone[outside]!.owner}) is not in the zone ${nameToPresentation(zone.domain)}`, 'snapshot');
        // One write, all or nothing: the RRsets the snapshot holds, and the removal of every other one held.
        const keep = new Set(document.zone.map(key));
        await zone.source.exclusive(async () => {
          const removals = zone.source.zone.all().filter((set) => !keep.has(key(set))).map((set) => ({ ...set, ttl: 0, rdata: [] }));
          const sets = [...removals, ...document.zone];
          if (sets.length > 0) await zone.source.write(sets);
        });
        zoneRRsets = document.zone.length;
      }
      const result = await restoreDocument(durable, { format: document.format, version: SNAPSHOT_VERSION, index: document.index, records: document.records });
      return zoneRRsets === undefined ? result : { ...result, zoneRRsets };
    },
  };
}

const key = (set: DynamicRRset): string => `${set.owner} ${set.type}`;

/** A stable order for documents: by owner text, then type. */
function sorted(sets: readonly DynamicRRset[]): DynamicRRset[] {
  return [...sets].sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : a.type - b.type));
}
