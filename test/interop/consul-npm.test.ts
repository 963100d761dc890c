/**
 * The npm `consul` client, unchanged, against a real `beacon serve` on its authenticated TCP listener:
 * register with a TTL check, pass it, read health with `passing`, watch a service through blocking queries
 * and see a change, deregister. Bounded: every wait ends on an event or a deadline.
 */
import Consul from 'consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { srvPorts, startDaemon, until, type Daemon } from '../e2e/daemon.js';

const TOKEN = 'consul-interop-token';
let daemon: Daemon;
let consul: Consul;

/** The TCP control address the daemon logged at startup. */
function controlPort(d: Daemon): number {
  const started = d.logs.find((entry) => entry.msg === 'beacon started') as { control?: { tcp?: string } } | undefined;
  const tcp = started?.control?.tcp;
  if (!tcp) throw new Error(`no TCP control address in the startup log: ${JSON.stringify(started)}`);
  return Number(tcp.slice(tcp.lastIndexOf(':') + 1));
}

type Entry = { Service: { ID: string; Port: number; Tags: string[] }; Checks: { CheckID: string; Status: string }[] };

beforeAll(async () => {
  daemon = await startDaemon(['--http', '127.0.0.1:0', '--token', TOKEN]);
  consul = new Consul({ host: '127.0.0.1', port: controlPort(daemon), defaults: { token: TOKEN } });
});

afterAll(async () => {
  await daemon?.stop();
});

describe('npm consul client against Beacon', () => {
  it('registers with a TTL check, passes it, reads passing health, watches a change, deregisters', async () => {
    await consul.agent.service.register({ name: 'web', id: 'web-1', address: '127.0.0.1', port: 8081, tags: ['v1'], meta: { zone: 'a' }, check: { name: 'web-1 ttl', ttl: '30s', timeout: '1s' } });
    const services = (await consul.agent.service.list()) as Record<string, { Service: string; Port: number; Meta: Record<string, string> }>;
    expect(services['web-1']).toMatchObject({ Service: 'web', Port: 8081, Meta: { zone: 'a' } });
    // A TTL check starts critical: not passing, and not in DNS.
    expect((await consul.health.service({ service: 'web', passing: true })) as Entry[]).toEqual([]);
    expect(await srvPorts(daemon.dnsPort, '_web._tcp.local')).toEqual([]);

    await consul.agent.check.pass({ id: 'service:web-1', note: 'ready' });
    const passing = (await consul.health.service({ service: 'web', passing: true })) as Entry[];
    expect(passing.map((entry) => entry.Service.ID)).toEqual(['web-1']);
    expect(passing[0]!.Checks.find((check) => check.CheckID === 'service:web-1')?.Status).toBe('passing');
    // The same instance in Beacon's DNS: one registry behind both APIs.
    await until(() => srvPorts(daemon.dnsPort, '_web._tcp.local'), (ports) => ports.length === 1 && ports[0] === 8081, 5000);

    // Warning is Beacon's `unknown`: out of DNS (as Consul DNS with only_passing), back in on the next pass.
    await consul.agent.check.warn({ id: 'service:web-1', note: 'slow' });
    await until(() => srvPorts(daemon.dnsPort, '_web._tcp.local'), (ports) => ports.length === 0, 5000);
    const warning = (await consul.health.checks('web')) as { CheckID: string; Status: string; Output: string }[];
    expect(warning).toMatchObject([{ CheckID: 'service:web-1', Status: 'warning', Output: 'slow' }]);
    await consul.agent.check.pass('service:web-1');
    await until(() => srvPorts(daemon.dnsPort, '_web._tcp.local'), (ports) => ports.length === 1, 5000);

    const watch = consul.watch({ method: consul.health.service, options: { service: 'web', passing: true, wait: '10s' } as never });
    try {
      const seen: string[][] = [];
      const sawTwo = new Promise<void>((resolve, reject) => {
        watch.on('change', (data: Entry[]) => {
          seen.push(data.map((entry) => entry.Service.ID).sort());
          if (data.length === 1) {
            // The watch has its first answer: change the service under it.
            void consul.agent.service
              .register({ name: 'web', id: 'web-2', address: '127.0.0.1', port: 8082, check: { name: 'web-2 ttl', ttl: '30s', timeout: '1s', status: 'passing' } })
              .catch(reject);
          }
          if (data.length === 2) resolve();
        });
        watch.on('error', reject);
      });
      await sawTwo;
      expect(seen[0]).toEqual(['web-1']);
      expect(seen.at(-1)).toEqual(['web-1', 'web-2']);
    } finally {
      watch.end();
    }

    await consul.agent.service.deregister('web-1');
    await consul.agent.service.deregister('web-2');
    expect((await consul.health.service({ service: 'web' })) as Entry[]).toEqual([]);
    expect((await consul.catalog.service.list()) as Record<string, string[]>).toEqual({});
    // Deregistering again is not an error.
    await consul.agent.service.deregister('web-1');
  });

  it('is refused without the token', async () => {
    const anonymous = new Consul({ host: '127.0.0.1', port: controlPort(daemon) });
    await expect(anonymous.agent.service.list()).rejects.toThrow(/401|unauthori[sz]ed|token/i);
  });
});
