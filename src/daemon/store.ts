/** Opens the store the configuration names: SQLite in the data directory (default), memory, or etcd. */
import type { BeaconConfig } from '../config.js';
import type { Logger } from '../log.js';
import { MemoryStore } from '../store/memory.js';
import { ThreadedSqliteStore } from '../store/sqlite-thread.js';
import type { LocalStore, SharedStore } from '../store/store.js';
import type { LocalZoneStore, SharedZoneStore } from '../store/zone-data.js';

/** A backend as the daemon uses it: instances and dynamic zone data. */
export type DaemonStore = (LocalStore & LocalZoneStore) | (SharedStore & SharedZoneStore);

/** Open the configured store. Rejects with StoreCorruptError / StoreUnavailableError when it cannot be used. */
export async function openStore(config: BeaconConfig, logger: Logger): Promise<DaemonStore> {
  switch (config.store) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite': {
      // On a thread of its own: commits and WAL checkpoints never hold the loop that answers DNS.
      const store = await ThreadedSqliteStore.openInDirectory(config.dataDir);
      // Writes fail with STORE_UNAVAILABLE from then on (and /health says so); the log says why at once.
      store.onUnexpectedStop((reason) => logger.error({ file: store.file, reason }, 'the SQLite store stopped; writes fail until Beacon restarts'));
      return store;
    }
    case 'etcd': {
      // Loaded only here: the etcd client (gRPC) costs a daemon on SQLite or memory a quarter second at start.
      const { EtcdStore } = await import('../store/etcd.js');
      return new EtcdStore({
        endpoints: config.etcdEndpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`)),
        defaultTtlMs: config.defaultTtlMs,
        logger,
      });
    }
  }
}
