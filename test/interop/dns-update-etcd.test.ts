/**
 * DNS UPDATE on two daemons sharing one etcd cluster: an instance registered with `nsupdate` through node A
 * is answered by node B's DNS, and deleted through A it leaves B's answers; so is dynamic zone data (a host's
 * A record), and both nodes' SOA serials grow with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until, type Daemon } from '../e2e/daemon.js';
import { digShort as dig, digSoaSerial, runClient } from './support/dns-tools.js';
import { serialGreater } from '../../src/dns/zone-serial.js';
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

  it('zone data added through node A (a host A record, a TXT) is answered by node B; deleted through B, it leaves A; serials grow on both', async () => {
    const serials = [await digSoaSerial(a.dnsPort), await digSoaSerial(b.dnsPort)];
    const added = await nsupdate(a.dnsPort, ['update add gateway.local. 60 A 10.0.0.77', 'update add gateway.local. 60 TXT "role=edge"']);
    expect(added, added.out).toMatchObject({ code: 0 });
    await until(() => dig(b.dnsPort, 'gateway.local.', 'A'), (lines) => lines.length === 1, 10_000, 100);
    expect(await dig(b.dnsPort, 'gateway.local.', 'TXT')).toEqual(['"role=edge"']);
    expect(serialGreater(await digSoaSerial(a.dnsPort), serials[0]!)).toBe(true);
    expect(serialGreater(await digSoaSerial(b.dnsPort), serials[1]!)).toBe(true);
    const deleted = await nsupdate(b.dnsPort, ['update delete gateway.local.']);
    expect(deleted, deleted.out).toMatchObject({ code: 0 });
    await until(() => dig(a.dnsPort, 'gateway.local.', 'A'), (lines) => lines.length === 0, 10_000, 100);
    expect(await dig(a.dnsPort, 'gateway.local.', 'TXT')).toEqual([]);
  });
});
