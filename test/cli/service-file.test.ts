import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrationFromJson } from '../../src/cli/service-file.js';
import { startDaemon, type Daemon } from '../e2e/daemon.js';

describe('service-definition files', () => {
  it("reads Beacon's shape as the register body", () => {
    expect(registrationFromJson({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 80, tags: ['a'] })).toEqual({
      service: 'web',
      id: 'web-1',
      body: { address: '10.0.0.1', port: 80, tags: ['a'] },
    });
  });

  it("reads Consul's shape, wrapped or not, as the Consul API converts it", () => {
    const consul = { service: { name: 'web', id: 'web-2', port: 8080, tags: ['v1'], meta: { zone: 'a' }, check: { ttl: '10s' } } };
    const expected = {
      service: 'web',
      id: 'web-2',
      body: { address: '127.0.0.1', port: 8080, tags: ['v1'], metadata: { zone: 'a' }, check: { type: 'ttl', ttlMs: 10_000 }, health: 'unhealthy' },
    };
    expect(registrationFromJson(consul)).toEqual(expected);
    expect(registrationFromJson(consul.service)).toEqual(expected);
  });

  it('names what is missing', () => {
    expect(() => registrationFromJson({ service: 'web', port: 80 })).toThrow(/"id"/);
    expect(() => registrationFromJson({ service: { port: 80 } })).toThrow(/Name is required/);
    expect(() => registrationFromJson([])).toThrow(/one JSON object/);
  });
});

describe('beacon register --file', () => {
  let daemon: Daemon;
  let dir: string;
  beforeAll(async () => {
    daemon = await startDaemon();
    dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-svcfile-'));
  });
  afterAll(async () => {
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("registers from Consul's service-definition shape and from Beacon's", async () => {
    const consulFile = path.join(dir, 'web.json');
    await writeFile(consulFile, JSON.stringify({ service: { name: 'web', id: 'web-1', port: 8080, tags: ['v1'], check: { ttl: '30s', status: 'passing' } } }));
    const registered = JSON.parse(await daemon.ok('register', '--file', consulFile, '--json')) as { instance: Record<string, unknown> };
    expect(registered.instance).toMatchObject({ service: 'web', id: 'web-1', port: 8080, tags: ['v1'], health: 'healthy', check: { type: 'ttl', ttlMs: 30_000 } });

    const beaconFile = path.join(dir, 'api.json');
    await writeFile(beaconFile, JSON.stringify({ service: 'api', id: 'api-1', address: '10.0.0.9', port: 9000 }));
    const api = JSON.parse(await daemon.ok('register', '--file', beaconFile, '--json')) as { instance: Record<string, unknown> };
    expect(api.instance).toMatchObject({ service: 'api', id: 'api-1', address: '10.0.0.9', port: 9000 });

    const both = await daemon.cli('register', 'web', 'web-9', '--file', consulFile);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/--file/);
  });
});
