/**
 * The SOA serial of the DNS-SD zone: it grows with every change the zone sees (docs/ARCHITECTURE.md, "SOA
 * serial"). A change publishes `serial = max(previous + 1, unix time)` compared in RFC 1982 serial
 * arithmetic. Unix-time serials keep nodes that share a store roughly aligned and keep a restarted process
 * ahead of what it served before even without persisted state; `previous + 1` keeps the serial growing when
 * many changes fall in one second or the clock steps back. A process adopting serials published elsewhere
 * (a DNS worker, fed by the daemon) uses `adopt`, never `bump`.
 */

/** What the DNS layer reads the serial through. */
export interface SerialSource {
  /** The serial to publish now. */
  readonly current: number;
}

/** A serial that tells when it moves (what the response cache follows). */
export interface SerialFeed extends SerialSource {
  /** Be told of every move; returns the unsubscribe function. */
  onChange(listener: (serial: number) => void): () => void;
}

const MOD = 2 ** 32;
const HALF = 2 ** 31;

/** RFC 1982 §3.2: whether serial `a` is greater than serial `b` (both in 0..2^32-1). */
export function serialGreater(a: number, b: number): boolean {
  return (a < b && b - a > HALF) || (a > b && a - b < HALF);
}

/** RFC 1982 §3.1: `serial + n` for 0 <= n <= 2^31 - 1. */
export function serialAdd(serial: number, n: number): number {
  return (serial + n) % MOD;
}

/** The serial a change publishes after `previous` at unix time `nowSeconds`: max(previous + 1, now) in RFC 1982 terms. */
export function nextSerial(previous: number, nowSeconds: number): number {
  const step = serialAdd(previous, 1);
  const now = Math.floor(nowSeconds) % MOD;
  return serialGreater(now, step) ? now : step;
}

/** Unix time in seconds from the system clock. */
const systemSeconds = (): number => Math.floor(Date.now() / 1000);

/** The zone's serial: bumped per change (or adopted from the publisher), with listeners told of each move. */
export class ZoneSerial implements SerialFeed {
  private value: number;
  private readonly listeners = new Set<(serial: number) => void>();

  /** Start at exactly `initial` (a worker taking its daemon's serial); `startAfter` for a publisher. */
  constructor(initial: number, private readonly nowSeconds: () => number = systemSeconds) {
    this.value = Math.floor(initial) % MOD;
  }

  /**
   * A publisher's serial, starting after `last` (the last serial published before a restart, when known):
   * max(last + 1, now), or now without one.
   */
  static startAfter(last: number | undefined, nowSeconds: () => number = systemSeconds): ZoneSerial {
    const now = nowSeconds();
    return new ZoneSerial(last === undefined ? Math.floor(now) % MOD : nextSerial(last, now), nowSeconds);
  }

  /** The serial published now. */
  get current(): number {
    return this.value;
  }

  /** A change was published: move to max(current + 1, now) and tell the listeners. Returns the new serial. */
  bump(): number {
    this.value = nextSerial(this.value, this.nowSeconds());
    this.notify();
    return this.value;
  }

  /** Take a serial published by another process when it is greater (RFC 1982); returns whether it moved. */
  adopt(serial: number): boolean {
    if (!serialGreater(serial, this.value)) return false;
    this.value = serial;
    this.notify();
    return true;
  }

  /** Be told of every move (the response cache drops its SOA-bearing answers); returns the unsubscribe function. */
  onChange(listener: (serial: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener(this.value);
  }
}
