import { describe, expect, it } from 'vitest';
import { validateInstance, validateInstanceId, validateMetadata } from '../../src/registry/validate.js';

/** The error a call throws (fails the test when it throws none). */
function thrown(call: () => unknown): Error & { code?: string; field?: string } {
  try {
    call();
  } catch (error) {
    return error as Error & { code?: string; field?: string };
  }
  throw new Error('expected an error');
}

describe('validateInstanceId', () => {
  it('accepts printable ASCII ids up to 63 characters and returns them unchanged', () => {
    expect(validateInstanceId('a'.repeat(63))).toBe('a'.repeat(63));
    expect(validateInstanceId('web 1.example (v2) ~')).toBe('web 1.example (v2) ~');
  });

  it('refuses 64 ASCII octets with the octet count in the message', () => {
    const error = thrown(() => validateInstanceId('a'.repeat(64)));
    expect(error.message).toBe('instance id is 64 octets; a DNS label holds at most 63');
    expect(error.code).toBe('INVALID_ARGUMENT');
  });

  it('counts UTF-8 octets, not characters, for non-ASCII ids', () => {
    expect(validateInstanceId('é'.repeat(31))).toBe('é'.repeat(31)); // 62 octets
    expect(thrown(() => validateInstanceId('é'.repeat(32))).message).toBe('instance id is 64 octets; a DNS label holds at most 63');
  });

  it('refuses control characters (ASCII and DEL) and ids not in NFC', () => {
    expect(thrown(() => validateInstanceId('a\tb')).message).toBe('instance id must not contain control characters');
    expect(thrown(() => validateInstanceId('a\u007fb')).message).toBe('instance id must not contain control characters');
    expect(thrown(() => validateInstanceId('e\u0301')).message).toBe('instance id must be in Unicode NFC form (RFC 6763 §4.1.3)');
  });
});

describe('validateMetadata', () => {
  it('sizes key=value in octets: 255 fit one TXT string, 256 do not', () => {
    expect(validateMetadata({ k: 'v'.repeat(253) })).toEqual({ k: 'v'.repeat(253) });
    expect(thrown(() => validateMetadata({ k: 'é'.repeat(127) })).message).toBe('metadata "k" is 256 octets as key=value; one TXT string holds 255');
  });
});

describe('validateInstance', () => {
  it('builds a frozen spec with defaults, in the spec key order, optional fields only when given', () => {
    const spec = validateInstance({ id: 'a', address: '10.0.0.1', port: 80 });
    expect(Object.keys(spec)).toEqual(['id', 'address', 'port', 'tags', 'metadata', 'weight', 'priority', 'protocol']);
    expect(spec).toEqual({ id: 'a', address: '10.0.0.1', port: 80, tags: [], metadata: {}, weight: 1, priority: 0, protocol: 'tcp' });
    expect(Object.isFrozen(spec) && Object.isFrozen(spec.tags) && Object.isFrozen(spec.metadata)).toBe(true);
  });

  it('keeps host, ttlMs and check after the required fields, normalised', () => {
    const spec = validateInstance({ id: 'a', address: 'Db.Example', port: 80, host: 'Web.Example.', ttlMs: 5000, check: { type: 'ttl', ttlMs: 1000 } });
    expect(Object.keys(spec)).toEqual(['id', 'address', 'port', 'tags', 'metadata', 'weight', 'priority', 'protocol', 'host', 'ttlMs', 'check']);
    expect(spec).toMatchObject({ address: 'db.example', host: 'web.example', ttlMs: 5000, check: { type: 'ttl', ttlMs: 1000 } });
    expect(JSON.stringify(validateInstance({ id: 'a', address: '10.0.0.1', port: 80, host: undefined, ttlMs: undefined, check: undefined }))).not.toContain('host');
  });

  it('reports the first bad field in the same order as before: protocol, host, ttlMs, then id, address, port', () => {
    expect(thrown(() => validateInstance({ id: '', address: '', port: 0, protocol: 'sctp' as 'tcp' })).field).toBe('protocol');
    expect(thrown(() => validateInstance({ id: '', address: '', port: 0, host: '-bad-' })).field).toBe('host');
    expect(thrown(() => validateInstance({ id: '', address: '', port: 0, ttlMs: 0 })).field).toBe('ttlMs');
    expect(thrown(() => validateInstance({ id: '', address: '', port: 0 })).field).toBe('id');
    expect(thrown(() => validateInstance({ id: 'a', address: '', port: 0 })).field).toBe('address');
    expect(thrown(() => validateInstance({ id: 'a', address: '10.0.0.1', port: 0 })).field).toBe('port');
    expect(thrown(() => validateInstance({ id: 'a', address: '10.0.0.1', port: 1, weight: -1, check: { type: 'nope' } as never })).field).toBe('weight');
    expect(thrown(() => validateInstance({ id: 'a', address: '10.0.0.1', port: 1, check: { type: 'nope' } as never })).field).toBe('check.type');
  });
});
