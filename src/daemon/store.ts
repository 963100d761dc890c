/** Opens the store the configuration names: SQLite in the data directory (default), memory, or etcd. */
import type { BeaconConfig } from '../config.js';
import type { Logger } from '../log.js';
import { EtcdStore } from '../store/etcd.js';
import { MemoryStore } from '../store/memory.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';

/** Open the configured store. Rejects with StoreCorruptError / StoreUnavailableError when it cannot be used. */
export async function openStore(config: BeaconConfig, logger: Logger): Promise<Store> {
  switch (config.store) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return SqliteStore.openInDirectory(config.dataDir);
    case 'etcd':
      return new EtcdStore({
        endpoints: config.etcdEndpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`)),
        defaultTtlMs: config.defaultTtlMs,
        logger,
      });
  }
}
