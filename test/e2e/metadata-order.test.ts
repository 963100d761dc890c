/**
 * Metadata order end to end with the real CLI and daemon: `--meta` order is the order of the TXT strings
 * (with `txtvers` first, RFC 6763 §6.7), through the API, SQLite across a restart, and a snapshot round trip.
 * TXT is read with node's resolver (c-ares), which keeps the strings in wire order.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon } from './daemon.js';

async function txt(port: number, name: string): Promise<string[][]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver.resolveTxt(name);
}

const shown = (out: string): string[] => Object.keys((JSON.parse(out) as { instance: { metadata: Record<string, string> } }).instance.metadata);

describe('metadata order', () => {
  it('--meta txtvers=1 --meta path=/x --meta a=b comes back in that order, after a restart and a snapshot round trip', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-meta-'));
    try {
      const first = await startDaemon([], { dataDir: dir });
      try {
        await first.ok('register', 'ordered', 'o1', '--port', '7001', '--meta', 'txtvers=1', '--meta', 'path=/x', '--meta', 'a=b');
        // txtvers given last still comes first in DNS; the rest keep their order.
        await first.ok('register', 'ordered', 'o2', '--port', '7002', '--meta', 'zeta=1', '--meta', 'alpha=2', '--meta', 'txtvers=3');
        expect(await txt(first.dnsPort, 'o1._ordered._tcp.local')).toEqual([['txtvers=1', 'path=/x', 'a=b']]);
        expect(await txt(first.dnsPort, 'o2._ordered._tcp.local')).toEqual([['txtvers=3', 'zeta=1', 'alpha=2']]);
        expect(shown(await first.ok('show', 'ordered', 'o1', '--json'))).toEqual(['txtvers', 'path', 'a']);
      } finally {
        expect(await first.stop()).toBe(0);
      }

      const second = await startDaemon([], { dataDir: dir });
      try {
        expect(await txt(second.dnsPort, 'o1._ordered._tcp.local')).toEqual([['txtvers=1', 'path=/x', 'a=b']]);
        expect(await txt(second.dnsPort, 'o2._ordered._tcp.local')).toEqual([['txtvers=3', 'zeta=1', 'alpha=2']]);
        const file = path.join(dir, 'snap.json');
        await second.ok('snapshot', 'save', file);
        expect(await readFile(file, 'utf8')).toMatch(/"txtvers": "1",\s*"path": "\/x",\s*"a": "b"/);
        await second.ok('deregister', 'ordered', 'o1');
        await second.ok('snapshot', 'restore', file);
        expect(await txt(second.dnsPort, 'o1._ordered._tcp.local')).toEqual([['txtvers=1', 'path=/x', 'a=b']]);
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
