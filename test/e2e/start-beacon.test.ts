/** startBeacon in process: composition, the durable path for every mutation, and a clean close. */
import { mkdtemp, rm } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ControlClient } from '../../src/control/client.js';
import { startBeacon, type Beacon } from '../../src/daemon/beacon.js';
import { hasErrorCode } from '../../src/errors.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(flags: Record<string, unknown> = {}): Promise<Beacon & { dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-inproc-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const config = loadConfig({ env: {}, cwd: dir, flags: { dataDir: dir, dnsListen: '127.0.0.1:0', ...flags } });
  const beacon = await startBeacon(config);
  cleanups.push(() => beacon.close());
  return Object.assign(beacon, { dir });
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

describe('startBeacon', () => {
  it('wires control API -> durable store -> registry -> DNS, and closes everything', async () => {
    const beacon = await start();
    const client = new ControlClient({ socketPath: beacon.config.socketPath });
    await client.register('api', 'a', { address: '127.0.0.1', port: 8080 });
    // Durable first: the SQLite store holds the record the API acknowledged.
    expect((await beacon.durable.store.load()).records.map((r) => r.spec.id)).toEqual(['a']);
    const resolver = new Resolver();
    const dnsPort = beacon.dns.addresses.udp[0]!.port;
    resolver.setServers([`127.0.0.1:${dnsPort}`]);
    expect((await resolver.resolveSrv('_api._tcp.local')).map((r) => r.port)).toEqual([8080]);
    expect(beacon.info()).toMatchObject({ store: 'sqlite', domain: 'local.', dns: { udp: [`127.0.0.1:${dnsPort}`] } });

    await beacon.close();
    expect(await tcpConnects(beacon.dns.addresses.tcp[0]!.port)).toBe(false);
    const after = await client.health().catch((e: unknown) => e);
    expect((after as Error).message).toMatch(/cannot reach beacon/);
    const write = await beacon.durable.register('api', { id: 'b', address: '127.0.0.1', port: 1 }).catch((e: unknown) => e);
    expect(hasErrorCode(write, 'STORE_UNAVAILABLE')).toBe(true);
    await beacon.close(); // idempotent
  });

  it('--ephemeral keeps nothing on disk', async () => {
    const beacon = await start({ ephemeral: true });
    expect(beacon.info().store).toBe('memory');
  });

  it('refuses to start a second daemon on the same socket, and the first keeps serving', async () => {
    const first = await start({ ephemeral: true });
    const config = loadConfig({ env: {}, flags: { ephemeral: true, dataDir: first.dir, dnsListen: '127.0.0.1:0' } });
    await expect(startBeacon(config)).rejects.toThrow(/already listening/);
    expect((await new ControlClient({ socketPath: first.config.socketPath }).health()).status).toBe('ok');
  });
});
