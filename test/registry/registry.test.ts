import { describe, expect, it } from 'vitest';
import { BeaconError, ManualClock, NameConflictError, ServiceInstance, ServiceRegistry, type ChangeEvent } from '../../src/index.js';
import type { InstanceRecord } from '../../src/registry/types.js';
import { makeRecord } from '../store/fixtures.js';

const make = (clock = new ManualClock(1_000), config = {}) => new ServiceRegistry({ defaultTtlMs: 1_000, deregisterCriticalAfterMs: 10_000, ...config }, { clock });

describe('input validation: a typed error with a stable code, and the registry unchanged', () => {
  const valid = { id: 'web-1', address: '10.0.0.1', port: 8080 };
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['empty service', '', valid, 'INVALID_ARGUMENT'],
    ['service with underscore', 'my_api', valid, 'INVALID_ARGUMENT'],
    ['service with leading hyphen', '-api', valid, 'INVALID_ARGUMENT'],
    ['service of 64 chars', 'a'.repeat(64), valid, 'INVALID_ARGUMENT'],
    ['empty id', 'api', { ...valid, id: '' }, 'INVALID_ARGUMENT'],
    ['id of 64 octets', 'api', { ...valid, id: 'x'.repeat(64) }, 'INVALID_ARGUMENT'],
    ['id of 22 three-octet chars (66 octets)', 'api', { ...valid, id: '€'.repeat(22) }, 'INVALID_ARGUMENT'],
    ['id with a newline', 'api', { ...valid, id: 'a\nb' }, 'INVALID_ARGUMENT'],
    ['id not a string', 'api', { ...valid, id: 42 }, 'INVALID_ARGUMENT'],
    ['port 0', 'api', { ...valid, port: 0 }, 'INVALID_ARGUMENT'],
    ['port 70000', 'api', { ...valid, port: 70000 }, 'INVALID_ARGUMENT'],
    ['port as string', 'api', { ...valid, port: '80' }, 'INVALID_ARGUMENT'],
    ['fractional port', 'api', { ...valid, port: 80.5 }, 'INVALID_ARGUMENT'],
    ['bad address', 'api', { ...valid, address: 'not an address!' }, 'INVALID_ARGUMENT'],
    ['empty address', 'api', { ...valid, address: '' }, 'INVALID_ARGUMENT'],
    ['weight 70000', 'api', { ...valid, weight: 70000 }, 'INVALID_ARGUMENT'],
    ['negative priority', 'api', { ...valid, priority: -1 }, 'INVALID_ARGUMENT'],
    ['protocol sctp', 'api', { ...valid, protocol: 'sctp' }, 'INVALID_ARGUMENT'],
    ['tags not an array', 'api', { ...valid, tags: 'v1' }, 'INVALID_ARGUMENT'],
    ['tag of 64 octets', 'api', { ...valid, tags: ['t'.repeat(64)] }, 'INVALID_ARGUMENT'],
    ['metadata value not a string', 'api', { ...valid, metadata: { a: 1 } }, 'INVALID_ARGUMENT'],
    ['metadata key with =', 'api', { ...valid, metadata: { 'a=b': 'c' } }, 'INVALID_ARGUMENT'],
    ['metadata over one TXT string', 'api', { ...valid, metadata: { k: 'v'.repeat(254) } }, 'INVALID_ARGUMENT'],
    ['bad host', 'api', { ...valid, host: 'bad host' }, 'INVALID_ARGUMENT'],
    ['zero TTL', 'api', { ...valid, ttlMs: 0 }, 'INVALID_ARGUMENT'],
    ['check with bad type', 'api', { ...valid, check: { type: 'ping' } }, 'INVALID_ARGUMENT'],
    ['http check without url', 'api', { ...valid, check: { type: 'http' } }, 'INVALID_ARGUMENT'],
    ['check with negative interval', 'api', { ...valid, check: { type: 'tcp', intervalMs: -5 } }, 'INVALID_ARGUMENT'],
    ['bad initial health', 'api', { ...valid, health: 'fine' }, 'INVALID_ARGUMENT'],
  ];
  it.each(cases)('%s', (_name, service, input, code) => {
    const registry = make();
    registry.register('api', new ServiceInstance('keep', '10.0.0.9', 80));
    const before = JSON.stringify(registry.records());
    let error: unknown;
    try {
      registry.register(service, input as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BeaconError);
    expect((error as BeaconError).code).toBe(code);
    expect((error as BeaconError).status).toBe(400);
    expect(JSON.stringify(registry.records())).toBe(before);
    expect(registry.index).toBe(1);
  });

  it('accepts UTF-8 instance names with dots and spaces up to 63 octets, and IPv6 and host-name addresses', () => {
    const registry = make();
    registry.register('api', { id: 'Büro Drucker. 3', address: 'fd00::1', port: 631 });
    registry.register('api', { id: 'é'.repeat(31), address: 'Printer.Example.COM', port: 631 });
    expect(registry.get('api', 'é'.repeat(31))?.spec.address).toBe('printer.example.com');
    expect(registry.resolveAll('API')).toHaveLength(2); // service names are case-insensitive
  });

  it('rejects an instance name that differs from an existing one only in ASCII case (DNS cannot tell them apart)', () => {
    const registry = make();
    registry.register('api', { id: 'Web', address: '10.0.0.1', port: 80 });
    expect(() => registry.register('api', { id: 'wEB', address: '10.0.0.2', port: 80 })).toThrow(NameConflictError);
    expect(registry.resolveAll('api')).toHaveLength(1);
  });
});

describe('state machine and change events', () => {
  it('every visible change emits one event with a strictly increasing index and before/after records', () => {
    const clock = new ManualClock(1_000);
    const registry = make(clock);
    const events: ChangeEvent[] = [];
    registry.onChange((e) => events.push(e));
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    clock.advance(100);
    expect(registry.heartbeat('api', 'a')).toBeUndefined(); // renewing a healthy instance's TTL is not a visible change
    expect(registry.get('api', 'a')?.lastHeartbeat).toBe(1_100);
    registry.updateHealth('api', 'a', 'unhealthy', 'probe failed');
    expect(registry.updateHealth('api', 'a', 'unhealthy', 'probe failed')).toBeUndefined();
    registry.setMaintenance('api', 'a', true, 'deploy');
    registry.deregister('api', 'a');
    expect(events.map((e) => [e.index, e.mutation.type])).toEqual([
      [1, 'register'], [2, 'set-health'], [3, 'set-maintenance'], [4, 'deregister'],
    ]);
    expect(events[1]!.before?.health).toBe('healthy');
    expect(events[1]!.after).toMatchObject({ health: 'unhealthy', note: 'probe failed', healthSince: 1_100 });
    expect(events[3]!.after).toBeUndefined();
    expect(registry.index).toBe(4);
  });

  it('a throwing listener does not break the registry or other listeners', () => {
    const registry = make();
    const seen: number[] = [];
    registry.onChange(() => {
      throw new Error('boom');
    });
    registry.onChange((e) => seen.push(e.index));
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    expect(seen).toEqual([1]);
  });

  it('heartbeat fail marks unhealthy, pass revives a TTL-based instance', () => {
    const registry = make();
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    registry.heartbeat('api', 'a', 'fail', 'disk full');
    expect(registry.get('api', 'a')).toMatchObject({ health: 'unhealthy', note: 'disk full' });
    expect(registry.resolve('api')).toBeUndefined();
    registry.heartbeat('api', 'a', 'pass');
    expect(registry.resolve('api')?.id).toBe('a');
  });

  it('an instance with an active check starts unknown and is not resolvable until a passing result', () => {
    const registry = make();
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withCheck({ type: 'http', url: 'http://127.0.0.1:9/health' }));
    expect(registry.get('api', 'a')?.health).toBe('unknown');
    expect(registry.resolve('api')).toBeUndefined();
    registry.heartbeat('api', 'a'); // heartbeats do not override an active check
    expect(registry.get('api', 'a')?.health).toBe('unknown');
    registry.updateHealth('api', 'a', 'healthy');
    expect(registry.resolve('api')?.id).toBe('a');
    // Re-registering with the same check keeps the probed health: periodic re-registration never flaps.
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withCheck({ type: 'http', url: 'http://127.0.0.1:9/health' }));
    expect(registry.get('api', 'a')?.health).toBe('healthy');
  });

  it('a missed TTL takes the instance out of resolution at once, before any sweep', () => {
    const clock = new ManualClock(0);
    const registry = make(clock);
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withTtl(500));
    clock.advance(499);
    expect(registry.resolve('api')?.id).toBe('a');
    clock.advance(1);
    expect(registry.resolve('api')).toBeUndefined();
    expect(registry.expiredMutations()).toEqual([{ type: 'set-health', service: 'api', id: 'a', health: 'unhealthy', note: 'TTL expired', at: 500 }]);
    expect(registry.nextDeadline()).toBe(500);
    registry.cleanupExpired();
    expect(registry.get('api', 'a')).toMatchObject({ health: 'unhealthy', healthSince: 500 });
    expect(registry.nextDeadline()).toBe(10_500);
  });

  it('keeps one deadline per instance across re-registrations with new data, heartbeats and deregistration', () => {
    const clock = new ManualClock(0);
    const registry = make(clock);
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80).withTtl(500));
    registry.register('api', new ServiceInstance('b', '10.0.0.2', 80).withTtl(2_000));
    expect(registry.nextDeadline()).toBe(500);
    // A new spec for `a` (another address, a longer TTL): its first deadline goes with the old spec.
    registry.register('api', new ServiceInstance('a', '10.0.0.9', 80).withTtl(5_000));
    expect(registry.nextDeadline()).toBe(2_000);
    clock.advance(1_000);
    registry.heartbeat('api', 'b');
    expect(registry.nextDeadline()).toBe(3_000);
    registry.deregister('api', 'b');
    expect(registry.nextDeadline()).toBe(5_000);
    registry.deregister('api', 'a');
    expect(registry.nextDeadline()).toBeUndefined();
  });

  it('with externalTtl (etcd leases), heartbeat instances never expire locally; critical ones still do', () => {
    const clock = new ManualClock(0);
    const registry = new ServiceRegistry({ defaultTtlMs: 1_000, deregisterCriticalAfterMs: 5_000 }, { clock, externalTtl: true });
    registry.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    registry.register('api', new ServiceInstance('b', '10.0.0.2', 80).withHealth('unhealthy'));
    clock.advance(4_000);
    expect(registry.resolve('api')?.id).toBe('a');
    expect(registry.expiredMutations()).toEqual([]);
    expect(registry.nextDeadline()).toBe(5_000);
    clock.advance(1_000);
    expect(registry.cleanupExpired()).toBe(1);
    expect(registry.resolveAll('api').map((i) => i.id)).toEqual(['a']);
  });

  it('preview is pure and matches what apply does', () => {
    const registry = make();
    const m = registry.prepareRegister('api', new ServiceInstance('a', '10.0.0.1', 80));
    const p = registry.preview(m);
    expect(p).toMatchObject({ before: undefined, changed: true, visible: true });
    expect(registry.index).toBe(0);
    const event = registry.apply(m);
    expect(event?.after).toEqual(p.after);
  });

  it('apply refuses a mutation for a missing instance and changes nothing', () => {
    const registry = make();
    expect(() => registry.apply({ type: 'set-health', service: 'api', id: 'x', health: 'healthy', at: 0 })).toThrow(/service not found/);
    expect(registry.index).toBe(0);
  });

  it('load restores records with a fresh heartbeat grace period and keeps the index monotonic', () => {
    const clock = new ManualClock(0);
    const source = make(clock);
    source.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    source.register('api', new ServiceInstance('b', '10.0.0.2', 80).withHealth('unhealthy'));
    clock.advance(60_000);
    const restored = make(clock);
    restored.load(source.records(), source.index);
    expect(restored.index).toBe(2);
    expect(restored.get('api', 'a')?.lastHeartbeat).toBe(60_000);
    expect(restored.resolve('api')?.id).toBe('a');
    expect(restored.cleanupExpired()).toBe(0); // the unhealthy one got a fresh critical period too
  });

  it('load lays specs out as registration does and takes a second record of one instance as a replacement', () => {
    const clock = new ManualClock(0);
    const registry = make(clock);
    // As a store decodes them: each record with its own spec and tag list.
    const decoded = (id: string, address: string, ttlMs: number): InstanceRecord => JSON.parse(JSON.stringify(makeRecord('api', id, { spec: { address, ttlMs } }))) as InstanceRecord;
    registry.load([decoded('a', '10.0.0.1', 500), decoded('b', '10.0.0.2', 2_000), decoded('a', '10.0.0.9', 5_000)], 3);
    expect(registry.stats().totalInstances).toBe(2);
    expect(registry.get('api', 'a')?.spec.address).toBe('10.0.0.9');
    // The replaced record's deadline went with it: b's is the earliest.
    expect(registry.nextDeadline()).toBe(2_000);
    const [a, b] = [registry.get('api', 'a')!, registry.get('api', 'b')!];
    expect(a.spec.tags).toBe(b.spec.tags);
    expect(Object.isFrozen(a.spec)).toBe(true);
  });

  it('sync mutations set or remove a record verbatim (state learned from a shared store)', () => {
    const registry = make();
    const other = make();
    const event = other.register('api', new ServiceInstance('a', '10.0.0.1', 80));
    registry.apply({ type: 'sync', service: 'api', id: 'a', record: event.after, at: 0 });
    expect(registry.get('api', 'a')).toEqual(event.after);
    registry.apply({ type: 'sync', service: 'api', id: 'a', record: undefined, at: 0 });
    expect(registry.listServices()).toEqual([]);
  });
});
