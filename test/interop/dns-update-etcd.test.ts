/**
 * DNS UPDATE on two daemons sharing one etcd cluster: an instance registered with `nsupdate` through node A
 * is answered by node B's DNS, and deleted through A it leaves B's answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until, type Daemon } from '../e2e/daemon.js';
import { digShort as dig, runClient } from './support/dns-tools.js';
import { EtcdCluster } from './support/etcd.js';

const SECRET = Buffer.from('etcd interop secret for updates').toString('base64');
const KEY = `upd-key:hmac-sha256:${SECRET}`;

function nsupdate(port: number, lines: string[]): Promise<{ code: number | null; out: string }> {
  return runClient('nsupdate', [], [`server 127.0.0.1 ${port}`, 'zone local.', `key hmac-sha256:upd-key ${SECRET}`, ...lines, 'send', ''].join('\n'));
}

describe('DNS UPDATE across two etcd nodes', () => {
  let cluster: EtcdCluster;
  let a: Daemon;
  let b: Daemon;
  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
    const flags = ['--store', 'etcd', '--etcd-endpoints', cluster.members.map((m) => `127.0.0.1:${m.clientPort}`).join(','), '--tsig-key', KEY];
    a = await startDaemon(flags);
    b = await startDaemon(flags);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await cluster?.destroy();
  });

  it('an update through node A is answered by node B, and so is its deletion', async () => {
    const instance = 'shared1._http._tcp.local.';
    const added = await nsupdate(a.dnsPort, [
      `update add _http._tcp.local. 60 PTR ${instance}`,
      `update add ${instance} 60 SRV 0 1 8443 10-0-0-4.addr.local.`,
      `update add ${instance} 60 TXT "zone=b"`,
    ]);
    expect(added, added.out).toMatchObject({ code: 0 });
    await until(() => dig(b.dnsPort, instance, 'SRV'), (lines) => lines.length === 1, 10_000, 100);
    expect(await dig(b.dnsPort, instance, 'SRV')).toEqual(['0 1 8443 10-0-0-4.addr.local.']);
    expect(await dig(b.dnsPort, instance, 'TXT')).toEqual(['"zone=b"']);
    const deleted = await nsupdate(a.dnsPort, [`update delete ${instance}`]);
    expect(deleted, deleted.out).toMatchObject({ code: 0 });
    await until(() => dig(b.dnsPort, instance, 'SRV'), (lines) => lines.length === 0, 10_000, 100);
  });
});
