// Runs inside the network and mount namespaces that test/interop/glibc-names.test.ts creates: loopback is
// up, /etc/resolv.conf points at 127.0.0.1 and /etc/nsswitch.conf says `hosts: files dns`. Serves a registry
// on 127.0.0.1:53 with the built Beacon (dist/), then resolves each instance's SRV target with glibc
// (`getent ahosts`, and node's dns.lookup, which calls getaddrinfo), c-ares (node's dns.resolve*) and dig.
// Prints one JSON document; the test asserts on it.
import { execFile } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const [distDir, ...addresses] = process.argv.slice(2);
const beacon = await import(pathToFileURL(join(distDir, 'index.js')).href);

const registry = new beacon.ServiceRegistry({ defaultTtlMs: 600_000 });
addresses.forEach((address, i) => registry.register('app', new beacon.ServiceInstance(`app-${i}`, address, 8000 + i).withHealth('healthy')));
const view = beacon.createRegistryView(registry);
const server = await beacon.startDnsServer({ view, domain: 'dnssd.test.', listen: [{ host: '127.0.0.1', port: 53 }], zones: [] });

/** Output lines of a command, or the error it ended with (the test shows it). */
async function lines(cmd, args) {
  try {
    const { stdout } = await run(cmd, args, { timeout: 10_000 });
    return stdout.split('\n').filter((l) => l !== '');
  } catch (error) {
    return [`error: ${error.code ?? ''} ${String(error.stderr ?? error.message).trim()}`];
  }
}
async function settle(promise) {
  try {
    return await promise;
  } catch (error) {
    return `error: ${error.code ?? error.message}`;
  }
}

const results = [];
try {
  const srv = await dns.resolveSrv('_app._tcp.dnssd.test');
  for (const address of addresses) {
    const port = 8000 + addresses.indexOf(address);
    const target = srv.find((r) => r.port === port)?.name;
    if (!target) {
      results.push({ address, target: null });
      continue;
    }
    const family = address.includes(':') ? 6 : 4;
    results.push({
      address,
      target,
      getent: await lines('getent', ['ahosts', target]),
      lookup: await settle(dns.lookup(target, { all: true }).then((all) => all.map((a) => a.address))),
      resolve: await settle(family === 6 ? dns.resolve6(target) : dns.resolve4(target)),
      dig: await lines('dig', ['+short', '+tries=1', '+time=2', target, family === 6 ? 'AAAA' : 'A']),
    });
  }
} finally {
  await server.close();
  view.dispose();
}
process.stdout.write(JSON.stringify(results), () => process.exit(0));
