import { afterEach, expect, it, vi } from 'vitest';
import { startMdnsResponder } from '../../src/mdns/index.js';
import type { NetworkInterfaceInfo } from 'node:os';
import type { Logger } from '../../src/log.js';
import { resolveInterfaces, resolveIpv6Scopes } from '../../src/mdns/transport.js';
import { FakeView } from '../dns/fake-view.js';
import { FakeTransport } from './fake-transport.js';

afterEach(() => {
  vi.useRealTimers();
});

it('startMdnsResponder publishes the view, reports renames, and on close says goodbye then closes the transport', async () => {
  vi.useFakeTimers();
  const view = new FakeView().set({ service: 'api', id: 'api-1', address: '10.1.0.1', port: 80 });
  const transport = new FakeTransport();
  const handle = await startMdnsResponder({ view, transport });
  vi.advanceTimersByTime(1000);
  expect(handle.stats()).toMatchObject({ announced: 1, hosts: 1, probing: 0 });
  expect(handle.instanceNames().get('api/tcp/api-1')).toEqual({ name: 'api-1._api._tcp.local', state: 'announced' });
  transport.clear();
  await handle.close();
  await handle.close(); // idempotent
  const bye = transport.sent.flatMap((s) => s.packet.answers ?? []);
  expect(bye.map((a) => `${a.name} ${a.type}`).sort()).toEqual([
    '10-1-0-1.local A',
    '_api._tcp.local PTR',
    '_services._dns-sd._udp.local PTR',
    'api-1._api._tcp.local SRV',
    'api-1._api._tcp.local TXT',
  ]);
  expect(bye.every((a) => a.type !== 'OPT' && a.ttl === 0)).toBe(true);
  expect(transport.closed).toBe(true);
});

it('refuses an interface that does not exist, naming it', () => {
  expect(() => resolveInterfaces(['no-such-if0'])).toThrow(/no-such-if0/);
  expect(resolveInterfaces(['192.0.2.7'])).toEqual(['192.0.2.7']);
});

it('serves IPv6 on the chosen interfaces that have a link-local IPv6 address, and skips the others with a debug log', () => {
  const info = (family: 'IPv4' | 'IPv6', address: string): NetworkInterfaceInfo =>
    ({ family, address, netmask: '', mac: '00:00:00:00:00:00', internal: false, cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
  const table = {
    eth0: [info('IPv4', '10.0.0.2'), info('IPv6', 'fe80::2')],
    eth1: [info('IPv4', '10.1.0.2'), info('IPv6', '2001:db8::2')],
    eth2: [info('IPv4', '10.2.0.2')],
  };
  const debug = vi.fn();
  const log = { debug } as unknown as Logger;
  expect(resolveIpv6Scopes(['10.0.0.2', '10.1.0.2', '10.2.0.2', '192.0.2.7'], log, table)).toEqual(['eth0']);
  expect(debug.mock.calls.map((call) => (call[0] as Record<string, string>).interface ?? (call[0] as Record<string, string>).address)).toEqual(['eth1', 'eth2', '192.0.2.7']);
});
