import { describe, expect, it } from 'vitest';
import { durableCopy, durableLabel, durableName } from '../../src/dns/durable.js';
import { joinNames, nameFromLabels, namesEqual, parseName } from '../../src/dns/name.js';
import { parseAddress } from '../../src/dns/ip.js';

describe('durable octets', () => {
  it('copies into memory of their own, never into the shared allocation pool', () => {
    const pooled = Buffer.from([10, 0, 0, 1]);
    const copy = durableCopy(pooled);
    expect(copy.equals(pooled)).toBe(true);
    expect(copy.buffer).not.toBe(pooled.buffer);
    expect(copy.buffer.byteLength).not.toBe(Buffer.poolSize);
    expect(durableLabel('node-01').buffer).toBe(copy.buffer); // durable octets share slabs among themselves
  });

  it('builds the same name as nameFromLabels + joinNames, and rejects the same bad labels', () => {
    const domain = parseName('example.com.');
    expect(namesEqual(durableName(['_api', '_tcp'], domain), joinNames(nameFromLabels(['_api', '_tcp']), domain))).toBe(true);
    expect(durableLabel('été').equals(Buffer.from('été', 'utf8'))).toBe(true);
    expect(() => durableName(['x'.repeat(64)], domain)).toThrow(/63/);
    expect(() => durableName([''], domain)).toThrow();
  });

  it('keeps memoised addresses out of the allocation pool', () => {
    const parsed = parseAddress('192.0.2.77');
    expect([...(parsed?.octets ?? [])]).toEqual([192, 0, 2, 77]);
    expect(parsed?.octets.buffer.byteLength).not.toBe(Buffer.poolSize);
  });
});
