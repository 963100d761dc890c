import { describe, expect, it } from 'vitest';
import { InstanceNotFoundError, StoreUnavailableError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { SharedStore, StoreEvent, StoreSnapshot, StoreWrite } from '../../src/store/store.js';
import { defineLocalStoreContract, defineSharedStoreContract, defineZoneDataContract } from './contract.js';
import { makeRecord } from './fixtures.js';

const memoryHarness = async () => {
  let current = new MemoryStore();
  return {
    store: current,
    // A restarted memory store only remembers what we hand it: the previous store's state.
    reopen: async () => (current = new MemoryStore(current.snapshot(), current.zoneSnapshot())),
    cleanup: async () => {},
  };
};
defineLocalStoreContract('memory', memoryHarness);
defineZoneDataContract('memory', 'local', memoryHarness);

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

/** Several clients over one MemoryStore; `owners` says which client created each instance (service/id). */
interface Hub {
  readonly data: MemoryStore;
  readonly clients: Set<SharedMemoryClient>;
  readonly owners: Map<string, SharedMemoryClient>;
}

/** A toy shared backend: each write fanned out on a later turn; the creator of an instance owns it. */
class SharedMemoryClient implements SharedStore {
  readonly kind = 'shared-memory';
  readonly shared = true;
  private closed = false;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  constructor(private readonly hub: Hub) {
    hub.clients.add(this);
  }
  load(): Promise<StoreSnapshot> {
    return this.hub.data.load();
  }
  async write(change: StoreWrite): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('closed');
    await this.hub.data.write(change);
    const key = change.kind === 'put' ? `${change.record.service}/${change.record.spec.id}` : `${change.service}/${change.id}`;
    if (change.kind === 'delete') this.hub.owners.delete(key);
    else if (!this.hub.owners.has(key)) this.hub.owners.set(key, this);
    for (const client of this.hub.clients) client.deliver(change);
  }
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async keepAlive(service: string, id: string): Promise<void> {
    if (!this.hub.data.snapshot().records.some((r) => r.service === service && r.spec.id === id)) throw new InstanceNotFoundError(service, id);
  }
  isOwner(service: string, id: string): boolean {
    return this.hub.owners.get(`${service}/${id}`) === this;
  }
  async close(): Promise<void> {
    this.closed = true;
    this.hub.clients.delete(this);
  }
  private deliver(event: StoreEvent): void {
    const copy = JSON.parse(JSON.stringify(event)) as StoreEvent;
    setImmediate(() => this.listeners.forEach((listener) => listener(copy)));
  }
}

// Proves the shared part of the contract on a toy backend before etcd relies on it.
defineSharedStoreContract('shared memory (toy)', async () => {
  const hub: Hub = { data: new MemoryStore(), clients: new Set(), owners: new Map() };
  return { store: new SharedMemoryClient(hub), reopen: async () => new SharedMemoryClient(hub), cleanup: async () => {} };
});
