// The SharedStore contract (test/store/contract.ts), run against EtcdStore on a real etcd member.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { Etcd3 } from 'etcd3';
import { EtcdStore } from '../../src/store/etcd.js';
import { defineSharedStoreContract, defineZoneDataContract } from '../store/contract.js';
import { EtcdCluster } from './support/etcd.js';

let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await EtcdCluster.start(1);
});

afterAll(async () => {
  await cluster?.destroy();
});

const etcdHarness = async () => {
  // Every test gets its own root, so tests share one member without seeing each other's keys.
  const root = `/beacon-contract/${randomUUID()}/`;
  const open = async (): Promise<EtcdStore> => new EtcdStore({ endpoints: cluster.endpoints, root });
  return {
    store: await open(),
    reopen: open,
    cleanup: async () => {
      const client = new Etcd3({ hosts: cluster.endpoints });
      try {
        await client.delete().prefix(root);
      } finally {
        client.close();
      }
    },
  };
};
defineSharedStoreContract('etcd', etcdHarness);
defineZoneDataContract('etcd', 'shared', etcdHarness);
