/**
 * The thread of a ThreadedSqliteStore (sqlite-thread.ts): it opens the SQLite store and runs every call it is
 * sent, one at a time in the order sent, so transactions commit in the order the write path issued them. A
 * write commits and syncs the WAL on this thread (nothing else runs here) before it is answered.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
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

/**
 * Run one call on the store; its value (stored texts, zone RRsets, or nothing) goes back as is. Async, so
 * an error thrown at once rejects this call instead of ending the thread.
 */
async function run(store: SqliteStore, request: SqliteRequest): Promise<unknown> {
  switch (request.op) {
    case 'loadTexts':
      return store.loadTexts();
    case 'badRow':
      throw store.badRow();
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

/** The change index the file holds now, or undefined if it cannot be read (load will say why). */
function indexOf(store: SqliteStore): number | undefined {
  try {
    return store.storedIndex();
  } catch {
    return undefined;
  }
}

/**
 * Lower this thread's scheduling priority (nice 10; Linux, best effort). On a machine whose cores are busy
 * (DNS load, registering clients), the thread's wake-ups otherwise take a core from the event loop that
 * answers DNS; a write waits for its fsync anyway, so this thread can better wait for a core.
 */
function yieldToEventLoop(): void {
  try {
    // On Linux /proc/thread-self names this thread's id, and setpriority on a thread id sets that thread's.
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(threadId) && threadId > 0) setPriority(threadId, 10);
  } catch {
    // Not Linux, or not allowed: the thread keeps the process's priority.
  }
}

async function main(): Promise<void> {
  yieldToEventLoop();
  const port = parentPort;
  if (port === null) throw new Error('sqlite-thread-worker runs as a worker thread only');
  const data = workerData as SqliteThreadData;
  let store: SqliteStore;
  try {
    // This thread runs only the store: the WAL is synced here, not through the thread pool.
    store = await SqliteStore.openValidated(data.file, data.options, true);
  } catch (error) {
    port.postMessage({ opened: false, error: describe(error) } satisfies SqliteOpened);
    return;
  }
  port.on('message', (request: SqliteRequest) => {
    void run(store, request)
      .then(
        (value) => port.postMessage({ id: request.id, ok: true, value } as SqliteReply),
        (error: unknown) => port.postMessage({ id: request.id, ok: false, error: describe(error) } satisfies SqliteReply),
      )
      .finally(() => {
        // The last call, done or failed: nothing may keep the thread alive after it.
        if (request.op === 'close') port.close();
      });
  });
  port.postMessage({ opened: true, file: store.file, index: indexOf(store) } satisfies SqliteOpened);
}

void main();
