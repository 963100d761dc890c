import { describe, expect, it } from 'vitest';
import { compactSpec } from '../../src/registry/compact-spec.js';
import { validateInstance } from '../../src/registry/validate.js';
import { ServiceInstance, ServiceRegistry } from '../../src/index.js';

describe('compactSpec', () => {
  const inputs = [
    new ServiceInstance('a', '10.0.0.1', 80).withTags(['primary', 'v1']).withMetadata('k', 'v'),
    new ServiceInstance('b', '10.0.0.2', 81),
    new ServiceInstance('c', '10.0.0.3', 82).withHost('web-3.example').withWeight(5).withPriority(2),
    new ServiceInstance('d', 'db.example', 83).withTtl(5_000).withTags(['x']),
    new ServiceInstance('e', '10.0.0.5', 84).withCheck({ type: 'http', url: 'http://10.0.0.5/health' }).withProtocol('udp'),
  ];

  it('keeps every field, their order and absences, and stays frozen', () => {
    for (const input of inputs) {
      const spec = validateInstance(input);
      const compact = compactSpec(spec);
      expect(compact).toStrictEqual(spec);
      expect(JSON.stringify(compact)).toBe(JSON.stringify(spec));
      expect(Object.keys(compact)).toEqual(Object.keys(spec));
      expect(Object.isFrozen(compact)).toBe(true);
      expect(Object.isFrozen(compact.tags)).toBe(true);
      if (spec.tags.length > 0) expect(compact.tags).not.toBe(spec.tags); // a copy of exactly its length
    }
  });

  it('shares one frozen tag list between specs with equal tags, and only between those', () => {
    const tagged = (id: string, tags: string[]) => compactSpec(validateInstance(new ServiceInstance(id, '10.0.0.9', 80).withTags(tags)));
    const first = tagged('p', ['primary', 'v1']);
    const second = tagged('q', ['primary', 'v1']);
    expect(second.tags).toBe(first.tags);
    expect(tagged('r', ['v1', 'primary']).tags).not.toBe(first.tags); // order is part of the list
    expect(tagged('s', ['primary']).tags).not.toBe(first.tags);
    expect(tagged('t', ['primary']).tags).toEqual(['primary']);
    // A single tag and a two-tag list whose join could look alike never share: tags hold no control characters.
    expect(tagged('u', ['a', 'b']).tags).toEqual(['a', 'b']);
    expect(tagged('v', ['a']).tags).toEqual(['a']);
    expect(() => tagged('w', ['a\u0000b'])).toThrow(/control characters/);
  });

  it('is what the registry stores: records read back equal to what was registered', () => {
    const registry = new ServiceRegistry();
    for (const input of inputs) registry.register('web', input);
    for (const input of inputs) expect(registry.get('web', input.id)?.spec).toStrictEqual(validateInstance(input));
  });
});
