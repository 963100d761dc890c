/**
 * One turn of the event loop as the work sharing it sees it (docs/ARCHITECTURE.md, "DNS first"). The
 * longest event-loop stall is the longest turn: everything the loop does between two of its timer phases.
 * Under a registration burst a turn holds a batch of DNS queries, control requests, a group commit's
 * mutations and their responses, and DNS answered between them; each is bounded on its own, yet together
 * they made turns of 7-10 ms. A LoopTurn bounds their sum: the first piece of work to run in a turn opens it
 * (under DNS load, the UDP socket's readable event, the first thing the poll phase runs), and work that can
 * wait for the next turn asks `remainingMs()` first.
 *
 * Which turn is which: with the batched UDP addon, its `loopTurns()` counter, moved on by a prepare handle
 * just before each poll, so the whole poll and check phases are one turn. Without it, an immediate queued
 * when the turn opens closes it in the check phase; work that runs after that immediate in the same check
 * phase opens another turn, so a turn there can hold up to two budgets.
 */

/** What a LoopTurn needs of the clock and the loop (tests pass fakes). */
export interface TurnClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Run `fn` in the check phase of this turn (node's setImmediate). */
  immediate(fn: () => void): void;
}

/** node's clock and check phase. */
export const NODE_TURN_CLOCK: TurnClock = { now: () => performance.now(), immediate: (fn) => void setImmediate(fn) };

/** Iterations of the loop so far (the addon's `loopTurns`): equal values, same turn. */
export type TurnCounter = () => number;

/** Time for deferrable work in one turn, from its opening; default of LoopTurn. */
export const DEFAULT_LOOP_TURN_BUDGET_MS = 3;

/** What deferrable work asks of the turn it runs in. */
export interface TurnBudget {
  /** Milliseconds left of this turn's budget (opening the turn if none is open); <= 0: wait for the next turn. */
  remainingMs(): number;
}

/** The current turn of the loop and its budget; see the module comment. */
export class LoopTurn implements TurnBudget {
  /** When the open turn started (clock ms); -1 while none is open. */
  private opened = -1;
  /** The counter's value in the open turn. */
  private turnId = -1;

  constructor(
    /** Time for deferrable work per turn, ms. */
    readonly budgetMs = DEFAULT_LOOP_TURN_BUDGET_MS,
    private readonly clock: TurnClock = NODE_TURN_CLOCK,
    private readonly counter?: TurnCounter,
  ) {
    if (!(budgetMs > 0)) throw new RangeError('budgetMs must be > 0');
  }

  /** Work runs now: open a turn if none is open. */
  touch(): void {
    this.openedAt();
  }

  /** Milliseconds left of this turn's budget; the first call in a turn opens it. */
  remainingMs(): number {
    const now = this.clock.now();
    return this.budgetMs - (now - this.openedAt(now));
  }

  /** When the current turn opened, opening it (at `now`) if it has not. */
  private openedAt(now?: number): number {
    if (this.counter !== undefined) {
      const id = this.counter();
      if (id !== this.turnId) {
        this.turnId = id;
        this.opened = now ?? this.clock.now();
      }
      return this.opened;
    }
    if (this.opened < 0) {
      this.opened = now ?? this.clock.now();
      // Queued from the poll phase, it runs in this turn's check phase, after what that phase already holds.
      this.clock.immediate(this.close);
    }
    return this.opened;
  }

  private readonly close = (): void => {
    this.opened = -1;
  };
}
