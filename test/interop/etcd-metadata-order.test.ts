/**
 * Metadata order through etcd with the real CLI: daemon A (`--store etcd`) registers
 * `--meta txtvers=1 --meta path=/x --meta a=b`; the value in etcd keeps that key order, and daemon B on the
 * same etcd, and A after a restart, publish the TXT strings in that order (RFC 6763 §6.7: txtvers first).
 */
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { startDaemon, type Daemon } from '../e2e/daemon.js';
import { EtcdCluster, eventually } from './support/etcd.js';

async function txt(port: number, name: string): Promise<string[][]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver.resolveTxt(name);
}

let cluster: EtcdCluster;
let flags: string[];
const daemons: Daemon[] = [];
beforeAll(async () => {
  cluster = await EtcdCluster.start(1);
  flags = ['--store', 'etcd', '--etcd-endpoints', cluster.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',')];
});
afterAll(async () => {
  for (const d of daemons) await d.stop();
  await cluster?.destroy();
});

describe('metadata order through etcd', () => {
  it('--meta txtvers=1 --meta path=/x --meta a=b: that order in etcd, in another node\'s DNS, and after a restart', async () => {
    const a = await startDaemon(flags);
    daemons.push(a);
    const b = await startDaemon(flags);
    daemons.push(b);
    await a.ok('register', 'ordered', 'o1', '--port', '7001', '--ttl', '10m', '--meta', 'txtvers=1', '--meta', 'path=/x', '--meta', 'a=b');
    const expected = [['txtvers=1', 'path=/x', 'a=b']];
    expect(await txt(a.dnsPort, 'o1._ordered._tcp.local')).toEqual(expected);
    await eventually(async () => expect(await txt(b.dnsPort, 'o1._ordered._tcp.local')).toEqual(expected), 10_000, 'node B publishes o1');

    const client = new Etcd3({ hosts: cluster.members.map((m) => m.clientUrl) });
    try {
      const values = Object.values(await client.getAll().prefix('/').strings()).filter((v) => v.includes('"ordered"'));
      expect(values).toHaveLength(1);
      const stored = JSON.parse(values[0]!) as { spec: { metadata: Record<string, string> } };
      expect(Object.entries(stored.spec.metadata)).toEqual([['txtvers', '1'], ['path', '/x'], ['a', 'b']]);
    } finally {
      client.close();
    }

    expect(await a.stop()).toBe(0);
    daemons.splice(daemons.indexOf(a), 1);
    const again = await startDaemon(flags);
    daemons.push(again);
    expect(await txt(again.dnsPort, 'o1._ordered._tcp.local')).toEqual(expected);
  });
});
