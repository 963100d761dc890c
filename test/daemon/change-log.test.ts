/**
 * The daemon's info log of instance changes (src/daemon/change-log.ts) and of store failure episodes
 * (src/store/store-episodes.ts): one line per change naming service and instance, and one line per episode
 * of failing writes, with a count, instead of a stack per write.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SmartLoadBalancer } from '../../src/balancer/smart-load-balancer.js';
import { ManualClock } from '../../src/clock.js';
import { changeLogger, circuitLogger } from '../../src/daemon/change-log.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { ServiceRegistry } from '../../src/registry/registry.js';
import { DurableRegistry } from '../../src/registry/write-path.js';
import { MemoryStore } from '../../src/store/memory.js';
import { observeWrites } from '../../src/store/observed.js';
import { StoreFailureEpisodes } from '../../src/store/store-episodes.js';

/** A pino logger writing JSON lines into an array. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('instance change log', () => {
  it('logs registration, health flip, maintenance, expiry and deregistration once each, naming service and instance', async () => {
    const clock = new ManualClock(1_000_000);
    const registry = new ServiceRegistry({ defaultTtlMs: 1000, deregisterCriticalAfterMs: 3000 }, { clock });
    const { log, lines } = capture();
    registry.onChange(changeLogger(log));
    registry.register('api', { id: 'a', address: '10.0.0.1', port: 80 });
    registry.register('api', { id: 'b', address: '10.0.0.2', port: 81 });
    registry.heartbeat('api', 'a', 'pass'); // renews the TTL only: no line
    registry.heartbeat('api', 'b', 'fail', 'disk full');
    registry.setMaintenance('api', 'a', true, 'upgrade');
    registry.setMaintenance('api', 'a', false);
    registry.deregister('api', 'a');
    clock.advance(3001);
    registry.cleanupExpired();
    await settle();
    expect(lines.map((l) => [l.msg, l.service, l.instance])).toEqual([
      ['instance registered', 'api', 'a'],
      ['instance registered', 'api', 'b'],
      ['instance health changed', 'api', 'b'],
      ['instance in maintenance', 'api', 'a'],
      ['instance out of maintenance', 'api', 'a'],
      ['instance deregistered', 'api', 'a'],
      ['instance expired', 'api', 'b'],
    ]);
    expect(lines[2]).toMatchObject({ from: 'healthy', to: 'unhealthy', note: 'disk full', level: 30 });
    expect(lines.every((l) => l.level === 30)).toBe(true);
  });

  it('logs circuit changes naming service and instance', async () => {
    const registry = new ServiceRegistry();
    registry.register('api', { id: 'a', address: '10.0.0.1', port: 80 });
    const balancer = new SmartLoadBalancer(registry, { failureThreshold: 2 });
    const { log, lines } = capture();
    balancer.onCircuitChange(circuitLogger(log));
    balancer.reportFailure('api', 'a');
    balancer.reportFailure('api', 'a');
    await settle();
    balancer.dispose();
    expect(lines.map((l) => [l.msg, l.service, l.instance, l.from, l.to])).toEqual([['circuit changed', 'api', 'a', 'closed', 'open']]);
  });
});

describe('store failure episodes', () => {
  it('logs one error line per episode, reminders at powers of ten, and the recovery with the count; never a stack', async () => {
    const store = new MemoryStore();
    let broken = false;
    const writeBatch = store.writeBatch.bind(store);
    store.writeBatch = async (changes) => {
      if (broken) throw new StoreUnavailableError('disk full');
      return writeBatch(changes);
    };
    const write = store.write.bind(store);
    store.write = async (change) => {
      if (broken) throw new StoreUnavailableError('disk full');
      return write(change);
    };
    const { log, lines } = capture();
    const episodes = new StoreFailureEpisodes(log);
    const durable = await DurableRegistry.open(new ServiceRegistry(), observeWrites(store, episodes));
    await durable.register('api', { id: 'ok', address: '10.0.0.1', port: 80 });
    broken = true;
    for (let i = 0; i < 120; i++) await expect(durable.register('api', { id: `x${i}`, address: '10.0.0.1', port: 80 })).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(episodes.failing).toBe(true);
    broken = false;
    await durable.register('api', { id: 'back', address: '10.0.0.1', port: 80 });
    expect(episodes.failing).toBe(false);
    await durable.close();
    await settle();
    expect(lines.map((l) => [l.msg, l.failures])).toEqual([
      ['store writes failing', undefined],
      ['store writes still failing', 10],
      ['store writes still failing', 100],
      ['store writes succeed again', 120],
    ]);
    expect(lines[0]).toMatchObject({ level: 50, error: 'disk full', code: 'STORE_UNAVAILABLE' });
    expect(JSON.stringify(lines)).not.toContain('stack');
  });
});
