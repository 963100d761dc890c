/**
 * A store seen through an observer of its writes: the same object for every other purpose (a Proxy, so
 * LocalStore and SharedStore keep their whole contract), with each `write`, `writeBatch` and `writeZone`
 * outcome reported. The daemon uses it to log store failures once per episode (store-episodes.ts) and to say
 * in `/health` that writes are failing, without the write path knowing about either.
 */
import type { Store } from './store.js';

/** Told the outcome of every store write. Must not throw. */
export interface WriteObserver {
  succeeded(): void;
  failed(error: unknown): void;
}

const OBSERVED = new Set<PropertyKey>(['write', 'writeBatch', 'writeZone']);

/** `store`, with its writes reported to `observer`. */
export function observeWrites<S extends Store>(store: S, observer: WriteObserver): S {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!OBSERVED.has(property)) return method.bind(target);
      return async (...args: unknown[]) => {
        try {
          const result = await method.apply(target, args);
          observer.succeeded();
          return result;
        } catch (error) {
          observer.failed(error);
          throw error;
        }
      };
    },
  });
}
