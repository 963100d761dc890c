import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { foldAscii } from '../ascii.js';
import { InvalidArgumentError, isBeaconError } from '../errors.js';
import { RecordShapeError, decodeRecord, describeKey } from '../store/record-codec.js';
import type { InstanceRecord } from './types.js';
import { validateHealth, validateInstance, validateServiceName } from './validate.js';
import type { DurableRegistry } from './write-path.js';

/**
 * Snapshots: the whole registry as one JSON document, for backups and moves between machines
 * (`beacon snapshot save|restore FILE`). Format, version 1:
 *
 *   { "format": "beacon-snapshot", "version": 1, "index": 42, "records": [InstanceRecord, ...] }
 *
 * `index` is the registry's change index when saved (informational: a restore is a set of new changes
 * with new indexes, so indexes never repeat). Records are the store's InstanceRecord JSON.
 */

/** The `format` marker of a snapshot file. */
export const SNAPSHOT_FORMAT = 'beacon-snapshot';
/** The snapshot format version this build writes and reads. */
export const SNAPSHOT_VERSION = 1;

/** A parsed, validated snapshot document. */
export interface SnapshotDocument {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: typeof SNAPSHOT_VERSION;
  readonly index: number;
  readonly records: readonly InstanceRecord[];
}

/** What a snapshot is taken from (a ServiceRegistry or a DurableRegistry). */
export interface SnapshotSource {
  readonly index: number;
  records(): InstanceRecord[];
}

/** Outcome of a restore. */
export interface RestoreResult {
  /** Instances in the snapshot. */
  readonly records: number;
  /** Instances added, replaced or removed. */
  readonly changed: number;
  /** The snapshot's saved index. */
  readonly snapshotIndex: number;
}

/** The registry's state as a snapshot document. */
export function snapshotDocument(source: SnapshotSource): SnapshotDocument {
  return { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, index: source.index, records: source.records() };
}

/**
 * Write a snapshot of `source` to `file` atomically: a temporary file in the same directory, fsynced, then
 * renamed over `file`, so a crash leaves either the old file or the complete new one.
 */
export async function saveSnapshot(source: SnapshotSource, file: string): Promise<{ index: number; records: number }> {
  return writeSnapshotFile(snapshotDocument(source), file);
}

/** Write a snapshot document to `file` atomically (mode 0600; see saveSnapshot). */
export async function writeSnapshotFile(document: SnapshotDocument, file: string): Promise<{ index: number; records: number }> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(document, null, 1)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new InvalidArgumentError(`cannot write snapshot ${file}: ${(error as Error).message}`, 'file');
  }
  await syncDirectory(dirname(file));
  return { index: document.index, records: document.records.length };
}

/** Read and validate a snapshot file. Throws InvalidArgumentError saying what is wrong and where. */
export async function readSnapshot(file: string): Promise<SnapshotDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read snapshot ${file}: ${(error as Error).message}`, 'file');
  }
  return parseSnapshot(text, `snapshot ${file}`);
}

/**
 * Parse and validate a snapshot document (text from a file or a request body): the format marker and
 * version, then every record's shape and the registry's own rules (names, ports, checks...), and no two
 * records for one DNS name. Throws InvalidArgumentError naming `origin` and the bad record.
 */
export function parseSnapshot(text: string, origin = 'snapshot'): SnapshotDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${origin} is not JSON: ${(error as Error).message}`, 'snapshot');
  }
  return validateSnapshot(value, origin);
}

/** Validate an already parsed snapshot document (see parseSnapshot); throws InvalidArgumentError. */
export function validateSnapshot(value: unknown, origin = 'snapshot'): SnapshotDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${origin} is not a JSON object`, 'snapshot');
  const document = value as Record<string, unknown>;
  if (document['format'] !== SNAPSHOT_FORMAT) {
    throw new InvalidArgumentError(`${origin} is not a Beacon snapshot (format is ${JSON.stringify(document['format'])}, expected "${SNAPSHOT_FORMAT}")`, 'snapshot');
  }
  if (document['version'] !== SNAPSHOT_VERSION) {
    throw new InvalidArgumentError(`${origin} has version ${JSON.stringify(document['version'])}; this Beacon reads version ${SNAPSHOT_VERSION}`, 'snapshot');
  }
  const index = document['index'];
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) {
    throw new InvalidArgumentError(`${origin}: index must be a non-negative integer, got ${JSON.stringify(index)}`, 'snapshot');
  }
  const records = document['records'];
  if (!Array.isArray(records)) throw new InvalidArgumentError(`${origin}: records must be an array`, 'snapshot');

  const seen = new Map<string, string>();
  const validated = records.map((raw, i) => {
    const record = validateRecord(raw, `${origin}: records[${i}]`);
    // Two ids that fold to the same DNS name cannot both be served (the registry refuses them too).
    const dnsKey = JSON.stringify([record.service, foldAscii(record.spec.id)]);
    const previous = seen.get(dnsKey);
    if (previous !== undefined) {
      throw new InvalidArgumentError(`${origin}: records[${i}] (${describeKey(record.service, record.spec.id)}) has the same DNS name as ${previous}`, 'snapshot');
    }
    seen.set(dnsKey, `records[${i}] (${describeKey(record.service, record.spec.id)})`);
    return record;
  });
  return { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, index, records: validated };
}

/**
 * Make the registry hold exactly the snapshot's instances, durably (instances not in it are removed).
 * Every restored instance gets a fresh heartbeat grace period. A bad file changes nothing.
 */
export async function restoreSnapshot(durable: DurableRegistry, file: string): Promise<RestoreResult> {
  return restoreDocument(durable, await readSnapshot(file));
}

/** Restore an already parsed snapshot document (e.g. one received by the control API). */
export async function restoreDocument(durable: DurableRegistry, document: SnapshotDocument): Promise<RestoreResult> {
  const changed = await durable.replaceAll(document.records);
  return { records: document.records.length, changed, snapshotIndex: document.index };
}

function validateRecord(raw: unknown, where: string): InstanceRecord {
  let record: InstanceRecord;
  try {
    record = decodeRecord(raw);
  } catch (error) {
    if (error instanceof RecordShapeError) throw new InvalidArgumentError(`${where}: ${error.message}`, 'snapshot');
    throw error;
  }
  const key = describeKey(record.service, record.spec.id);
  try {
    const service = validateServiceName(record.service);
    if (service !== record.service) throw new InvalidArgumentError(`service name must be lower case (${JSON.stringify(service)})`, 'service');
    validateHealth(record.health);
    // The registry's own rules for specs; its normalised spec is what we restore.
    const spec = validateInstance({ ...record.spec, tags: [...record.spec.tags], metadata: { ...record.spec.metadata } });
    return { ...record, spec };
  } catch (error) {
    if (isBeaconError(error)) throw new InvalidArgumentError(`${where} (${key}): ${error.message}`, 'snapshot');
    throw error;
  }
}

/** fsync a directory so a rename in it is durable (best effort: not every platform allows it). */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Directories cannot be fsynced everywhere (e.g. Windows); the file itself already is.
  }
}
