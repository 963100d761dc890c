/**
 * Windowed answers end to end on the real registry (ServiceRegistry → createRegistryView → startDnsServer),
 * over UDP and TCP sockets, decoded by dns-packet: a 2,000-instance service over TCP, `maxAnswers` over UDP,
 * and a registration that shows up in the windows that follow.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { ServiceInstance } from '../../src/registry/types.js';
import { createRegistryView } from '../../src/dns/registry-view.js';
import type { DnsServer } from '../../src/dns/server.js';
import { TcpClient, buildQuery, decode, serveOnLoopback, udpQuery } from './helpers.js';

let server: DnsServer | undefined;
let view: ReturnType<typeof createRegistryView> | undefined;
afterEach(async () => {
  await server?.close();
  view?.dispose();
  server = view = undefined;
});

async function serve(count: number, maxAnswers?: number): Promise<{ registry: ServiceRegistry; server: DnsServer }> {
  const registry = new ServiceRegistry({ defaultTtlMs: 3_600_000 });
  for (let i = 0; i < count; i++) {
    registry.register('api', new ServiceInstance(`api-instance-number-${i}`, `10.1.${i >> 8}.${i & 255}`, 9000 + (i % 100)));
  }
  view = createRegistryView(registry);
  server = await serveOnLoopback(view, maxAnswers === undefined ? {} : { maxAnswers });
  return { registry, server };
}

const targets = (lines: readonly string[]): string[] => lines.map((l) => l.split(' ').slice(4).join(' '));

describe('windowed answers on the real registry', () => {
  it('a 2,000-instance service over TCP: SRV and PTR answered, under 65,536 octets, every instance within the bound', async () => {
    const { server: s } = await serve(2000);
    const client = await TcpClient.connect(s.addresses.tcp[0]!.port);
    let sent = 0;
    try {
      for (const type of ['SRV', 'PTR']) {
        const answers: string[][] = [];
        for (let i = 0; i < 8; i++) {
          client.send(buildQuery('_api._tcp.local.', type, { id: i }));
          const replies = await client.waitFor(++sent);
          const reply = replies.at(-1)!;
          expect(reply.length).toBeLessThan(65536);
          const d = decode(reply);
          expect([d.rcode, d.tc]).toEqual(['NOERROR', false]);
          answers.push(targets(d.answer));
        }
        const smallest = Math.min(...answers.map((a) => a.length));
        expect(smallest).toBeGreaterThan(0);
        const bound = Math.ceil(2000 / smallest) + 1;
        expect(new Set(answers.slice(0, bound).flat()).size).toBe(2000);
      }
      const udp = decode(await udpQuery(s.addresses.udp[0]!.port, buildQuery('_api._tcp.local.', 'SRV', { edns: 1232 })));
      expect([udp.tc, udp.answer.length]).toEqual([true, 0]);
    } finally {
      client.close();
    }
  });

  it('maxAnswers 3 on 30 instances: 10 UDP answers hand out all 30 once; a new instance joins the rotation', async () => {
    const { registry, server: s } = await serve(30, 3);
    const port = s.addresses.udp[0]!.port;
    const handedOut: string[] = [];
    for (let i = 0; i < 10; i++) {
      const d = decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'SRV')));
      expect(d.answer).toHaveLength(3);
      handedOut.push(...targets(d.answer));
    }
    expect(handedOut).toHaveLength(30);
    expect(new Set(handedOut).size).toBe(30);
    registry.register('api', new ServiceInstance('newcomer', '10.9.9.9', 9999));
    const after: string[] = [];
    for (let i = 0; i < 11; i++) after.push(...targets(decode(await udpQuery(port, buildQuery('_api._tcp.local.', 'SRV'))).answer));
    expect(after.some((t) => t.startsWith('0 1 9999 '))).toBe(true);
    expect(new Set(after).size).toBe(31);
  });
});
