import { describe, expect, it } from 'vitest';
import { InstanceTable } from '../../src/registry/instance-table.js';
import { ServiceInstance, ServiceRegistry, seededRandom } from '../../src/index.js';
import { foldAscii } from '../../src/ascii.js';
import { makeRecord } from '../store/fixtures.js';

describe('InstanceTable folded-id index', () => {
  it('finds the id holding a DNS name whatever its ASCII case, and frees the name on delete', () => {
    const table = new InstanceTable();
    table.set(makeRecord('ipp', 'Printer. Floor 2'));
    expect(table.idFolding('ipp', 'printer. FLOOR 2')).toBe('Printer. Floor 2');
    expect(table.idFolding('ipp', 'Printer. Floor 2')).toBe('Printer. Floor 2');
    expect(table.idFolding('ipp', 'Printer. Floor 3')).toBeUndefined();
    expect(table.idFolding('web', 'printer. floor 2')).toBeUndefined();
    table.set(makeRecord('ipp', 'other'));
    expect(table.delete('ipp', 'Printer. Floor 2')).toBe(false);
    expect(table.idFolding('ipp', 'printer. floor 2')).toBeUndefined();
    expect(table.delete('ipp', 'other')).toBe(true); // the service became empty
    expect([...table.serviceNames()]).toEqual([]);
  });

  it('names a service it holds as its first record did, and any other as asked, also once it emptied', () => {
    const table = new InstanceTable();
    expect(table.name('web')).toBe('web');
    table.set(makeRecord('web', 'a'));
    table.set(makeRecord('api', 'b'));
    expect(table.name('web')).toBe('web');
    expect(table.name('api')).toBe('api');
    expect(table.name('db')).toBe('db');
    table.delete('web', 'a');
    expect(table.name('web')).toBe('web');
    expect([...table.serviceNames()]).toEqual(['api']);
  });

  it('folds ASCII letters only (RFC 4343 §3): non-ASCII letters in ids are distinct names', () => {
    const table = new InstanceTable();
    table.set(makeRecord('ipp', 'Café'));
    expect(table.idFolding('ipp', 'CAFé')).toBe('Café');
    expect(table.idFolding('ipp', 'CAFÉ')).toBeUndefined();
  });

  it('keeps synced ids that share one fold findable after either is removed', () => {
    const table = new InstanceTable();
    table.set(makeRecord('api', 'A'));
    table.set(makeRecord('api', 'a')); // only a shared store's sync can bring such a pair
    table.set(makeRecord('api', 'b'));
    expect(table.delete('api', 'A')).toBe(false);
    expect(table.idFolding('api', 'A')).toBe('a');
    table.set(makeRecord('api', 'A'));
    expect(table.delete('api', 'A')).toBe(false);
    expect(table.idFolding('api', 'A')).toBe('a');
    expect(table.delete('api', 'a')).toBe(false);
    expect(table.idFolding('api', 'A')).toBeUndefined();
  });
});

describe('InstanceTable folded-id index against a scan', () => {
  it('finds the id itself, else the earliest registered id under its fold, under random synced sets and deletes', () => {
    const ids = ['a', 'A', 'b', 'B', 'ab', 'Ab', 'aB', 'AB', 'c'];
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const table = new InstanceTable();
      const order: string[] = []; // the ids registered, in registration order
      for (let step = 0; step < 2_000; step++) {
        const id = ids[Math.floor(random() * ids.length)]!;
        if (random() < 0.6) {
          table.set(makeRecord('api', id));
          if (!order.includes(id)) order.push(id);
        } else {
          table.delete('api', id);
          if (order.includes(id)) order.splice(order.indexOf(id), 1);
        }
        for (const asked of [...ids, 'C', 'x']) {
          const expected = order.includes(asked) ? asked : order.find((other) => foldAscii(other) === foldAscii(asked));
          expect(table.idFolding('api', asked), `seed ${seed} step ${step} ${asked}`).toBe(expected);
        }
      }
    }
  });
});

describe('name conflicts in a large service', () => {
  it('refuses a case-variant of any of 5,000 ids and accepts re-registration of the id itself', () => {
    const registry = new ServiceRegistry();
    for (let i = 0; i < 5_000; i++) registry.register('big', new ServiceInstance(`Node-${i}`, '10.0.0.1', 80));
    expect(() => registry.register('big', new ServiceInstance('node-4321', '10.0.0.2', 80))).toThrow(/differs only in letter case from "Node-4321"/);
    expect(() => registry.register('big', new ServiceInstance('Node-4321', '10.0.0.2', 81))).not.toThrow();
    expect(registry.getFolded('big', 'NODE-4321')?.spec.port).toBe(81);
    registry.deregister('big', 'Node-4321');
    expect(() => registry.register('big', new ServiceInstance('node-4321', '10.0.0.2', 80))).not.toThrow();
  });
});
