import { afterEach, expect, it, vi } from 'vitest';
import { startMdnsResponder } from '../../src/mdns/index.js';
import { resolveInterfaces } from '../../src/mdns/transport.js';
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
