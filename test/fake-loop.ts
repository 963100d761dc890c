/** A fake event loop for turn-bounded code (loop-turn.ts, control/turn-pacer.ts): time moves by hand. */
import type { TurnClock } from '../src/loop-turn.js';

/** A clock whose time moves by hand and whose immediates run when `checkPhase()` is called. */
export class FakeLoop implements TurnClock {
  time = 0;
  /** Immediates waiting for the next check phase. */
  queued: (() => void)[] = [];
  now(): number {
    return this.time;
  }
  immediate(fn: () => void): void {
    this.queued.push(fn);
  }
  /** Run the immediates queued before this check phase; ones they queue wait for the next. */
  checkPhase(): void {
    const due = this.queued;
    this.queued = [];
    for (const fn of due) fn();
  }
}
