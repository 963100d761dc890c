/**
 * Registration through DNS UPDATE against the real daemon, with BIND's `nsupdate` and Knot's `knsupdate`:
 * a DNS-SD service (PTR+SRV+TXT) signed with TSIG, seen through dig and `beacon instances`; every prerequisite
 * form holding and failing; wrong secret, unknown key, skewed time and unsigned updates refused with nothing
 * changed; deletion; a 3 s lease that lapses.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, until, type Daemon } from '../e2e/daemon.js';
import { digShort as dig, digSoaSerial, runClient } from './support/dns-tools.js';
import { serialGreater } from '../../src/dns/zone-serial.js';
import { add, leaseOpt, rcodeOf, rdata, sendUdp, sign, T, tsigError, updateMessage } from '../dns/update-messages.js';

const SECRET = Buffer.from('interop secret for beacon updates').toString('base64');
const KEY = `upd-key:hmac-sha256:${SECRET}`;

/** The instance ids `beacon instances` lists for a service; none when the service does not exist. */
async function instanceIds(daemon: Daemon, service: string): Promise<string[]> {
  const result = await daemon.cli('instances', service, '--json');
  if (result.code !== 0 && result.stderr.includes('SERVICE_NOT_FOUND')) return [];
  if (result.code !== 0) throw new Error(`beacon instances failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { instances: { id: string }[] }).instances.map((i) => i.id);
}

interface Client {
  readonly name: string;
  run(port: number, lines: string[], key?: string): Promise<{ code: number | null; out: string }>;
}

const clients: Client[] = [
  {
    name: 'nsupdate',
    run: (port, lines, key = KEY) => runClient('nsupdate', [], [`server 127.0.0.1 ${port}`, 'zone local.', ...(key ? [`key ${key.split(':')[1]}:${key.split(':')[0]} ${key.split(':')[2]}`] : []), ...lines, 'send', ''].join('\n')),
  },
  {
    // -v: over TCP.
    name: 'nsupdate-tcp',
    run: (port, lines, key = KEY) => runClient('nsupdate', ['-v'], [`server 127.0.0.1 ${port}`, 'zone local.', ...(key ? [`key ${key.split(':')[1]}:${key.split(':')[0]} ${key.split(':')[2]}`] : []), ...lines, 'send', ''].join('\n')),
  },
  {
    name: 'knsupdate',
    run: (port, lines, key = KEY) => runClient('knsupdate', [], [`server 127.0.0.1 ${port}`, 'zone local.', ...(key ? [`key ${key.split(':')[1]}:${key.split(':')[0]}:${key.split(':')[2]}`] : []), ...lines, 'send', ''].join('\n')),
  },
];

describe.each(clients)('DNS UPDATE with $name', (client) => {
  let daemon: Daemon;
  const instance = `${client.name}1._http._tcp.local.`;
  const registration = [
    `update add _http._tcp.local. 60 PTR ${instance}`,
    `update add ${instance} 60 SRV 0 1 8080 10-0-0-7.addr.local.`,
    `update add ${instance} 60 TXT "path=/api" "v=2"`,
  ];
  const listed = (): Promise<string[]> => instanceIds(daemon, 'http');

  beforeAll(async () => {
    daemon = await startDaemon(['--store', 'memory', '--tsig-key', KEY]);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('adds a DNS-SD service (PTR+SRV+TXT) with TSIG; dig and `beacon instances` see it; the SOA serial grew', async () => {
    const serialBefore = await digSoaSerial(daemon.dnsPort);
    const result = await client.run(daemon.dnsPort, registration);
    expect(result, result.out).toMatchObject({ code: 0 });
    const serialAfter = await digSoaSerial(daemon.dnsPort);
    expect(serialGreater(serialAfter, serialBefore), `${serialBefore} -> ${serialAfter}`).toBe(true);
    expect(await dig(daemon.dnsPort, instance, 'SRV')).toEqual(['0 1 8080 10-0-0-7.addr.local.']);
    expect(await dig(daemon.dnsPort, instance, 'TXT')).toEqual(['"path=/api" "v=2"']);
    expect(await dig(daemon.dnsPort, '_http._tcp.local.', 'PTR')).toContain(instance);
    expect(await listed()).toContain(`${client.name}1`);
  });

  it.each([
    ['yxdomain', `prereq yxdomain ${instance}`, 'prereq yxdomain nothing.local.', 'NXDOMAIN'],
    ['nxdomain', 'prereq nxdomain nothing.local.', `prereq nxdomain ${instance}`, 'YXDOMAIN'],
    ['yxrrset', `prereq yxrrset ${instance} SRV`, `prereq yxrrset ${instance} A`, 'NXRRSET'],
    ['yxrrset with data', `prereq yxrrset ${instance} SRV 0 1 8080 10-0-0-7.addr.local.`, `prereq yxrrset ${instance} SRV 0 1 9999 10-0-0-7.addr.local.`, 'NXRRSET'],
    ['nxrrset', `prereq nxrrset ${instance} A`, `prereq nxrrset ${instance} SRV`, 'YXRRSET'],
  ])('prerequisite %s holds, then fails with %s', async (_form, holding, failing, rcode) => {
    const extra = `${client.name}-pre._http._tcp.local.`;
    const addExtra = [`update add ${extra} 60 SRV 0 1 7000 10-0-0-8.addr.local.`];
    const failed = await client.run(daemon.dnsPort, [failing, ...addExtra]);
    expect(failed.code).not.toBe(0);
    expect(failed.out).toContain(rcode);
    expect(await listed()).not.toContain(`${client.name}-pre`);
    const held = await client.run(daemon.dnsPort, [holding, ...addExtra]);
    expect(held, held.out).toMatchObject({ code: 0 });
    expect(await listed()).toContain(`${client.name}-pre`);
    expect((await client.run(daemon.dnsPort, [`update delete ${extra} SRV`])).code).toBe(0);
  });

  it('wrong secret and unknown key are refused, nothing changes', async () => {
    const before = await listed();
    const wrong = await client.run(daemon.dnsPort, [`update add ${client.name}-bad._http._tcp.local. 60 SRV 0 1 1 10-0-0-9.addr.local.`], `upd-key:hmac-sha256:${Buffer.from('not the secret').toString('base64')}`);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/BADSIG|NOTAUTH|tsig/i);
    const unknown = await client.run(daemon.dnsPort, [`update add ${client.name}-bad._http._tcp.local. 60 SRV 0 1 1 10-0-0-9.addr.local.`], `other-key:hmac-sha256:${SECRET}`);
    expect(unknown.code).not.toBe(0);
    expect(unknown.out).toMatch(/BADKEY|NOTAUTH|tsig/i);
    expect(await listed()).toEqual(before);
  });

  it('deleting the instance takes it out of DNS; the SOA serial grew', async () => {
    const serialBefore = await digSoaSerial(daemon.dnsPort);
    const result = await client.run(daemon.dnsPort, [`update delete ${instance}`]);
    expect(result, result.out).toMatchObject({ code: 0 });
    expect(serialGreater(await digSoaSerial(daemon.dnsPort), serialBefore)).toBe(true);
    expect(await dig(daemon.dnsPort, instance, 'SRV')).toEqual([]);
    expect(await listed()).not.toContain(`${client.name}1`);
  });
});

describe('DNS UPDATE: crafted messages against the daemon', () => {
  let daemon: Daemon;
  const key = { name: 'upd-key', algorithm: 'hmac-sha256' as const, secret: Buffer.from(SECRET, 'base64') };
  const now = (): number => Math.floor(Date.now() / 1000);
  const srvUpdate = (id: string): Buffer => updateMessage({ updates: [add(`${id}._lease._tcp.local.`, T.SRV, rdata.srv(0, 1, 8080, '10-0-0-5.addr.local.'))], additional: [leaseOpt(3)] });
  const ids = (): Promise<string[]> => instanceIds(daemon, 'lease');

  beforeAll(async () => {
    daemon = await startDaemon(['--store', 'memory', '--tsig-key', KEY]);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('skewed time: NOTAUTH with BADTIME, nothing changed', async () => {
    const reply = await sendUdp(daemon.dnsPort, sign(srvUpdate('skewed'), key, now() - 3600).signed);
    expect(rcodeOf(reply)).toBe(9);
    expect(tsigError(reply, key)).toBe(18);
    expect(await ids()).toEqual([]);
  });

  it('unsigned: REFUSED, nothing changed', async () => {
    expect(rcodeOf(await sendUdp(daemon.dnsPort, srvUpdate('unsigned')))).toBe(5);
    expect(await ids()).toEqual([]);
  });

  it('a lease of 3 s not renewed: the instance leaves DNS after it', async () => {
    expect(rcodeOf(await sendUdp(daemon.dnsPort, sign(srvUpdate('short'), key, now()).signed))).toBe(0);
    expect(await dig(daemon.dnsPort, 'short._lease._tcp.local.', 'SRV')).toEqual(['0 1 8080 10-0-0-5.addr.local.']);
    // Bounded wait on the observable outcome, not a timing assertion.
    await until(() => dig(daemon.dnsPort, 'short._lease._tcp.local.', 'SRV'), (lines) => lines.length === 0, 20_000, 250);
  });
});

describe('DNS UPDATE with a key limited to a service (nsupdate)', () => {
  const SCOPED = `printers:hmac-sha256:${Buffer.from('a key for the printers only!').toString('base64')}`;
  const nsupdate = (port: number, key: string, lines: string[]) =>
    runClient('nsupdate', [], [`server 127.0.0.1 ${port}`, 'zone local.', `key ${key.split(':')[1]}:${key.split(':')[0]} ${key.split(':')[2]}`, ...lines, 'send', ''].join('\n'));
  let daemon: Daemon;

  beforeAll(async () => {
    daemon = await startDaemon(['--store', 'memory', '--tsig-key', KEY, '--tsig-key', SCOPED, '--tsig-key-services', 'printers=ipp']);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it('registers under its service; an update reaching outside it is REFUSED and changes nothing; other keys stay unlimited', async () => {
    const inScope = await nsupdate(daemon.dnsPort, SCOPED, ['update add lobby._ipp._tcp.local. 60 SRV 0 1 631 10-0-0-20.addr.local.']);
    expect(inScope, inScope.out).toMatchObject({ code: 0 });
    expect(await dig(daemon.dnsPort, 'lobby._ipp._tcp.local.', 'SRV')).toEqual(['0 1 631 10-0-0-20.addr.local.']);

    const serial = await digSoaSerial(daemon.dnsPort);
    const outside = await nsupdate(daemon.dnsPort, SCOPED, [
      'update add hall._ipp._tcp.local. 60 SRV 0 1 631 10-0-0-21.addr.local.',
      'update add sneaky._http._tcp.local. 60 SRV 0 1 80 10-0-0-22.addr.local.',
    ]);
    expect(outside.code).not.toBe(0);
    expect(outside.out).toContain('REFUSED');
    expect(await instanceIds(daemon, 'ipp')).toEqual(['lobby']);
    expect(await instanceIds(daemon, 'http')).toEqual([]);
    expect(await digSoaSerial(daemon.dnsPort)).toBe(serial);

    const admin = await nsupdate(daemon.dnsPort, KEY, ['update add open._http._tcp.local. 60 SRV 0 1 80 10-0-0-23.addr.local.']);
    expect(admin, admin.out).toMatchObject({ code: 0 });
    expect(await instanceIds(daemon, 'http')).toEqual(['open']);
  });
});

// Worker processes and the DNS thread both forward UPDATE to the daemon's write path over their channel.
for (const [label, flags] of [['--workers 2 (each worker forwards to the daemon)', ['--workers', '2']], ['--dns-thread (the thread forwards to the main loop)', ['--dns-thread']]] as const) {
  describe(`DNS UPDATE with ${label}`, () => {
    it('nsupdate over UDP and TCP registers and deletes; every worker answers at once; refusals change nothing; counted', async () => {
      const daemon = await startDaemon([...flags, '--store', 'memory', '--tsig-key', KEY]);
      try {
        const [udp, tcp] = [clients[0]!, clients[1]!];
        const added = await udp.run(daemon.dnsPort, ['update add _http._tcp.local. 60 PTR w1._http._tcp.local.', 'update add w1._http._tcp.local. 60 SRV 0 1 8081 10-0-0-41.addr.local.']);
        expect(added, added.out).toMatchObject({ code: 0 });
        const overTcp = await tcp.run(daemon.dnsPort, ['update add w2._http._tcp.local. 60 SRV 0 1 8082 10-0-0-42.addr.local.']);
        expect(overTcp, overTcp.out).toMatchObject({ code: 0 });
        // Acknowledged only once every worker applied it: each query (dig picks a new source port, and the
        // kernel spreads those over the workers) sees both at once.
        for (let i = 0; i < 8; i++) {
          expect((await dig(daemon.dnsPort, '_http._tcp.local.', 'SRV')).sort()).toEqual(['0 1 8081 10-0-0-41.addr.local.', '0 1 8082 10-0-0-42.addr.local.']);
        }
        expect((await instanceIds(daemon, 'http')).sort()).toEqual(['w1', 'w2']);
        const wrongKey = await udp.run(daemon.dnsPort, ['update add w3._http._tcp.local. 60 SRV 0 1 8083 10-0-0-43.addr.local.'], `upd-key:hmac-sha256:${Buffer.from('not the secret').toString('base64')}`);
        expect(wrongKey.code).not.toBe(0);
        const deleted = await udp.run(daemon.dnsPort, ['update delete w1._http._tcp.local. SRV']);
        expect(deleted, deleted.out).toMatchObject({ code: 0 });
        for (let i = 0; i < 4; i++) expect(await dig(daemon.dnsPort, '_http._tcp.local.', 'SRV')).toEqual(['0 1 8082 10-0-0-42.addr.local.']);
        expect(await instanceIds(daemon, 'http')).toEqual(['w2']);
        const stats = await daemon.ok('stats', '--json');
        expect(JSON.parse(stats) as unknown).toMatchObject({ dns: { updatesByOutcome: { accepted: 3, badsig: 1 } } });
      } finally {
        expect(await daemon.stop()).toBe(0);
      }
    });
  });
}

describe('DNS UPDATE: dynamic zone data (nsupdate, knsupdate, dig)', () => {
  it('keeps a host\'s A record and a TXT, answers them, deletes them, and keeps them across a restart on SQLite (then answered by DNS workers)', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beacon-zone-data-'));
    try {
      const first = await startDaemon(['--tsig-key', KEY], { dataDir });
      try {
        const byNsupdate = await clients[0]!.run(first.dnsPort, ['update add printer.local. 300 A 10.0.0.31', 'update add printer.local. 300 TXT "floor=2" "room=12"']);
        expect(byNsupdate, byNsupdate.out).toMatchObject({ code: 0 });
        const byKnsupdate = await clients[2]!.run(first.dnsPort, ['update add nas.local. 300 AAAA fd00::31', 'update add nas.local. 300 A 10.0.0.32']);
        expect(byKnsupdate, byKnsupdate.out).toMatchObject({ code: 0 });
        expect(await dig(first.dnsPort, 'printer.local.', 'A')).toEqual(['10.0.0.31']);
        expect(await dig(first.dnsPort, 'printer.local.', 'TXT')).toEqual(['"floor=2" "room=12"']);
        expect(await dig(first.dnsPort, 'nas.local.', 'AAAA', true)).toEqual(['fd00::31']);
        // A prerequisite sees it: the name exists, so "nxdomain" fails with YXDOMAIN and nothing changes.
        const refused = await clients[0]!.run(first.dnsPort, ['prereq nxdomain printer.local.', 'update add printer.local. 300 A 10.0.0.99']);
        expect(refused.out).toContain('YXDOMAIN');
        const deleted = await clients[0]!.run(first.dnsPort, ['update delete nas.local. A', 'update delete printer.local. TXT']);
        expect(deleted, deleted.out).toMatchObject({ code: 0 });
        expect(await dig(first.dnsPort, 'nas.local.', 'A')).toEqual([]);
        expect(await dig(first.dnsPort, 'printer.local.', 'TXT')).toEqual([]);
      } finally {
        expect(await first.stop()).toBe(0);
      }
      // Restarted with DNS worker processes: the workers answer the stored zone data too.
      const second = await startDaemon(['--workers', '2'], { dataDir });
      try {
        for (let i = 0; i < 4; i++) expect(await dig(second.dnsPort, 'printer.local.', 'A')).toEqual(['10.0.0.31']);
        expect(await dig(second.dnsPort, 'nas.local.', 'AAAA')).toEqual(['fd00::31']);
        expect(await dig(second.dnsPort, 'nas.local.', 'A')).toEqual([]);
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the SOA serial (dig)', () => {
  it('grows with a registration and a deregistration through the CLI, in negative answers too, and stays ahead across a restart', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beacon-serial-'));
    try {
      const first = await startDaemon([], { dataDir });
      let last: number;
      try {
        const s0 = await digSoaSerial(first.dnsPort);
        await first.ok('register', 'serial', 's-1', '--address', '10.0.0.9', '--port', '8080');
        const s1 = await digSoaSerial(first.dnsPort);
        expect(serialGreater(s1, s0), `${s0} -> ${s1}`).toBe(true);
        // NXDOMAIN carries the SOA in its authority section: the same, current serial.
        const nx = await runClient('dig', ['@127.0.0.1', '-p', String(first.dnsPort), '+noall', '+authority', 'nothing-here.local.', 'A'], '');
        expect(nx.out.split(/\s+/)[6]).toBe(String(s1));
        await first.ok('deregister', 'serial', 's-1');
        last = await digSoaSerial(first.dnsPort);
        expect(serialGreater(last, s1), `${s1} -> ${last}`).toBe(true);
      } finally {
        expect(await first.stop()).toBe(0);
      }
      const second = await startDaemon([], { dataDir });
      try {
        const restarted = await digSoaSerial(second.dnsPort);
        expect(serialGreater(restarted, last), `${last} -> ${restarted} after a restart`).toBe(true);
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('DNS UPDATE: kill -9 during updates', () => {
  it('loses no acknowledged update (SQLite)', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beacon-update-kill-'));
    const key = { name: 'upd-key', algorithm: 'hmac-sha256' as const, secret: Buffer.from(SECRET, 'base64') };
    try {
      const first = await startDaemon(['--tsig-key', KEY], { dataDir });
      const acknowledged: string[] = [];
      let stop = false;
      const sender = async (client: number): Promise<void> => {
        for (let i = 0; !stop; i++) {
          const id = `k${client}-${i}`;
          const msg = updateMessage({ id: (client * 1000 + i) & 0xffff, updates: [add(`${id}._kill._tcp.local.`, T.SRV, rdata.srv(0, 1, 9000, '10-0-0-3.addr.local.'))] });
          try {
            const reply = await sendUdp(first.dnsPort, sign(msg, key, Math.floor(Date.now() / 1000)).signed, 2000);
            if (rcodeOf(reply) === 0) acknowledged.push(id);
          } catch {
            return; // no reply: the daemon is gone
          }
        }
      };
      const senders = [0, 1, 2, 3].map((c) => sender(c));
      await until(() => Promise.resolve(acknowledged.length), (n) => n >= 40, 20_000, 20);
      first.child.kill('SIGKILL');
      stop = true;
      await Promise.all(senders);
      await first.stop();
      const second = await startDaemon(['--tsig-key', KEY], { dataDir });
      try {
        const ids = new Set(await instanceIds(second, 'kill'));
        expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('DNS UPDATE zone data through `beacon zone` (nsupdate, the CLI, dig)', () => {
  it('nsupdate adds a host record, `beacon zone` lists it, `beacon zone delete` removes it: dig sees it gone on every worker, the serial moved, and it stays gone after a restart', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'beacon-zone-cli-'));
    try {
      const first = await startDaemon(['--workers', '2', '--tsig-key', KEY], { dataDir });
      try {
        const added = await clients[0]!.run(first.dnsPort, ['update add scanner.local. 120 A 10.0.0.51', 'update add scanner.local. 120 TXT "model=x"']);
        expect(added, added.out).toMatchObject({ code: 0 });
        expect(await dig(first.dnsPort, 'scanner.local.', 'A')).toEqual(['10.0.0.51']);
        const listed = JSON.parse(await first.ok('zone', '--json')) as unknown;
        expect(listed).toEqual({
          rrsets: [
            { owner: 'scanner.local.', type: 'A', typeCode: 1, ttl: 120, rdata: ['10.0.0.51'] },
            { owner: 'scanner.local.', type: 'TXT', typeCode: 16, ttl: 120, rdata: ['"model=x"'] },
          ],
        });
        expect((await first.ok('zone')).trimEnd().split('\n')).toEqual(['OWNER           TYPE  TTL  DATA', 'scanner.local.  A     120  10.0.0.51', 'scanner.local.  TXT   120  "model=x"']);
        const serialBefore = await digSoaSerial(first.dnsPort);
        expect((await first.ok('zone', 'delete', 'scanner.local', 'A')).trimEnd()).toBe('deleted scanner.local. A (1 record)');
        // Acknowledged once durable and applied; every worker (dig picks a new source port each time) answers without it.
        for (let i = 0; i < 6; i++) expect(await dig(first.dnsPort, 'scanner.local.', 'A')).toEqual([]);
        expect(await dig(first.dnsPort, 'scanner.local.', 'TXT')).toEqual(['"model=x"']);
        const serialAfter = await digSoaSerial(first.dnsPort);
        expect(serialGreater(serialAfter, serialBefore), `${serialBefore} -> ${serialAfter}`).toBe(true);
        const again = await first.cli('zone', 'delete', 'scanner.local.', 'A');
        expect(again.code).toBe(1);
        expect(again.stderr).toContain('[NOT_FOUND]');
      } finally {
        expect(await first.stop()).toBe(0);
      }
      const second = await startDaemon([], { dataDir });
      try {
        expect(await dig(second.dnsPort, 'scanner.local.', 'A')).toEqual([]);
        expect((JSON.parse(await second.ok('zone', '--json')) as { rrsets: { type: string }[] }).rrsets.map((s) => s.type)).toEqual(['TXT']);
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
