/**
 * Control requests in bounded slices of the event loop (docs/ARCHITECTURE.md, "DNS first"). In one poll
 * phase the loop hands over every connection that has data: with fifty clients registering at once, fifty
 * requests are handled back to back, and the turn lasts as long as all of them together, while DNS (on the
 * same loop) and every timer wait. The pacer lets a turn start requests for `budgetMs`; the rest wait in
 * arrival order and resume after the loop has polled again, a slice of `budgetMs` per turn, so a turn's
 * length is bounded by the slice plus what the slice's requests finish, however many clients send at once.
 *
 * Turns are told apart by immediates: one queued while requests are handled runs once the poll phase is
 * over (the check phase of the same turn); one queued from the check phase runs in the next turn, after its
 * poll phase. So waiting requests resume two immediates later: after the loop has polled, and answered DNS.
 *
 * With a `turn` (loop-turn.ts) a request also waits once the turn's budget is spent, whatever the
 * slice: the turn may already have answered DNS and applied mutations. A resume always starts at least one
 * request, so the queue moves however busy the turns are.
 */
import { NODE_TURN_CLOCK, type TurnBudget, type TurnClock } from '../loop-turn.js';

/** What the pacer needs of the clock and the loop (tests pass fakes): the turn clock of loop-turn.ts. */
export type PacerClock = TurnClock;

/** Time per turn in which requests are started; default 1 ms. */
export const DEFAULT_TURN_BUDGET_MS = 1;

/** Admits work into turns of the event loop; see the module comment. */
export class TurnPacer {
  /** When the current turn's slice started; -1 between turns. */
  private sliceStart = -1;
  private readonly waiting: (() => void)[] = [];
  private resumeScheduled = false;
  private deferredCount = 0;

  constructor(
    private readonly budgetMs = DEFAULT_TURN_BUDGET_MS,
    private readonly clock: PacerClock = NODE_TURN_CLOCK,
    private readonly turn?: TurnBudget,
  ) {}

  /** Run `work` now if this turn's slice has room and nothing waits before it, else in a later turn. */
  admit(work: () => void): void {
    if (this.waiting.length === 0 && this.hasRoom()) {
      work();
      return;
    }
    this.waiting.push(work);
    this.deferredCount++;
    this.scheduleResume();
  }

  /** Work admitted to a later turn than the one it arrived in, since start. */
  get deferred(): number {
    return this.deferredCount;
  }

  /** Work waiting now. */
  get queued(): number {
    return this.waiting.length;
  }

  private hasRoom(): boolean {
    if (this.turn !== undefined && this.turn.remainingMs() <= 0) return false;
    const now = this.clock.now();
    if (this.sliceStart < 0) {
      this.startSlice(now);
      return true;
    }
    return now - this.sliceStart < this.budgetMs;
  }

  private startSlice(now: number): void {
    this.sliceStart = now;
    // The slice ends with this turn's poll phase (or with the check phase that resumed waiting work).
    this.clock.immediate(this.endSlice);
  }

  private readonly endSlice = (): void => {
    this.sliceStart = -1;
  };

  private scheduleResume(): void {
    if (this.resumeScheduled) return;
    this.resumeScheduled = true;
    // Two hops: the first immediate runs after this poll phase, the one it queues after the next.
    this.clock.immediate(() => this.clock.immediate(this.resume));
  }

  private readonly resume = (): void => {
    this.resumeScheduled = false;
    this.startSlice(this.clock.now());
    try {
      let started = 0;
      while (this.waiting.length > 0 && this.clock.now() - this.sliceStart < this.budgetMs && (started === 0 || this.turn === undefined || this.turn.remainingMs() > 0)) {
        const work = this.waiting.shift() as () => void;
        started++;
        work();
      }
    } finally {
      // Work that threw must not strand the rest of the queue.
      if (this.waiting.length > 0) this.scheduleResume();
    }
  };
}
