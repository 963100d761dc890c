/**
 * Snapshots with dynamic zone data. Version 1 (src/registry/snapshot.ts) holds the registry's instances;
 * version 2 adds `zone`, the RRsets DNS UPDATE keeps that describe no instance, in their stored form
 * (src/store/zone-data.ts: owner in presentation form, type number, TTL, each record's RDATA in base64):
 *
 *   { "format": "beacon-snapshot", "version": 2, "index": 42, "records": [...], "zone": [{owner, type, ttl, rdata}] }
 *
 * A snapshot is written in the oldest version that carries its content (version 1 when there is no zone
 * data), so older Beacons still read it; both versions are read. A version 1 snapshot says nothing about zone
 * data, so restoring one leaves the zone data as it is; a version 2 snapshot makes it exactly the document's.
 */
import { readFile } from 'node:fs/promises';
import { type DynamicRRset, ownerText } from '../dns/dynamic-zone.js';
import { ROOT, parseName } from '../dns/name.js';
import { InvalidArgumentError, isBeaconError } from '../errors.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type SnapshotDocument, validateSnapshot, writeSnapshotFile } from '../registry/snapshot.js';

/** The snapshot version that adds dynamic zone data. */
export const ZONE_SNAPSHOT_VERSION = 2;

/** A parsed, validated snapshot of either version; `zone` is present exactly in version 2. */
export type BeaconSnapshot = SnapshotDocument | (Omit<SnapshotDocument, 'version'> & { readonly version: typeof ZONE_SNAPSHOT_VERSION; readonly zone: readonly DynamicRRset[] });

/** Largest RDATA of one record (RFC 1035 §3.2.1: RDLENGTH is 16 bits). */
const MAX_RDATA_OCTETS = 0xffff;
/** Largest TTL (RFC 2181 §8). */
const MAX_TTL = 0x7fffffff;

/** The document for a registry snapshot and the zone data held: version 1 without zone data, else version 2. */
export function withZoneData(document: SnapshotDocument, zone: readonly DynamicRRset[]): BeaconSnapshot {
  return zone.length === 0 ? document : { ...document, version: ZONE_SNAPSHOT_VERSION, zone };
}

/**
 * Validate a parsed snapshot of version 1 or 2: the registry part as src/registry/snapshot.ts does, then every
 * zone RRset (owner a name, type 1..65535, TTL, RDATA base64 within 65535 octets, no (owner, type) twice).
 * Owners come back in the stored form (lower case, escaped). Throws InvalidArgumentError naming `origin`.
 */
export function validateBeaconSnapshot(value: unknown, origin = 'snapshot'): BeaconSnapshot {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return validateSnapshot(value, origin);
  const { zone, ...rest } = value as Record<string, unknown>;
  const version = rest['version'];
  if (rest['format'] === SNAPSHOT_FORMAT && version !== SNAPSHOT_VERSION && version !== ZONE_SNAPSHOT_VERSION) {
    throw new InvalidArgumentError(`${origin} has version ${JSON.stringify(version)}; this Beacon reads versions ${SNAPSHOT_VERSION} and ${ZONE_SNAPSHOT_VERSION}`, 'snapshot');
  }
  if (version !== ZONE_SNAPSHOT_VERSION) {
    if (zone !== undefined) throw new InvalidArgumentError(`${origin}: zone data needs version ${ZONE_SNAPSHOT_VERSION}`, 'snapshot');
    return validateSnapshot(value, origin);
  }
  const registry = validateSnapshot({ ...rest, version: SNAPSHOT_VERSION }, origin);
  return { ...registry, version: ZONE_SNAPSHOT_VERSION, zone: validateZone(zone, origin) };
}

/** Parse snapshot text (a file's or a body's); see validateBeaconSnapshot. */
export function parseBeaconSnapshot(text: string, origin = 'snapshot'): BeaconSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${origin} is not JSON: ${(error as Error).message}`, 'snapshot');
  }
  return validateBeaconSnapshot(value, origin);
}

/** Read and validate a snapshot file of either version. */
export async function readBeaconSnapshot(file: string): Promise<BeaconSnapshot> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read snapshot ${file}: ${(error as Error).message}`, 'file');
  }
  return parseBeaconSnapshot(text, `snapshot ${file}`);
}

function validateZone(zone: unknown, origin: string): DynamicRRset[] {
  if (!Array.isArray(zone)) throw new InvalidArgumentError(`${origin}: zone must be an array`, 'snapshot');
  const seen = new Set<string>();
  return zone.map((raw, i) => {
    const where = `${origin}: zone[${i}]`;
    const set = validateZoneSet(raw, where);
    const key = `${set.owner} ${set.type}`;
    if (seen.has(key)) throw new InvalidArgumentError(`${where}: a second RRset at ${set.owner} of type ${set.type}`, 'snapshot');
    seen.add(key);
    return set;
  });
}

function validateZoneSet(raw: unknown, where: string): DynamicRRset {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidArgumentError(`${where} is not an object`, 'snapshot');
  const { owner, type, ttl, rdata, ...extra } = raw as Record<string, unknown>;
  const unknown = Object.keys(extra);
  if (unknown.length > 0) throw new InvalidArgumentError(`${where}: unknown field ${JSON.stringify(unknown[0])}`, 'snapshot');
  if (typeof owner !== 'string') throw new InvalidArgumentError(`${where}: owner must be a string`, 'snapshot');
  let stored: string;
  try {
    stored = ownerText(parseName(owner, ROOT));
  } catch (error) {
    if (isBeaconError(error)) throw new InvalidArgumentError(`${where}: owner ${JSON.stringify(owner)}: ${error.message}`, 'snapshot');
    throw error;
  }
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 1 || type > 0xffff) throw new InvalidArgumentError(`${where}: type must be an integer 1..65535`, 'snapshot');
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) throw new InvalidArgumentError(`${where}: ttl must be an integer 0..${MAX_TTL}`, 'snapshot');
  if (!Array.isArray(rdata) || rdata.length === 0) throw new InvalidArgumentError(`${where}: rdata must be a non-empty array`, 'snapshot');
  const records = rdata.map((r, j) => {
    // Strict base64: Buffer.from ignores what it cannot decode, so a round trip proves the text is base64.
    if (typeof r !== 'string' || Buffer.from(r, 'base64').toString('base64') !== r) throw new InvalidArgumentError(`${where}: rdata[${j}] is not base64`, 'snapshot');
    if (Buffer.from(r, 'base64').length > MAX_RDATA_OCTETS) throw new InvalidArgumentError(`${where}: rdata[${j}] is over ${MAX_RDATA_OCTETS} octets`, 'snapshot');
    return r;
  });
  return { owner: stored, type, ttl, rdata: records };
}

/**
 * Write a snapshot of either version to `file` atomically and with mode 0600, by registry/snapshot.ts's writer:
 * it writes the document as JSON whatever it holds; only its parameter type names version 1.
 */
export function writeBeaconSnapshotFile(document: BeaconSnapshot, file: string): Promise<{ index: number; records: number }> {
  return writeSnapshotFile(document as Omit<BeaconSnapshot, 'version'> as SnapshotDocument, file);
}
