import type Database from 'better-sqlite3';

/**
 * The SQLite schema, its migrations and the checks that tell a Beacon database from anything else.
 * The schema version lives in `PRAGMA user_version` (0 = a new, empty database). Migration N takes a
 * database from version N-1 to N; they run in order, each in its own transaction with the version bump.
 *
 * Layout (version 1): one row per instance, the record as JSON text. Plain columns would buy nothing:
 * the registry needs whole records, tags and metadata would still be JSON, and one JSON.parse per row
 * is the fastest way back to objects (see scripts/bench-restart.mjs). The change index is a row in `meta`.
 * Version 2 adds `zone_rrsets`: dynamic zone data (store/zone-data.ts), one row per (owner, type).
 */

/** One schema step. */
export interface Migration {
  /** The version this migration produces. */
  readonly version: number;
  /** What it does, for logs. */
  readonly description: string;
  /** The DDL/DML to run. */
  readonly sql: string;
}

/** All migrations, in order; `MIGRATIONS[i].version === i + 1`. Append only, never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'instances table (one JSON record per service/id) and meta table (change index)',
    sql: `
      CREATE TABLE instances (
        service TEXT NOT NULL,
        id      TEXT NOT NULL,
        record  TEXT NOT NULL,
        PRIMARY KEY (service, id)
      );
      CREATE TABLE meta (
        key   TEXT NOT NULL PRIMARY KEY,
        value INTEGER NOT NULL
      );
      INSERT INTO meta (key, value) VALUES ('index', 0);
    `,
  },
  {
    version: 2,
    description: 'zone_rrsets table (dynamic zone data: one row per owner/type, TTL and RDATA as JSON)',
    sql: `
      CREATE TABLE zone_rrsets (
        owner TEXT NOT NULL,
        type  INTEGER NOT NULL,
        rrset TEXT NOT NULL,
        PRIMARY KEY (owner, type)
      );
    `,
  },
];

/** The schema version this build writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

interface ColumnShape {
  readonly name: string;
  readonly type: string;
  readonly notnull: number;
  readonly pk: number;
}

/** The exact table shapes of SCHEMA_VERSION (what `PRAGMA table_info` reports). */
const EXPECTED_TABLES: Readonly<Record<string, readonly ColumnShape[]>> = {
  instances: [
    { name: 'service', type: 'TEXT', notnull: 1, pk: 1 },
    { name: 'id', type: 'TEXT', notnull: 1, pk: 2 },
    { name: 'record', type: 'TEXT', notnull: 1, pk: 0 },
  ],
  meta: [
    { name: 'key', type: 'TEXT', notnull: 1, pk: 1 },
    { name: 'value', type: 'INTEGER', notnull: 1, pk: 0 },
  ],
  zone_rrsets: [
    { name: 'owner', type: 'TEXT', notnull: 1, pk: 1 },
    { name: 'type', type: 'INTEGER', notnull: 1, pk: 2 },
    { name: 'rrset', type: 'TEXT', notnull: 1, pk: 0 },
  ],
};

/** Read the schema version. */
export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Names of the user tables (not SQLite's internal ones). */
export function userTables(db: Database.Database): string[] {
  const rows = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as { name: string }[];
  return rows.map((row) => row.name);
}

/**
 * Why this database is not a Beacon database we can use, or undefined if it is. Checks integrity
 * (`quick_check`), the version (0 = empty and table-less, 1..SCHEMA_VERSION known) and, at the current
 * version, the exact table shapes and the index row. Read-only: safe on a connection to a copy.
 */
export function schemaProblem(db: Database.Database): string | undefined {
  const check = db.pragma('quick_check') as { quick_check: string }[];
  const messages = check.map((row) => row.quick_check);
  if (messages.length !== 1 || messages[0] !== 'ok') return `integrity check failed: ${messages.slice(0, 3).join('; ')}`;

  const version = schemaVersion(db);
  const tables = userTables(db);
  if (version === 0) {
    return tables.length === 0 ? undefined : `schema version 0 but it holds tables (${tables.join(', ')}): not a Beacon database`;
  }
  if (version < 0 || version > SCHEMA_VERSION) {
    return `unknown schema version ${version} (this Beacon knows versions up to ${SCHEMA_VERSION}; was it written by a newer release?)`;
  }
  // Older known versions are checked again after migrating (in the migration's transaction).
  if (version < SCHEMA_VERSION) return undefined;
  return shapeProblem(db, tables);
}

/** Exact table-shape check at SCHEMA_VERSION, or undefined when everything matches. */
export function shapeProblem(db: Database.Database, tables = userTables(db)): string | undefined {
  const expectedNames = Object.keys(EXPECTED_TABLES).sort();
  // Shapes of the tables present first: a wrong column says more than a list of table names.
  for (const [table, expected] of Object.entries(EXPECTED_TABLES)) {
    if (!tables.includes(table)) continue;
    const columns = (db.pragma(`table_info(${table})`) as ColumnShape[]).map(({ name, type, notnull, pk }) => ({ name, type: type.toUpperCase(), notnull, pk }));
    if (JSON.stringify(columns) !== JSON.stringify(expected)) {
      return `table ${table} has columns ${JSON.stringify(columns)}, expected ${JSON.stringify(expected)}`;
    }
  }
  if (tables.join(',') !== expectedNames.join(',')) {
    return `unexpected tables: found [${tables.join(', ')}], expected [${expectedNames.join(', ')}]`;
  }
  const index = db.prepare("SELECT value FROM meta WHERE key = 'index'").get() as { value: unknown } | undefined;
  if (index === undefined) return 'meta table has no index row';
  if (typeof index.value !== 'number' || !Number.isSafeInteger(index.value) || index.value < 0) {
    return `meta index is ${JSON.stringify(index.value)}, expected a non-negative integer`;
  }
  return undefined;
}

/**
 * Bring a validated database from its version to SCHEMA_VERSION. Each step runs with its version bump
 * in one transaction; the final shape is checked before the last commit, so a migration that produced
 * the wrong tables rolls back instead of leaving a half-migrated file. Returns the versions applied.
 */
export function migrate(db: Database.Database): number[] {
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    if (migration.version <= schemaVersion(db)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
      if (migration.version === SCHEMA_VERSION) {
        const problem = shapeProblem(db);
        if (problem !== undefined) throw new Error(`migration to version ${migration.version} produced a wrong schema: ${problem}`);
      }
    })();
    applied.push(migration.version);
  }
  return applied;
}
