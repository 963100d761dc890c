import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SmartLoadBalancer } from '../../src/balancer/smart-load-balancer.js';
import { buildControlApp, type ControlDeps } from '../../src/control/app.js';
import { Metrics } from '../../src/control/metrics.js';
import { ChangeFeed } from '../../src/control/watch.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import type { RegistryConfig } from '../../src/registry/types.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { CircuitBreakerConfig } from '../../src/balancer/circuit-breaker.js';
import { openZoneData } from '../../src/daemon/zone-data.js';
import { zonePort } from '../../src/daemon/zone-port.js';
import { snapshotPort } from '../../src/daemon/snapshot-port.js';
import { parseName } from '../../src/dns/name.js';

/** The zone the harness's dynamic zone data belongs to. */
export const HARNESS_DOMAIN = 'beacon.local.';

/** A registry + durable façade + balancer + feed, wired like the daemon does, on a memory store. */
export async function makeDeps(config: Partial<RegistryConfig> = {}, breaker: Partial<CircuitBreakerConfig> = {}) {
  const registry = new ServiceRegistry(config);
  const store = new MemoryStore();
  const durable = await DurableRegistry.open(registry, store);
  // Dynamic zone data on the same store, wired as the daemon wires it (src/daemon/beacon.ts).
  const zoneData = await openZoneData(store, parseName(HARNESS_DOMAIN));
  const balancer = new SmartLoadBalancer(registry, breaker);
  const feed = new ChangeFeed(registry);
  const metrics = new Metrics();
  registry.onChange((e) => metrics.onChange(e));
  balancer.onCircuitChange((c) => metrics.onCircuitChange(c.from, c.to));
  const snapshot = snapshotPort(durable, { source: zoneData, domain: parseName(HARNESS_DOMAIN) });
  const deps: ControlDeps = { registry, writer: durable, balancer, feed, metrics, snapshot, zone: zonePort(zoneData, parseName(HARNESS_DOMAIN)) };
  const dispose = async () => {
    feed.close();
    zoneData.close();
    balancer.dispose();
    await durable.close();
  };
  return { registry, durable, balancer, feed, metrics, deps, dispose, store, zoneData };
}

/** The app on top of `makeDeps`. */
export async function makeApp(options: { token?: string } = {}) {
  const made = await makeDeps();
  const app = buildControlApp(made.deps, options);
  await app.ready();
  return { ...made, app, close: async () => { await app.close(); await made.dispose(); } };
}

/** A temporary directory removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-ctl-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
