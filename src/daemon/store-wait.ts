/**
 * Opening the store at start when it does not answer yet (etcd starting alongside Beacon, a member down):
 * keep trying with backoff (100 ms doubling to 5 s) and a log line per attempt, rather than exit, and give
 * up only after `--store-wait` when it is set. DNS and the API start once the registry is loaded.
 */
import { StoreUnavailableError, hasErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

/** Options of openWhenReachable. */
export interface StoreWaitOptions {
  readonly log: Logger;
  /** Give up after this long (ms); undefined: keep trying. */
  readonly waitMs?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly now?: () => number;
}

/** Run `open` until it succeeds; retries STORE_UNAVAILABLE only (a corrupt store is not waited for). */
export async function openWhenReachable<T>(open: () => Promise<T>, options: StoreWaitOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const started = now();
  let delay = options.initialDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      const opened = await open();
      if (attempt > 1) options.log.info({ attempts: attempt, waitedMs: now() - started }, 'store reachable: registry loaded');
      return opened;
    } catch (error) {
      if (!hasErrorCode(error, 'STORE_UNAVAILABLE')) throw error;
      const waited = now() - started;
      if (options.waitMs !== undefined && waited + delay > options.waitMs) {
        throw new StoreUnavailableError(`store did not answer within ${options.waitMs} ms (--store-wait): ${error.message}`, { cause: error });
      }
      options.log.warn({ attempt, retryInMs: delay, waitedMs: waited, error: error.message }, 'store not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(options.maxDelayMs ?? 5_000, delay * 2);
    }
  }
}
