/**
 * better-sqlite3, loaded on first use. Importing the library (or a client command) must not load the native
 * SQLite driver; only opening a database does. Spelled like better-sqlite3's default export, so
 * `new Database(file)`, `Database.Database` and `Database.Statement<...>` read as they do with it.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const requireFromHere = createRequire(import.meta.url);
type DatabaseConstructor = typeof BetterSqlite3;
let driver: DatabaseConstructor | undefined;

/** better-sqlite3's constructor, required (synchronously, it is CommonJS) the first time a database is opened. */
const Database = function LazyDatabase(...args: ConstructorParameters<DatabaseConstructor>): BetterSqlite3.Database {
  driver ??= requireFromHere('better-sqlite3') as DatabaseConstructor;
  return new driver(...args);
} as unknown as DatabaseConstructor;

// Types only (nothing is emitted): the names sqlite.ts and sqlite-schema.ts use, as better-sqlite3 declares them.
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace Database {
  /** An open database connection. */
  export type Database = BetterSqlite3.Database;
  /** A prepared statement with its bind parameters and row type. */
  export type Statement<BindParameters extends unknown[] = unknown[], Result = unknown> = BetterSqlite3.Statement<BindParameters, Result>;
}

export default Database;
