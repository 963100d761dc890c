import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '../../src/errors.js';
import type { InstanceRecord } from '../../src/registry/types.js';
import {
  DEFAULT_ETCD_PREFIX,
  MIN_LEASE_TTL_SECONDS,
  decodeInstanceValue,
  instanceKey,
  leaseTtlSeconds,
  parseInstanceKey,
} from '../../src/store/etcd-codec.js';
import { encodeRecord } from '../../src/store/record-codec.js';

function record(overrides: Partial<InstanceRecord> = {}, spec: Partial<InstanceRecord['spec']> = {}): InstanceRecord {
  return {
    service: 'api',
    spec: { id: 'api-1', address: '10.0.0.1', port: 8080, tags: [], metadata: {}, weight: 1, priority: 0, protocol: 'tcp', ...spec },
    health: 'healthy',
    healthSince: 1,
    lastHeartbeat: 1,
    maintenance: false,
    registeredAt: 1,
    ...overrides,
  };
}

describe('etcd keys', () => {
  it('puts an instance under <prefix><service>/<id>', () => {
    expect(instanceKey(DEFAULT_ETCD_PREFIX, 'api', 'api-1')).toBe('/beacon/v1/instances/api/api-1');
  });

  it('escapes slashes, percent signs, dots and UTF-8 in ids so the key keeps two segments', () => {
    for (const id of ['a/b', '50%', 'My Printer.2nd floor', 'café\\x', '/', '%2F']) {
      const key = instanceKey(DEFAULT_ETCD_PREFIX, 'svc', id);
      expect(key.slice(DEFAULT_ETCD_PREFIX.length).split('/')).toHaveLength(2);
      expect(parseInstanceKey(DEFAULT_ETCD_PREFIX, key)).toEqual({ service: 'svc', id });
    }
  });

  it('rejects keys that are not instance keys', () => {
    expect(parseInstanceKey(DEFAULT_ETCD_PREFIX, '/other/api/x')).toBeUndefined();
    expect(parseInstanceKey(DEFAULT_ETCD_PREFIX, '/beacon/v1/instances/api')).toBeUndefined();
    expect(parseInstanceKey(DEFAULT_ETCD_PREFIX, '/beacon/v1/instances/api/x/y')).toBeUndefined();
    expect(parseInstanceKey(DEFAULT_ETCD_PREFIX, '/beacon/v1/instances/api/')).toBeUndefined();
    expect(parseInstanceKey(DEFAULT_ETCD_PREFIX, '/beacon/v1/instances/api/%E0%A4%A')).toBeUndefined();
  });
});

describe('etcd values', () => {
  it('round-trips a record', () => {
    const r = record({ note: 'ok', maintenance: true, maintenanceReason: 'upgrade' }, { tags: ['v2'], metadata: { a: 'b' }, check: { type: 'http', url: 'http://x/' } });
    expect(decodeInstanceValue('k', encodeRecord(r), { service: 'api', id: 'api-1' })).toEqual(r);
  });

  it('refuses values that are not records, or that do not belong under their key', () => {
    const where = { service: 'api', id: 'api-1' };
    const bad = [
      'not json',
      '[]',
      JSON.stringify({ ...record(), spec: undefined }),
      JSON.stringify(record({ service: 'web' })),
      encodeRecord(record({}, { id: 'api-2' })),
      JSON.stringify({ ...record(), health: 'great' }),
      JSON.stringify({ ...record(), lastHeartbeat: 'yesterday' }),
      JSON.stringify({ ...record(), spec: { ...record().spec, port: '80' } }),
      // Checked field by field by the same decoder as SQLite rows, not only the fields etcd's keys need.
      JSON.stringify({ ...record(), spec: { ...record().spec, tags: [7] } }),
      JSON.stringify({ ...record(), spec: { ...record().spec, metadata: { a: 1 } } }),
      JSON.stringify({ ...record(), spec: { ...record().spec, weight: undefined } }),
      JSON.stringify({ ...record(), spec: { ...record().spec, check: { type: 'exec' } } }),
    ];
    for (const value of bad) {
      let caught: unknown;
      try {
        decodeInstanceValue('k', value, where);
      } catch (error) {
        caught = error;
      }
      expect(hasErrorCode(caught, 'STORE_CORRUPT'), value).toBe(true);
    }
  });
});

describe('lease TTL', () => {
  it("uses the instance's TTL rounded up to whole seconds", () => {
    expect(leaseTtlSeconds(record({}, { ttlMs: 5_000 }), 30_000, 10_000)).toBe(5);
    expect(leaseTtlSeconds(record({}, { ttlMs: 5_001 }), 30_000, 10_000)).toBe(6);
    expect(leaseTtlSeconds(record(), 30_000, 10_000)).toBe(30);
    expect(leaseTtlSeconds(record({}, { ttlMs: 5_000, check: { type: 'ttl', ttlMs: 7_000 } }), 30_000, 10_000)).toBe(5);
    expect(leaseTtlSeconds(record({}, { check: { type: 'ttl', ttlMs: 7_000 } }), 30_000, 10_000)).toBe(7);
  });

  it("never asks for less than etcd's minimum lease TTL", () => {
    expect(leaseTtlSeconds(record({}, { ttlMs: 100 }), 30_000, 10_000)).toBe(MIN_LEASE_TTL_SECONDS);
  });

  it('gives actively checked instances the owner-renewed lease TTL', () => {
    expect(leaseTtlSeconds(record({}, { ttlMs: 5_000, check: { type: 'tcp', port: 80 } }), 30_000, 12_000)).toBe(12);
    expect(leaseTtlSeconds(record({}, { check: { type: 'http', url: 'http://x/' } }), 30_000, 9_500)).toBe(10);
  });
});
