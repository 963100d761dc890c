/**
 * The SQLite store on a thread of its own: the daemon's default store.
 *
 * SqliteStore runs SQLite synchronously on the thread that calls it (better-sqlite3 has no other mode).
 * A commit is cheap, but a WAL checkpoint is not: every 1,000 pages of WAL (about 700 registrations), the
 * commit that crosses that line copies them into the database file and syncs it before it returns, 7-12 ms
 * on an idle machine and more under load, and the daemon's event loop, which answers DNS, waited for it.
 * Here the connection lives on a worker thread (sqlite-thread-worker.ts): the event loop posts each call
 * and awaits its answer, so commits, checkpoints and syncs never hold it. Writes stay ordered (the thread
 * runs calls in the order posted) and a write still resolves only once it is durable, as with SqliteStore.
 * The cost is one message each way per call (a group commit, not a registration) and a structured clone
 * of the records written (loading sends their text, decoded here).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StoreCorruptError, StoreUnavailableError } from '../errors.js';
import { SQLITE_FILE_NAME, SqliteStore, decodeRecordTexts, makePrivateDirectory, type SqliteStoreOptions, type StoredTexts } from './sqlite.js';
import type { SqliteOpened, SqliteReply, SqliteRequest, SqliteThreadData, SqliteThreadError } from './sqlite-thread-protocol.js';
import type { LocalStore, StoreSnapshot, StoreWrite } from './store.js';
import type { LocalZoneStore, ZoneRecordSet } from './zone-data.js';

/** A request before its id is given. */
type Call = SqliteRequest extends infer R ? (R extends SqliteRequest ? Omit<R, 'id'> : never) : never;

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The thread's module: next to this one once compiled, or in dist/ of the checkout when the sources run
 * (the unit tests), which `npm run build` makes.
 */
function workerModule(): URL {
  const candidates = ['./sqlite-thread-worker.js', '../../dist/store/sqlite-thread-worker.js'].map((relative) => new URL(relative, import.meta.url));
  return candidates.find((url) => existsSync(fileURLToPath(url))) ?? candidates[0]!;
}

/** Rebuild an error the thread sent with the class the store contract promises. */
function errorOf(error: SqliteThreadError): Error {
  if (error.kind === 'corrupt') return new StoreCorruptError(error.message);
  return new StoreUnavailableError(error.message);
}

/** The SQLite store (SqliteStore's behaviour and files) with its connection on a worker thread. */
export class ThreadedSqliteStore implements LocalStore, LocalZoneStore {
  /** Backend name. */
  readonly kind = 'sqlite';
  /** Only this process writes it (the file is locked exclusively). */
  readonly shared = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Why calls fail from now on: closed, or the thread stopped. */
  private ended: StoreUnavailableError | undefined;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;
  /** What `open` read before the thread started, until the first `load()` or write. */
  private initial: Promise<StoreSnapshot> | undefined;
  private readonly stopListeners: ((reason: string) => void)[] = [];

  private constructor(
    /** Path of the database file. */
    readonly file: string,
    private readonly worker: Worker,
    /** The change index the file held when the thread opened it (undefined: it could not be read). */
    private readonly openedAtIndex: number | undefined,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: SqliteReply) => this.settle(reply));
    worker.on('error', (error) => this.stop(`the SQLite thread failed: ${error.message}`));
    worker.on('exit', (code) => this.stop(`the SQLite thread exited (code ${code})`));
    // Idle, the thread must not keep the process alive; a call in flight refs it (see `call`). Last: adding
    // the first 'message' listener refs the worker's port again.
    worker.unref();
  }

  /** Call `listener` with the reason if the thread stops while the store is open (it never restarts). */
  onUnexpectedStop(listener: (reason: string) => void): void {
    this.stopListeners.push(listener);
  }

  /**
   * Open (creating if absent) the database `file`; rejects like SqliteStore.open. It opens, validates and
   * reads the file on the calling thread first (a start-up, when nothing is served yet), keeps what it read
   * for the first `load()`, closes it, and only then starts the thread, which opens the file again without
   * validating it twice. Loaded through the thread, 100,000 records crossed as text and took a restart from
   * 2.2 to 3.1 s and 70 MiB more.
   */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<ThreadedSqliteStore> {
    const local = await SqliteStore.open(file, options);
    // Settled now, handed out by the first `load()` (an error too: a bad row fails `load`, not `open`).
    const initial = local.load();
    initial.catch(() => undefined);
    await local.close();
    const store = await ThreadedSqliteStore.start({ file, options });
    // The file was unlocked between the two opens: if another process wrote it meanwhile (its index moved),
    // what was read is stale and the first `load()` reads through the thread like any other.
    const read = await initial.then((snapshot) => snapshot.index, () => undefined);
    if (read === undefined || read === store.openedAtIndex) store.initial = initial;
    return store;
  }

  /** Open `beacon.db` in `dataDir`, creating the directory if needed (as SqliteStore does). */
  static openInDirectory(dataDir: string, options: SqliteStoreOptions = {}): Promise<ThreadedSqliteStore> {
    makePrivateDirectory(dataDir);
    return ThreadedSqliteStore.open(join(dataDir, SQLITE_FILE_NAME), options);
  }

  private static start(data: SqliteThreadData): Promise<ThreadedSqliteStore> {
    // No node flags of the process: the thread runs one compiled module, and some flags a process may carry
    // (`--input-type` with `-e`, loaders) would stop it from starting. V8 flags are process-wide anyway.
    const worker = new Worker(workerModule(), { workerData: data, execArgv: [] });
    return new Promise((resolve, reject) => {
      // Only these listeners come off again: the Worker keeps listeners of its own on itself.
      const detach = (): void => {
        worker.off('error', failed);
        worker.off('exit', exited);
        worker.off('message', opened);
      };
      const failed = (error: Error): void => {
        detach();
        void worker.terminate();
        reject(error instanceof StoreCorruptError || error instanceof StoreUnavailableError ? error : new StoreUnavailableError(`cannot start the SQLite thread: ${error.message}`, { cause: error }));
      };
      const exited = (code: number): void => failed(new Error(`it exited (code ${code}) before opening the database`));
      const opened = (first: SqliteOpened): void => {
        detach();
        if (first.opened) resolve(new ThreadedSqliteStore(first.file, worker, first.index));
        else failed(errorOf(first.error));
      };
      worker.on('error', failed);
      worker.on('exit', exited);
      worker.on('message', opened);
    });
  }

  /** Read every record and the index. Rejects with StoreCorruptError when the data cannot be trusted. */
  async load(): Promise<StoreSnapshot> {
    const initial = this.initial;
    if (initial !== undefined) {
      this.initial = undefined;
      if (this.ended === undefined) return initial;
    }
    const { index, texts } = (await this.call({ op: 'loadTexts' })) as StoredTexts;
    const records = decodeRecordTexts(texts);
    if (records === undefined) {
      await this.call({ op: 'badRow' });
      throw new StoreCorruptError(`SQLite database ${this.file} cannot be used: a row does not hold an instance record`);
    }
    return { index, records };
  }

  /** Make one write durable (one transaction: the record and the index). */
  async write(change: StoreWrite): Promise<void> {
    this.initial = undefined;
    await this.call({ op: 'write', change });
  }

  /** Make several writes durable in one transaction: all of them or none. */
  async writeBatch(changes: readonly StoreWrite[]): Promise<void> {
    this.initial = undefined;
    await this.call({ op: 'writeBatch', changes });
  }

  /** Every RRset of zone data; StoreCorruptError naming the row when one does not decode. */
  loadZone(): Promise<readonly ZoneRecordSet[]> {
    return this.call({ op: 'loadZone' }) as Promise<readonly ZoneRecordSet[]>;
  }

  /** Replace RRsets (no RDATA: delete) in one transaction, made durable like `write`. */
  async writeZone(sets: readonly ZoneRecordSet[]): Promise<void> {
    await this.call({ op: 'writeZone', sets });
  }

  /** Close the connection (after the calls already made) and end the thread. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    // Held until the thread has exited: a process whose last work is this close must see it through.
    this.worker.ref();
    if (this.ended === undefined) {
      const closed = this.call({ op: 'close' });
      this.ended = new StoreUnavailableError(`SQLite database ${this.file} is closed`);
      const failure = await closed.then(() => undefined, (error: unknown) => error);
      // The thread ends itself after answering; one whose close failed is ended from here.
      if (failure !== undefined) await this.worker.terminate();
    }
    await this.exited;
  }

  private call(call: Call): Promise<unknown> {
    if (this.ended !== undefined) return Promise.reject(this.ended);
    const id = this.nextId++;
    try {
      this.worker.postMessage({ ...call, id } as SqliteRequest);
    } catch (error) {
      return Promise.reject(new StoreUnavailableError(`cannot send a call to the SQLite thread: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
    });
  }

  private settle(reply: SqliteReply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && this.closing === undefined) this.worker.unref();
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(errorOf(reply.error));
  }

  /** The thread is gone: every call still waiting, and every later one, fails. */
  private stop(reason: string): void {
    if (this.ended === undefined) for (const listener of this.stopListeners) listener(reason);
    this.ended ??= new StoreUnavailableError(`SQLite database ${this.file} is unavailable: ${reason}`);
    for (const pending of this.pending.values()) pending.reject(new StoreUnavailableError(`SQLite database ${this.file} is unavailable: ${reason}`));
    this.pending.clear();
  }
}
