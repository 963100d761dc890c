/**
 * Messages between ThreadedSqliteStore (sqlite-thread.ts) and the thread that holds the SQLite connection
 * (sqlite-thread-worker.ts). Structured clone carries them, so they are plain data.
 */
import type { SqliteStoreOptions, StoredTexts } from './sqlite.js';
import type { StoreWrite } from './store.js';
import type { ZoneRecordSet } from './zone-data.js';

/** What the thread opens, given as its workerData: a file this process validated and closed just before. */
export interface SqliteThreadData {
  readonly file: string;
  readonly options: SqliteStoreOptions;
}

/**
 * A call into the thread, answered by one SqliteReply with the same id. Loading comes back as text
 * (`loadTexts`): decoded there, the records would cross as a structured clone of 100,000 objects and stay
 * in the thread's heap as garbage until it next collects (a restart took a second longer and 100 MiB more).
 * `badRow` answers with the StoreCorruptError naming the row that did not decode.
 */
export type SqliteRequest =
  | { readonly id: number; readonly op: 'loadTexts' | 'badRow' | 'loadZone' | 'close' }
  | { readonly id: number; readonly op: 'write'; readonly change: StoreWrite }
  | { readonly id: number; readonly op: 'writeBatch'; readonly changes: readonly StoreWrite[] }
  | { readonly id: number; readonly op: 'writeZone'; readonly sets: readonly ZoneRecordSet[] };

/** How an error crosses the thread boundary: the store's two error classes by kind, anything else by message. */
export interface SqliteThreadError {
  readonly kind: 'corrupt' | 'unavailable' | 'other';
  readonly message: string;
}

/** The thread's answer to one request. */
export type SqliteReply =
  | { readonly id: number; readonly ok: true; readonly value?: StoredTexts | readonly ZoneRecordSet[] }
  | { readonly id: number; readonly ok: false; readonly error: SqliteThreadError };

/** The thread's first message: the database is open (its path and the change index it holds), or it could not be. */
export type SqliteOpened =
  | { readonly opened: true; readonly file: string; readonly index: number | undefined }
  | { readonly opened: false; readonly error: SqliteThreadError };
