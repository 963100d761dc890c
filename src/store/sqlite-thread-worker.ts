/**
 * The thread of a ThreadedSqliteStore (sqlite-thread.ts): it opens the SQLite store and runs every call it is
 * sent, in the order sent, so transactions commit in the order the write path issued them. Each call starts
 * as its message arrives (a write commits at once and then waits for its fdatasync, as SqliteStore does in
 * one thread), so the flushes of consecutive group commits overlap as before.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StoreCorruptError, StoreUnavailableError } from '../errors.js';
import { SqliteStore } from './sqlite.js';
import type { SqliteOpened, SqliteReply, SqliteRequest, SqliteThreadData, SqliteThreadError } from './sqlite-thread-protocol.js';

/** An error as it crosses to the store's side (sqlite-thread.ts rebuilds the error class). */
function describe(error: unknown): SqliteThreadError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof StoreCorruptError) return { kind: 'corrupt', message };
  if (error instanceof StoreUnavailableError) return { kind: 'unavailable', message };
  return { kind: 'other', message };
}

/** Start one call on the store; its value (a snapshot, zone RRsets, or nothing) goes back as is. */
function run(store: SqliteStore, request: SqliteRequest): Promise<unknown> {
  switch (request.op) {
    case 'loadTexts':
      return Promise.resolve(store.loadTexts());
    case 'badRow':
      return Promise.reject(store.badRow());
    case 'loadZone':
      return store.loadZone();
    case 'write':
      return store.write(request.change);
    case 'writeBatch':
      return store.writeBatch(request.changes);
    case 'writeZone':
      return store.writeZone(request.sets);
    case 'close':
      return store.close();
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('sqlite-thread-worker runs as a worker thread only');
  const data = workerData as SqliteThreadData;
  let store: SqliteStore;
  try {
    store = await SqliteStore.openValidated(data.file, data.options);
  } catch (error) {
    port.postMessage({ opened: false, error: describe(error) } satisfies SqliteOpened);
    return;
  }
  port.on('message', (request: SqliteRequest) => {
    run(store, request).then(
      (value) => {
        port.postMessage({ id: request.id, ok: true, value } as SqliteReply);
        // The last call: nothing may keep the thread alive once the connection is closed.
        if (request.op === 'close') port.close();
      },
      (error: unknown) => port.postMessage({ id: request.id, ok: false, error: describe(error) } satisfies SqliteReply),
    );
  });
  port.postMessage({ opened: true, file: store.file } satisfies SqliteOpened);
}

void main();
