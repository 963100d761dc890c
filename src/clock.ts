/** Injectable time source. Everything that reasons about time takes a Clock, so tests use fake timers. */
export interface Clock {
  /** Milliseconds since the epoch (like Date.now()). */
  now(): number;
}

/** The real clock. It reads Date.now() on every call, so vitest's fake timers control it too. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock moved by hand, for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}
  /** Current time in ms. */
  now(): number {
    return this.current;
  }
  /** Move time forward by `ms` (negative moves are refused: time never runs backwards). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('time cannot go backwards');
    this.current += ms;
  }
  /** Jump to an absolute time (not earlier than now). */
  set(ms: number): void {
    this.advance(ms - this.current);
  }
}
