/**
 * The change feed behind `watch`: a bounded ring of recent change events (compact form) and waiters for
 * long-polls (`?index=N&wait=30s`, Consul-style blocking queries) and server-sent-event streams.
 */
import type { ChangeEvent, ChangeListener } from '../registry/mutations.js';
import type { HealthStatus } from '../registry/types.js';

/** A change as clients see it. */
export interface WatchEvent {
  readonly index: number;
  /** The mutation kind (`register`, `deregister`, `heartbeat`, `set-health`, `set-maintenance`, `sync`). */
  readonly type: string;
  readonly service: string;
  readonly id: string;
  /** Health after the change; absent when the instance is gone. */
  readonly health?: HealthStatus;
  readonly maintenance?: boolean;
  /** True when the instance no longer exists. */
  readonly removed: boolean;
}

/** Answer to "what changed since index N". `reset` means N is older than the retained history: re-read everything. */
export interface WatchResult {
  readonly index: number;
  readonly events: readonly WatchEvent[];
  readonly reset: boolean;
}

/** The compact client form of a change event. */
export function toWatchEvent(event: ChangeEvent): WatchEvent {
  return {
    index: event.index,
    type: event.mutation.type,
    service: event.service,
    id: event.id,
    ...(event.after ? { health: event.after.health, maintenance: event.after.maintenance } : {}),
    removed: event.after === undefined,
  };
}

/** What the feed subscribes to. */
export interface ChangeSource {
  readonly index: number;
  onChange(listener: ChangeListener): () => void;
}

/** Recent change history plus waiters. */
export class ChangeFeed {
  /**
   * The last `capacity` events, circular: `ring[(start + i) % ring.length]` is the i-th oldest. A full
   * ring overwrites its oldest slot, so a change costs the same however long the history (an array trimmed
   * with splice would move all 4,096 events on every change of a registration burst).
   */
  private readonly ring: WatchEvent[] = [];
  private start = 0;
  private readonly waiters = new Set<() => void>();
  private readonly streams = new Set<(event: WatchEvent) => void>();
  private readonly unsubscribe: () => void;
  private closed = false;

  private readonly capacity: number;

  constructor(private readonly source: ChangeSource, capacity = 4096) {
    this.capacity = Math.max(1, capacity);
    this.unsubscribe = source.onChange((event) => this.push(toWatchEvent(event)));
  }

  /** The current change index. */
  get index(): number {
    return this.source.index;
  }

  /** Events after `index`, or `reset` when some of them are no longer retained. */
  since(index: number): WatchResult {
    const current = this.source.index;
    if (index >= current) return { index: current, events: [], reset: false };
    const oldest = this.ring[this.start]?.index;
    if (oldest === undefined || oldest > index + 1) return { index: current, events: [], reset: true };
    return { index: current, events: this.after(index), reset: false };
  }

  /** Resolve once the index passes `index`, after `waitMs`, on `signal` abort, or on close: whichever first. */
  async wait(index: number, waitMs: number, signal?: AbortSignal): Promise<WatchResult> {
    if (this.source.index <= index && !this.closed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        this.waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    return this.since(index);
  }

  /** Stream every future event to `listener`; returns the unsubscribe function. */
  stream(listener: (event: WatchEvent) => void): () => void {
    this.streams.add(listener);
    return () => this.streams.delete(listener);
  }

  /** Number of open long-polls and streams. */
  get watchers(): number {
    return this.waiters.size + this.streams.size;
  }

  /** Release every waiter (shutdown). */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const done of [...this.waiters]) done();
    this.streams.clear();
  }

  /** Retained events with an index above `index`, oldest first. */
  private after(index: number): WatchEvent[] {
    const { ring, start } = this;
    const out: WatchEvent[] = [];
    for (let i = 0; i < ring.length; i++) {
      const event = ring[(start + i) % ring.length]!;
      if (event.index > index) out.push(event);
    }
    return out;
  }

  private push(event: WatchEvent): void {
    if (this.ring.length < this.capacity) this.ring.push(event);
    else {
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
    }
    if (this.waiters.size > 0) for (const done of [...this.waiters]) done();
    for (const listener of this.streams) listener(event);
  }
}
