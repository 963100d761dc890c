import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.js';
import { defineStoreContract } from './contract.js';
import { makeRecord } from './fixtures.js';

defineStoreContract('memory', async () => {
  let current = new MemoryStore();
  return {
    store: current,
    // A restarted memory store only remembers what we hand it: the previous store's state.
    reopen: async () => (current = new MemoryStore(current.snapshot())),
    cleanup: async () => {},
  };
});

describe('MemoryStore', () => {
  it('starts from an initial snapshot', async () => {
    const record = makeRecord('api', 'a');
    const store = new MemoryStore({ index: 7, records: [record] });
    expect(await store.load()).toEqual({ index: 7, records: [record] });
  });

  it('applies a batch of writes', async () => {
    const store = new MemoryStore();
    await store.writeBatch([
      { kind: 'put', index: 1, record: makeRecord('api', 'a') },
      { kind: 'put', index: 2, record: makeRecord('api', 'b') },
      { kind: 'delete', index: 3, service: 'api', id: 'a' },
    ]);
    const loaded = await store.load();
    expect(loaded.index).toBe(3);
    expect(loaded.records.map((r) => r.spec.id)).toEqual(['b']);
  });
});
