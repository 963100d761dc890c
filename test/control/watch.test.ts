import { describe, expect, it } from 'vitest';
import { ChangeFeed } from '../../src/control/watch.js';
import { ServiceRegistry } from '../../src/registry/registry.js';

describe('ChangeFeed', () => {
  it('returns the events after an index, and a reset when they are no longer kept', () => {
    const registry = new ServiceRegistry();
    const feed = new ChangeFeed(registry, 3);
    for (let i = 0; i < 5; i++) registry.register('api', { id: `i${i}`, address: '10.0.0.1', port: 80 + i });
    expect(feed.since(5)).toEqual({ index: 5, events: [], reset: false });
    expect(feed.since(3).events.map((e) => e.index)).toEqual([4, 5]);
    expect(feed.since(2).events.map((e) => e.index)).toEqual([3, 4, 5]);
    expect(feed.since(1)).toEqual({ index: 5, events: [], reset: true });
    registry.deregister('api', 'i0');
    expect(feed.since(5).events).toEqual([{ index: 6, type: 'deregister', service: 'api', id: 'i0', removed: true }]);
    feed.close();
  });

  it('keeps the newest events in order after the ring has wrapped many times', () => {
    const registry = new ServiceRegistry();
    const feed = new ChangeFeed(registry, 4);
    for (let i = 0; i < 11; i++) registry.register('api', { id: `i${i}`, address: '10.0.0.1', port: 80 + i });
    expect(feed.since(7).events.map((e) => e.index)).toEqual([8, 9, 10, 11]);
    expect(feed.since(9).events.map((e) => e.id)).toEqual(['i9', 'i10']);
    expect(feed.since(6).reset).toBe(true);
    feed.close();
  });

  it('wakes a waiter on the next change and releases every waiter on close', async () => {
    const registry = new ServiceRegistry();
    const feed = new ChangeFeed(registry);
    const waiting = feed.wait(0, 60_000);
    expect(feed.watchers).toBe(1);
    registry.register('api', { id: 'a', address: '10.0.0.1', port: 80 });
    expect((await waiting).events.map((e) => e.id)).toEqual(['a']);
    expect(feed.watchers).toBe(0);
    const stuck = feed.wait(1, 60_000);
    feed.close();
    await expect(stuck).resolves.toEqual({ index: 1, events: [], reset: false });
  });

  it('stops waiting when the client goes away (abort signal)', async () => {
    const registry = new ServiceRegistry();
    const feed = new ChangeFeed(registry);
    const controller = new AbortController();
    const waiting = feed.wait(0, 60_000, controller.signal);
    controller.abort();
    await expect(waiting).resolves.toEqual({ index: 0, events: [], reset: false });
    expect(feed.watchers).toBe(0);
    feed.close();
  });
});
