/**
 * The SOA serial of the DNS-SD zone: it grows with every change the zone sees (docs/ARCHITECTURE.md, "SOA
 * serial"). A change publishes `serial = max(previous + 1, unix time)` compared in RFC 1982 serial
 * arithmetic. Unix-time serials keep nodes that share a store roughly aligned and keep a restarted process
 * ahead of what it served before even without persisted state; `previous + 1` keeps the serial growing when
 * many changes fall in one second or the clock steps back. A process adopting serials published elsewhere
 * (a DNS worker, fed by the daemon) uses `adopt`, never `bump`.
 *
 * What must hold is that a client that read the SOA before a change reads a greater serial after it. So a
 * change needs a new serial only if the current one went out in an answer since it was published
 * (`observe`): `changed` moves it then and otherwise keeps it, which also spares the cache an invalidation
 * that would drop nothing. Many changes between two answers cost one step, and the serial stays close to
 * unix time under heavy churn.
 */

/** What the DNS layer reads the serial through. */
export interface SerialSource {
  /** The serial an answer carries now; the source notes that it went out. */
  observe(): number;
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
  /** Whether `value` went out in an answer (or may have: a start, an adopted serial). */
  private observed = true;
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

  /** The serial published now (reading it here is not an answer: see `observe`). */
  get current(): number {
    return this.value;
  }

  /** The serial an answer carries: from now on a change must move it. */
  observe(): number {
    this.observed = true;
    return this.value;
  }

  /** The zone changed: move the serial if an answer carried it since it was published. Returns the serial. */
  changed(): number {
    return this.observed ? this.bump() : this.value;
  }

  /** Move to max(current + 1, now) whether or not it went out, and tell the listeners. Returns the new serial. */
  bump(): number {
    this.value = nextSerial(this.value, this.nowSeconds());
    this.observed = false;
    this.notify();
    return this.value;
  }

  /** Take a serial published by another process when it is greater (RFC 1982); returns whether it moved. */
  adopt(serial: number): boolean {
    if (!serialGreater(serial, this.value)) return false;
    this.value = serial;
    this.observed = true;
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
