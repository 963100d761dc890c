// Both UDP transports give byte-identical replies for the whole bench query file: the same registry served by a
// batched and a dgram server, every query sent to each in the same order (so answer rotation advances alike).
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceInstance, ServiceRegistry, createRegistryView } from '../../src/index.js';
import type { DnsServer } from '../../src/dns/server.js';
// @ts-expect-error: plain ESM helpers of the bench script, no type declarations
import { buildDataset, buildQueryFile } from '../../scripts/bench/dataset.mjs';
// @ts-expect-error: plain ESM helpers of the bench script, no type declarations
import { deriveTarget } from '../../scripts/bench/beacon-names.mjs';
import { buildQuery, serveOnLoopback } from './helpers.js';

interface BenchInstance {
  id: string;
  address: string;
  port: number;
  priority: number;
  weight: number;
  tags: string[];
  metadata: Record<string, string>;
}
interface BenchDataset {
  services: { name: string; instances: BenchInstance[] }[];
}

/** The bench's registry (scripts/bench/beacon-server.mjs builds it the same way). */
function benchRegistry(ds: BenchDataset): ServiceRegistry {
  const registry = new ServiceRegistry({ defaultTtlMs: 86_400_000, deregisterCriticalAfterMs: 86_400_000 });
  for (const svc of ds.services) {
    for (const inst of svc.instances) {
      let si = new ServiceInstance(inst.id, inst.address, inst.port).withTags(inst.tags).withWeight(inst.weight).withPriority(inst.priority);
      for (const [k, v] of Object.entries(inst.metadata)) si = si.withMetadata(k, v);
      registry.register(svc.name, si);
    }
  }
  return registry;
}

/**
 * Bounded wait for one window's replies. Generous: a window normally takes a millisecond, but 313 of them run
 * back to back, and on a loaded CI machine one can stall for seconds (GC, the scheduler) without anything lost.
 */
const WINDOW_TIMEOUT_MS = 20_000;

/** One client socket sending a window of queries at once (so the batched server reads them in batches) and
 * waiting (bounded) for every reply, matched by ID. Loopback keeps the order, so both servers see the same one. */
class WindowClient {
  private readonly socket = dgram.createSocket('udp4');
  private pending = new Map<number, (b: Buffer) => void>();

  constructor(private readonly port: number) {
    this.socket.on('message', (m) => {
      if (m.length >= 2) this.pending.get(m.readUInt16BE(0))?.(m);
    });
  }

  ask(queries: readonly Buffer[]): Promise<Buffer[]> {
    const replies = queries.map(
      (q) =>
        new Promise<Buffer>((resolve, reject) => {
          const id = q.readUInt16BE(0);
          const timer = setTimeout(() => reject(new Error(`no reply to ${id} within ${WINDOW_TIMEOUT_MS} ms`)), WINDOW_TIMEOUT_MS);
          this.pending.set(id, (b) => {
            clearTimeout(timer);
            this.pending.delete(id);
            resolve(b);
          });
        }),
    );
    for (const q of queries) this.socket.send(q, this.port, '127.0.0.1');
    return Promise.all(replies);
  }

  close(): void {
    this.socket.close();
  }
}

/** Queries in flight at once: enough for multi-datagram batches, few enough never to overflow a socket buffer. */
const WINDOW = 32;

describe('UDP transports: byte-identical replies', () => {
  const ds = buildDataset({ services: 50, instances: 3 }) as BenchDataset;
  // The bench's own query file for 50 x 3 (bench.mjs: max(10,000, 2 x instances) lines, seed 1).
  const file = buildQueryFile(ds, { lines: 10_000, seed: 1, deriveTarget }) as { text: string; lines: number };
  const servers: DnsServer[] = [];
  const registry = benchRegistry(ds);

  beforeAll(async () => {
    for (const udpTransport of ['batched', 'dgram'] as const) {
      servers.push(await serveOnLoopback(createRegistryView(registry), { udpTransport, answerTtl: 5, negativeTtl: 5 }));
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('for every line of the bench query file, plain and with EDNS', { timeout: 300_000 }, async () => {
    const [batched, plain] = servers as [DnsServer, DnsServer];
    expect([batched.udpTransport, plain.udpTransport]).toEqual(['batched', 'dgram']);
    const clients = [new WindowClient(batched.addresses.udp[0]!.port), new WindowClient(plain.addresses.udp[0]!.port)];
    const lines = file.text.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBe(10_000);
    const differing: string[] = [];
    try {
      // dnsperf sends the file without EDNS; every fourth line also goes with EDNS (another cached shape).
      const queries = lines.map((line, i) => {
        const [name, type] = line.split(' ') as [string, string];
        return buildQuery(name, type, { id: i & 0xffff, edns: i % 4 === 0 ? 1232 : false });
      });
      for (let start = 0; start < queries.length; start += WINDOW) {
        const window = queries.slice(start, start + WINDOW);
        const [a, b] = [await clients[0]!.ask(window), await clients[1]!.ask(window)];
        for (let k = 0; k < window.length; k++) {
          if (!a[k]!.equals(b[k]!) && differing.length < 5) differing.push(`${lines[start + k]}: ${a[k]!.toString('hex')} != ${b[k]!.toString('hex')}`);
        }
      }
    } finally {
      for (const c of clients) c.close();
    }
    expect(differing).toEqual([]);
    expect(batched.stats().queries).toBe(lines.length);
    const counters = batched.udpCounters()!;
    expect(counters).toMatchObject({ received: lines.length, sent: lines.length, drops: 0, sendErrors: 0 });
    expect(counters.batches).toBeLessThan(lines.length); // some batches held several datagrams
  });
});
