import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
import { defineLocalStoreContract, defineZoneDataContract } from './contract.js';

const sqliteHarness = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-sqlite-contract-'));
  const file = join(dir, 'beacon.db');
  return {
    store: await SqliteStore.open(file),
    reopen: () => SqliteStore.open(file),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
};
defineLocalStoreContract('sqlite', sqliteHarness);
defineZoneDataContract('sqlite', 'local', sqliteHarness);
