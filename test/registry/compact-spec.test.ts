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

  it('is what the registry stores: records read back equal to what was registered', () => {
    const registry = new ServiceRegistry();
    for (const input of inputs) registry.register('web', input);
    for (const input of inputs) expect(registry.get('web', input.id)?.spec).toStrictEqual(validateInstance(input));
  });
});
