/**
 * glibc as a client of address-derived SRV target names: Beacon serves on port 53 inside a network namespace
 * this test creates (`unshare --net --mount`: loopback up, /etc/resolv.conf and /etc/nsswitch.conf bind-mounted
 * to point at 127.0.0.1), and the targets of instances on `::1`, `::`, `fe80::1`, `2001:db8::` and `10.0.0.1`
 * are resolved with `getent ahosts` and node's getaddrinfo (glibc), node's c-ares resolver, and dig. glibc
 * refuses host names whose labels start or end with a hyphen, which the names must therefore avoid.
 * Needs root (or user namespaces) and the built dist/ (`npm run test:interop` builds it).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const child = join(root, 'test/interop/support/glibc-netns-child.mjs');
const ADDRESSES = ['::1', '::', 'fe80::1', '2001:db8::', '10.0.0.1'];
const EXPECTED_TARGETS: Record<string, string> = {
  '::1': '0--1.addr.dnssd.test',
  '::': '0--0.addr.dnssd.test',
  'fe80::1': 'fe80--1.addr.dnssd.test',
  '2001:db8::': '2001-db8--0.addr.dnssd.test',
  '10.0.0.1': '10-0-0-1.addr.dnssd.test',
};

interface Resolved {
  address: string;
  target: string | null;
  getent: string[];
  lookup: string[] | string;
  resolve: string[] | string;
  dig: string[];
}

let results: Resolved[];
let dir: string;

beforeAll(async () => {
  expect(existsSync(join(root, 'dist/index.js')), 'dist/ is missing: run npm run build').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'beacon-glibc-'));
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n');
  writeFileSync(join(dir, 'nsswitch.conf'), 'hosts: files dns\n');
  // Mounts made in the new mount namespace are private to it (unshare's default propagation).
  const script = [
    'set -e',
    'ip link set lo up',
    `mount --bind ${join(dir, 'resolv.conf')} /etc/resolv.conf`,
    `mount --bind ${join(dir, 'nsswitch.conf')} /etc/nsswitch.conf`,
    `exec "${process.execPath}" "${child}" "${join(root, 'dist')}" ${ADDRESSES.map((a) => `'${a}'`).join(' ')}`,
  ].join('\n');
  const stdout = await new Promise<string>((done, fail) => {
    execFile('unshare', ['--net', '--mount', 'sh', '-c', script], { timeout: 60_000 }, (error, out, err) => {
      if (error) fail(new Error(`namespace run failed: ${error.message}\n${err}`));
      else done(out);
    });
  });
  results = JSON.parse(stdout) as Resolved[];
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(ADDRESSES)('the SRV target of an instance on %s', (address) => {
  const result = (): Resolved => results.find((r) => r.address === address)!;

  it('is a host name: no label starts or ends with a hyphen', () => {
    expect(result().target).toBe(EXPECTED_TARGETS[address]);
    for (const label of result().target!.split('.')) expect(label).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  });

  it('resolves with glibc: getent ahosts and getaddrinfo', () => {
    const addresses = new Set(result().getent.map((l) => l.split(/\s+/)[0]));
    expect([...addresses]).toEqual([address]);
    expect(result().lookup).toEqual([address]);
  });

  it("resolves with node's c-ares resolver and with dig", () => {
    expect(result().resolve).toEqual([address]);
    expect(result().dig).toEqual([address]);
  });
});
