import { chmodSync, copyFileSync, existsSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from './sqlite-driver.js';
import { StoreCorruptError, StoreUnavailableError } from '../errors.js';
import type { InstanceRecord } from '../registry/types.js';
import { decodeRecord, decodeStoredRecord, describeKey, encodeRecord } from './record-codec.js';
import { migrate, schemaProblem } from './sqlite-schema.js';
import type { LocalStore, StoreSnapshot, StoreWrite } from './store.js';
import { decodeZoneValue, encodeZoneValue, type LocalZoneStore, type ZoneRecordSet } from './zone-data.js';

/** The database file's name inside the data directory. */
export const SQLITE_FILE_NAME = 'beacon.db';

/** How a SQLite database file starts (https://www.sqlite.org/fileformat.html §1.3). */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const SQLITE_HEADER_BYTES = 100;
/** Largest WAL kept on disk after a checkpoint. */
const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

/** Options of the SQLite backend. */
export interface SqliteStoreOptions {
  /**
   * Durability of a write. Default `full`: a write resolves only once its transaction is on disk (it survives
   * a power loss). `normal` resolves once SQLite committed (WAL in the OS page cache: survives a SIGKILL,
   * not a power loss or kernel crash); it exists for bulk loading and benchmarks.
   *
   * Both run SQLite with `synchronous=NORMAL`, so a commit never waits for the disk on the event loop (an
   * fsync there stalls DNS for milliseconds, tens under load). `full` then makes the commit durable itself:
   * one `fdatasync` of the WAL file before the write resolves, on libuv's thread pool (or on the store's own
   * thread: ThreadedSqliteStore, whose thread also runs the checkpoints, see sqlite-thread.ts). Everything up to the
   * commit frame is in that file, and in WAL mode SQLite itself syncs the WAL before each checkpoint and
   * its header when the WAL is reused (https://www.sqlite.org/pragma.html#pragma_synchronous), so an
   * acknowledged write is as durable as with `synchronous=FULL`.
   */
  readonly synchronous?: 'full' | 'normal';
  /** How long to wait for another process's lock before giving up (ms). Default 1000. */
  readonly lockTimeoutMs?: number;
}

type Row = [service: string, id: string, record: string];

/** The stored state undecoded: the index and each record's JSON text. */
export interface StoredTexts {
  readonly index: number;
  readonly texts: readonly string[];
}

/**
 * Decode stored record texts; undefined when one does not hold a record (the caller then names the row,
 * SqliteStore.badRow). Loading reads one column: fetching service and id too costs about as much as
 * parsing (measured, 100,000 rows); they are only read back to name the bad row.
 */
export function decodeRecordTexts(texts: readonly string[]): InstanceRecord[] | undefined {
  const records: InstanceRecord[] = new Array<InstanceRecord>(texts.length);
  try {
    for (let i = 0; i < texts.length; i++) records[i] = decodeRecord(JSON.parse(texts[i]!));
  } catch {
    return undefined;
  }
  return records;
}

/**
 * The embedded default store: one SQLite file (WAL journal) in the data directory.
 *
 * Opening never harms a file it cannot trust: an existing file is validated on a private copy first
 * (header, `quick_check`, schema version, table shapes), and only a file that passes is opened for
 * writing, switched to WAL and migrated. Anything else is a StoreCorruptError naming the file, which is
 * left byte-for-byte untouched. The connection holds an exclusive lock, so a second Beacon on the same
 * data directory fails with StoreUnavailableError instead of silently diverging.
 */
export class SqliteStore implements LocalStore, LocalZoneStore {
  /** Backend name. */
  readonly kind = 'sqlite';
  /** Only this process writes it (the file is locked exclusively). */
  readonly shared = false;
  private readonly upsert: Database.Statement<[string, string, string]>;
  private readonly remove: Database.Statement<[string, string]>;
  private readonly setIndex: Database.Statement<[number]>;
  private readonly selectRecords: Database.Statement<[], string>;
  private readonly selectRows: Database.Statement<[], Row>;
  private readonly selectIndex: Database.Statement<[], number>;
  private readonly applyAll: (changes: readonly StoreWrite[]) => void;
  private readonly applyZone: (sets: readonly ZoneRecordSet[]) => void;
  private readonly selectZone: Database.Statement<[], [string, number, string]>;
  /** The WAL file, opened at the first durable write, for `fdatasync` (see SqliteStoreOptions.synchronous). */
  private wal: Promise<FileHandle> | undefined;
  /** The WAL file's descriptor when the store flushes on its own thread (`flushHere`). */
  private walFd: number | undefined;

  private constructor(
    /** Path of the database file. */
    readonly file: string,
    private readonly db: Database.Database,
    private readonly durable: boolean,
    /**
     * Sync the WAL on the calling thread instead of the thread pool: for a thread that runs only the store
     * (sqlite-thread-worker.ts), where the pool's round trip costs two more thread wake-ups per write.
     */
    private readonly flushHere = false,
  ) {
    this.upsert = db.prepare('INSERT INTO instances (service, id, record) VALUES (?, ?, ?) ON CONFLICT (service, id) DO UPDATE SET record = excluded.record');
    this.remove = db.prepare('DELETE FROM instances WHERE service = ? AND id = ?');
    this.setIndex = db.prepare("UPDATE meta SET value = ? WHERE key = 'index'");
    // Loading reads one column (see decodeRecordTexts).
    this.selectRecords = db.prepare<[], string>('SELECT record FROM instances').pluck(true);
    this.selectRows = db.prepare<[], Row>('SELECT service, id, record FROM instances').raw(true);
    this.selectIndex = db.prepare<[], number>("SELECT value FROM meta WHERE key = 'index'").pluck(true);
    this.applyAll = db.transaction((changes: readonly StoreWrite[]) => {
      for (const change of changes) {
        if (change.kind === 'put') this.upsert.run(change.record.service, change.record.spec.id, encodeRecord(change.record));
        else this.remove.run(change.service, change.id);
      }
      // One transaction: only the index after its last change is ever visible, so it is written once (a group
      // commit of 50 writes is 51 statements, not 100).
      const last = changes[changes.length - 1];
      if (last !== undefined) this.setIndex.run(last.index);
    });
    const putSet = db.prepare<[string, number, string]>('INSERT INTO zone_rrsets (owner, type, rrset) VALUES (?, ?, ?) ON CONFLICT (owner, type) DO UPDATE SET rrset = excluded.rrset');
    const deleteSet = db.prepare<[string, number]>('DELETE FROM zone_rrsets WHERE owner = ? AND type = ?');
    this.applyZone = db.transaction((sets: readonly ZoneRecordSet[]) => {
      for (const set of sets) {
        if (set.rdata.length === 0) deleteSet.run(set.owner, set.type);
        else putSet.run(set.owner, set.type, encodeZoneValue(set));
      }
    });
    this.selectZone = db.prepare<[], [string, number, string]>('SELECT owner, type, rrset FROM zone_rrsets').raw(true);
  }

  /** Open (creating if absent) the database `file`. Rejects with StoreCorruptError for a file it cannot trust. */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const size = fileSize(file);
    // An absent or zero-length file is a new database (SQLite treats an empty file as an empty database).
    if (size !== undefined && size > 0) validateCopy(file, size);
    return SqliteStore.openValidated(file, options);
  }

  /**
   * Open a file this process opened with `open` (so validated) and closed a moment ago, without validating
   * it again: ThreadedSqliteStore hands the file over to its thread this way (see sqlite-thread.ts).
   */
  static async openValidated(file: string, options: SqliteStoreOptions = {}, flushHere = false): Promise<SqliteStore> {
    let db: Database.Database | undefined;
    try {
      // SQLite gives the WAL and SHM files the database file's mode, so a private database file (made
      // before SQLite opens it) keeps them private too, whatever the umask.
      makePrivateFile(file);
      db = new Database(file, { timeout: options.lockTimeoutMs ?? 1000 });
      // Exclusive before WAL: no shared-memory index, and one process per database (see class comment).
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true }) as string;
      if (mode !== 'wal') throw new Error(`could not switch to WAL journal (got ${mode})`);
      // NORMAL in both modes: `full` syncs the WAL off the event loop after each commit (see the option).
      db.pragma('synchronous = NORMAL');
      // A checkpointed WAL is reused, not shrunk: after a burst (a restore of 100,000 instances) cut it back.
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      migrate(db);
      // Files left by an older Beacon (or created under a lax umask) are made private too.
      for (const suffix of ['-wal', '-shm', '-journal']) if (existsSync(`${file}${suffix}`)) chmodSync(`${file}${suffix}`, PRIVATE_FILE_MODE);
      return new SqliteStore(file, db, options.synchronous !== 'normal', flushHere);
    } catch (error) {
      db?.close();
      throw openError(file, error);
    }
  }

  /** Open `beacon.db` in `dataDir`, creating the directory if needed (mode 0700, see makePrivateDirectory). */
  static async openInDirectory(dataDir: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    makePrivateDirectory(dataDir);
    return SqliteStore.open(join(dataDir, SQLITE_FILE_NAME), options);
  }

  /** Read every record and the index (one prepared statement, one JSON.parse per row). */
  async load(): Promise<StoreSnapshot> {
    const { index, texts } = this.loadTexts();
    const records = decodeRecordTexts(texts);
    if (records === undefined) throw this.badRow();
    return { index, records };
  }

  /**
   * The index and every stored record as text, undecoded: what `load` reads, for a caller that decodes
   * them elsewhere (ThreadedSqliteStore decodes on the event loop's thread, see sqlite-thread.ts).
   */
  loadTexts(): StoredTexts {
    return { index: this.storedIndex(), texts: this.selectRecords.all() };
  }

  /** The change index of the last write held. */
  storedIndex(): number {
    this.assertOpen();
    const index = this.selectIndex.get();
    if (typeof index !== 'number') throw this.corrupt('the meta table lost its index row');
    return index;
  }

  /**
   * The StoreCorruptError for a record text that does not decode, naming its row: the slow path, run only
   * once decoding failed, reading the rows again with their keys.
   */
  badRow(): StoreCorruptError {
    try {
      for (const row of this.selectRows.iterate()) this.decodeRow(row);
    } catch (error) {
      if (error instanceof StoreCorruptError) return error;
      throw error;
    }
    return this.corrupt('a row does not hold an instance record');
  }

  /** Make one write durable (one transaction: the record and the index). */
  async write(change: StoreWrite): Promise<void> {
    this.writeSync([change]);
    await this.flush();
  }

  /** Make several writes durable in one transaction: all of them or none (bulk loads, snapshot restore). */
  async writeBatch(changes: readonly StoreWrite[]): Promise<void> {
    this.writeSync(changes);
    await this.flush();
  }

  /** Every RRset of zone data; StoreCorruptError naming the row when one does not decode. */
  async loadZone(): Promise<readonly ZoneRecordSet[]> {
    this.assertOpen();
    return this.selectZone.all().map(([owner, type, text]) => decodeZoneValue(owner, type, text, `SQLite database ${this.file}`));
  }

  /** Replace RRsets (no RDATA: delete) in one transaction, made durable like `write`. */
  async writeZone(sets: readonly ZoneRecordSet[]): Promise<void> {
    this.assertOpen();
    try {
      this.applyZone(sets);
    } catch (error) {
      throw new StoreUnavailableError(`cannot write to SQLite database ${this.file}: ${messageOf(error)}`, { cause: error });
    }
    await this.flush();
  }

  /** Checkpoint the WAL into the database file and release it. Idempotent. */
  async close(): Promise<void> {
    const wal = this.wal;
    this.wal = undefined;
    await wal?.then((handle) => handle.close(), () => undefined);
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
    if (this.db.open) this.db.close();
  }

  /** `full` durability: put the committed WAL frames on disk, on the thread pool (the event loop stays free). */
  private async flush(): Promise<void> {
    if (!this.durable) return;
    if (this.flushHere) return this.flushOnThisThread();
    try {
      // The WAL exists from the first commit on and keeps its inode until close (journal_size_limit truncates it).
      this.wal ??= openFile(`${this.file}-wal`, 'r');
      await (await this.wal).datasync();
    } catch (error) {
      this.wal = undefined;
      throw new StoreUnavailableError(`cannot make SQLite database ${this.file} durable: ${messageOf(error)}`, { cause: error });
    }
  }

  private flushOnThisThread(): void {
    try {
      this.walFd ??= openSync(`${this.file}-wal`, 'r');
      fdatasyncSync(this.walFd);
    } catch (error) {
      if (this.walFd !== undefined) closeSync(this.walFd);
      this.walFd = undefined;
      throw new StoreUnavailableError(`cannot make SQLite database ${this.file} durable: ${messageOf(error)}`, { cause: error });
    }
  }

  private writeSync(changes: readonly StoreWrite[]): void {
    this.assertOpen();
    try {
      this.applyAll(changes);
    } catch (error) {
      throw new StoreUnavailableError(`cannot write to SQLite database ${this.file}: ${messageOf(error)}`, { cause: error });
    }
  }

  private decodeRow([service, id, text]: Row): InstanceRecord {
    try {
      return decodeStoredRecord(text, { service, id });
    } catch (error) {
      throw this.corrupt(`row ${describeKey(service, id)} does not hold its instance record (${messageOf(error)})`, error);
    }
  }

  private corrupt(problem: string, cause?: unknown): StoreCorruptError {
    return corruptError(this.file, problem, cause);
  }

  private assertOpen(): void {
    if (!this.db.open) throw new StoreUnavailableError(`SQLite database ${this.file} is closed`);
  }
}

function corruptError(file: string, problem: string, cause?: unknown): StoreCorruptError {
  return new StoreCorruptError(
    `SQLite database ${file} cannot be used: ${problem}. Beacon left the file untouched; move it away to start ` +
      'empty, or restore a snapshot (beacon snapshot restore).',
    cause === undefined ? undefined : { cause },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Classify a failure to open a file that passed validation (or a new one). */
function openError(file: string, error: unknown): Error {
  if (error instanceof StoreCorruptError || error instanceof StoreUnavailableError) return error;
  const code = sqliteCode(error) ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreUnavailableError(`SQLite database ${file} is locked by another process (is another Beacon using this data directory?)`, { cause: error });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) return corruptError(file, messageOf(error), error);
  return new StoreUnavailableError(`cannot open SQLite database ${file}: ${messageOf(error)}`, { cause: error });
}

/** Size of `file`, or undefined if it does not exist. Unreadable paths are corrupt (we refuse to guess). */
function fileSize(file: string): number | undefined {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw corruptError(file, 'it is not a regular file');
    return stat.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof StoreCorruptError) throw error;
    throw corruptError(file, `it cannot be read (${messageOf(error)})`, error);
  }
}

function readHeader(file: string): Buffer {
  const header = Buffer.alloc(SQLITE_HEADER_BYTES);
  const fd = openSync(file, 'r');
  try {
    const read = readSync(fd, header, 0, SQLITE_HEADER_BYTES, 0);
    return header.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * Validate an existing database without touching it: SQLite opens a WAL database read-only by creating
 * `-wal`/`-shm` files, and a read-write open would switch journals or migrate. So the checks run on a
 * private copy: in memory when there is no `-wal` (the common case), else on a temporary copy of the
 * database and its WAL (after a crash, the WAL holds acknowledged commits).
 */
function validateCopy(file: string, size: number): void {
  let header: Buffer;
  try {
    header = readHeader(file);
  } catch (error) {
    throw corruptError(file, `it cannot be read (${messageOf(error)})`, error);
  }
  if (header.length < SQLITE_HEADER_BYTES || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    throw corruptError(file, `it is not a SQLite database (${size} bytes, no SQLite header)`);
  }
  const walFile = `${file}-wal`;
  const problem = existsSync(walFile) && statSync(walFile).size > 0 ? problemOnDiskCopy(file, walFile) : problemInMemory(file);
  if (problem !== undefined) throw corruptError(file, problem);
}

function problemInMemory(file: string): string | undefined {
  const bytes = readFileSync(file);
  // Bytes 18-19 say "WAL mode"; an in-memory database cannot use WAL, so the copy says "rollback journal".
  bytes[18] = 1;
  bytes[19] = 1;
  return problemOf(() => new Database(bytes));
}

function problemOnDiskCopy(file: string, walFile: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-validate-'));
  try {
    const copy = join(dir, 'copy.db');
    copyFileSync(file, copy);
    copyFileSync(walFile, `${copy}-wal`);
    return problemOf(() => new Database(copy));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function problemOf(openCopy: () => Database.Database): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = openCopy();
    return schemaProblem(db);
  } catch (error) {
    return messageOf(error);
  } finally {
    db?.close();
  }
}

/** The mode of the database, WAL and SHM files: the registry is readable by its owner only. */
export const PRIVATE_FILE_MODE = 0o600;
/** The mode of the data directory. */
export const PRIVATE_DIRECTORY_MODE = 0o700;

/**
 * Create `dataDir` if needed and make it 0700. `mkdir`'s mode is filtered by the umask and ignored for a
 * directory that exists, so the mode is set with chmod afterwards in both cases.
 */
export function makePrivateDirectory(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  chmodSync(dataDir, PRIVATE_DIRECTORY_MODE);
}

/** Create `file` empty if absent (SQLite reads an empty file as a new database) and make it 0600. */
function makePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  chmodSync(file, PRIVATE_FILE_MODE);
}
