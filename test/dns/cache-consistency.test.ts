// The response cache never serves what a fresh server would not: after every step of a seeded sequence of
// registry changes (registrations, re-registrations that change one field, deregistrations, health, maintenance,
// circuits), every question of a fixed set gets the same answer from a long-lived server (cache warm since the
// first step, invalidated change by change) as from a server started on the registry as it is now.
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceInstance, ServiceRegistry, SmartLoadBalancer, createRegistryView, seededRandom } from '../../src/index.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { buildQuery, decode } from './helpers.js';

const SERVICES = ['api', 'db', 'web'] as const;
const IDS = ['a', 'b', 'c', 'd'] as const;
const ADDRESSES = ['10.0.0.1', '10.0.0.2', 'fd00::7'] as const;
const HOSTS = [undefined, 'h1.local', 'shared.local'] as const;
const TAGS = [[], ['blue'], ['blue', 'canary'], ['green']] as const;

/** Every question whose answer a change may move: browsing, subtypes, instances, targets, negatives, the apex. */
function questions(): [string, string][] {
  const list: [string, string][] = [
    ['_services._dns-sd._udp.local', 'PTR'],
    ['local', 'SOA'],
    ['_blue._sub._api._tcp.local', 'PTR'],
    ['_canary._sub._web._tcp.local', 'PTR'],
    ['h1.local', 'A'],
    ['shared.local', 'A'],
    ['shared.local', 'AAAA'],
    ['10-0-0-1.addr.local', 'A'],
    ['fd00--7.addr.local', 'AAAA'],
  ];
  for (const service of SERVICES) {
    for (const type of ['PTR', 'SRV', 'A', 'AAAA', 'TXT']) list.push([`_${service}._tcp.local`, type]);
    list.push([`${service}.service.local`, 'A']);
    for (const id of IDS) for (const type of ['SRV', 'TXT', 'A', 'ANY']) list.push([`${id}._${service}._tcp.local`, type]);
  }
  return list;
}

/** A reply as comparable text: rcode, flags, and each section's records sorted (rotation changes only order). */
function canonical(reply: Buffer): string {
  const d = decode(reply);
  // The SOA serial of a fresh server is its own; the serial's growth is checked elsewhere (zone-serial tests).
  const lines = (section: readonly string[]): string[] => [...section].map((l) => l.replace(/( IN SOA \S+ \S+ )\d+/, '$1SERIAL')).sort();
  return JSON.stringify({ rcode: d.rcode, aa: d.aa, tc: d.tc, answer: lines(d.answer), authority: lines(d.authority), additional: lines(d.additional) });
}

const servers: DnsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(registry: ServiceRegistry, balancer: SmartLoadBalancer): Promise<DnsServer> {
  const server = await startDnsServer({ view: createRegistryView(registry, balancer), listen: [], zones: [] });
  servers.push(server);
  return server;
}

describe('the response cache against a fresh server', () => {
  it.each([1, 2, 3])('answers alike after every change of a seeded sequence (seed %i)', async (seed) => {
    const random = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const registry = new ServiceRegistry({ defaultTtlMs: 3_600_000 });
    const balancer = new SmartLoadBalancer(registry, { failureThreshold: 1, openTimeoutMs: 3_600_000 });
    const cached = await serve(registry, balancer);
    const asked = questions();
    const ask = (server: DnsServer, [name, type]: [string, string], edns: boolean): string => {
      const reply = server.handler.handle(buildQuery(name, type, { edns: edns ? 1232 : false }), 'udp');
      if (!reply) throw new Error(`no reply to ${name} ${type}`);
      return canonical(reply);
    };
    const steps: string[] = [];
    for (let step = 0; step < 60; step++) {
      const service = pick(SERVICES);
      const id = pick(IDS);
      const present = registry.get(service, id) !== undefined;
      const roll = random();
      if (!present || roll < 0.35) {
        let instance = new ServiceInstance(id, pick(ADDRESSES), pick([80, 443, 8080])).withTags([...pick(TAGS)]).withWeight(pick([1, 5])).withPriority(pick([0, 1]));
        const host = pick(HOSTS);
        if (host) instance = instance.withHost(host);
        if (random() < 0.5) instance = instance.withMetadata('v', pick(['1', '2']));
        registry.register(service, instance);
        steps.push(`register ${service}/${id}`);
      } else if (roll < 0.5) {
        registry.deregister(service, id);
        steps.push(`deregister ${service}/${id}`);
      } else if (roll < 0.7) {
        const health = pick(['healthy', 'unhealthy'] as const);
        registry.updateHealth(service, id, health);
        steps.push(`health ${service}/${id} ${health}`);
      } else if (roll < 0.85) {
        const enabled = random() < 0.5;
        registry.setMaintenance(service, id, enabled);
        steps.push(`maintenance ${service}/${id} ${enabled}`);
      } else if (random() < 0.5) {
        balancer.reportFailure(service, id);
        steps.push(`failure ${service}/${id}`);
      } else {
        balancer.resetCircuit(service, id);
        steps.push(`reset ${service}/${id}`);
      }
      const fresh = await serve(registry, balancer);
      for (const question of asked) {
        for (const edns of [false, true]) {
          // Asked twice of the long-lived server: the second answer comes from its cache.
          ask(cached, question, edns);
          const expected = ask(fresh, question, edns);
          expect(ask(cached, question, edns), `${question.join(' ')} edns=${edns} after: ${steps.slice(-3).join('; ')}`).toBe(expected);
          // The serial a cached reply carries is the zone's current one.
          const raw = decode(cached.handler.handle(buildQuery(question[0], question[1], { edns: edns ? 1232 : false }), 'udp')!);
          for (const line of [...raw.answer, ...raw.authority]) {
            const soa = / IN SOA \S+ \S+ (\d+)/.exec(line);
            if (soa) expect(Number(soa[1]), `${question.join(' ')} serial`).toBe(cached.serial.current);
          }
        }
      }
      await fresh.close();
      servers.splice(servers.indexOf(fresh), 1);
    }
    expect(cached.stats().cacheHits).toBeGreaterThan(0);
  });
});
