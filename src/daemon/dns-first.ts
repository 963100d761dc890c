/**
 * DNS before control work on the one event loop of a single-process daemon (docs/ARCHITECTURE.md, "DNS
 * first"). The control API and the write path run on the loop that answers DNS; left to the loop's order, a
 * query that arrives while a poll phase works through fifty registration requests and a group commit's
 * acknowledgements waits for all of them, several milliseconds. A DNS client with a bounded number of
 * queries in flight (dnsperf, a resolver's stub) then asks at the pace those waits allow, and the qps it
 * gets halves during a deploy even though the loop is not saturated.
 *
 * So the control path calls `step()` before each unit of its work (a request, a response, each mutation a
 * group commit applies), and `step()` answers the queries waiting on the UDP sockets right then through the
 * batched transport's `serve` (udp-batched.ts), within a time budget: a query waits for at most one unit of
 * control work. Without the batched transport (dgram) or with DNS in workers (their own loops) it is a no-op.
 *
 * Steps are many (three per registration) and each lengthens the turn it runs in; with a `turn`
 * (loop-turn.ts), a step serves only within what is left of the turn's budget, and nothing once it is spent:
 * those queries wait for the next poll phase, a turn that ends sooner.
 */
import type { TurnBudget } from '../loop-turn.js';

/** Answers the DNS queries waiting now, within about `budgetUs`; returns how many were read. */
export type ServeWaiting = (budgetUs: number) => number;

/** Time per `step()` for DNS, at most: a step is called before each small unit of control work. */
export const DNS_FIRST_BUDGET_US = 300;

/** What the daemon reports of it (`/v1/stats`, `dnsFirst`). */
export interface DnsFirstStats {
  /** Steps taken (calls from the control path). */
  readonly steps: number;
  /** Queries answered in those steps: each would otherwise have waited for the rest of the loop's turn. */
  readonly answered: number;
  /** Steps that served nothing: their turn had spent its budget. */
  readonly skipped: number;
}

/** The control path's hook into DNS; `attach` it to the DNS server once that is listening. */
export class DnsFirst {
  private serve: ServeWaiting | undefined;
  private steps = 0;
  private answered = 0;
  private skipped = 0;

  constructor(
    private readonly budgetUs = DNS_FIRST_BUDGET_US,
    private readonly turn?: TurnBudget,
  ) {}

  /** Serve through `serve` from now on (undefined: stop, e.g. when DNS closes). */
  attach(serve: ServeWaiting | undefined): void {
    this.serve = serve;
  }

  /** Answer the DNS queries waiting now, before the caller's next unit of control work. */
  step(): void {
    const serve = this.serve;
    if (serve === undefined) return;
    this.steps++;
    let budgetUs = this.budgetUs;
    if (this.turn !== undefined) {
      const leftUs = Math.floor(this.turn.remainingMs() * 1000);
      if (leftUs < 1) {
        this.skipped++;
        return;
      }
      budgetUs = Math.min(budgetUs, leftUs);
    }
    this.answered += serve(budgetUs);
  }

  /** Counters since start. */
  stats(): DnsFirstStats {
    return { steps: this.steps, answered: this.answered, skipped: this.skipped };
  }
}
