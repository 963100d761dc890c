/**
 * Store failures logged once per episode, not once per write: on a full disk or a lost etcd every write
 * fails, and a stack per write buries everything else. The first failure of an episode is one error line
 * (the message, no stack); while it lasts, a reminder at 10, 100, 1000... failures; the first success ends
 * it with one info line giving the count and the duration.
 */
import type { Logger } from '../log.js';
import type { WriteObserver } from './observed.js';

/** The WriteObserver that logs episodes; `failing` tells /health whether one is under way. */
export class StoreFailureEpisodes implements WriteObserver {
  private failures = 0;
  private since = 0;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the last store write failed. */
  get failing(): boolean {
    return this.failures > 0;
  }

  /** Failed writes in the current episode (0 when none). */
  get count(): number {
    return this.failures;
  }

  /** The last write succeeded: close an episode if one was open. */
  succeeded(): void {
    if (this.failures === 0) return;
    this.log.info({ failures: this.failures, durationMs: this.now() - this.since }, 'store writes succeed again');
    this.failures = 0;
  }

  /** A write failed: open an episode, or count it in the open one. */
  failed(error: unknown): void {
    this.failures += 1;
    const detail = { error: error instanceof Error ? error.message : String(error), ...(codeOf(error) ? { code: codeOf(error) } : {}) };
    if (this.failures === 1) {
      this.since = this.now();
      this.log.error(detail, 'store writes failing');
    } else if (/^10+$/.test(String(this.failures))) {
      this.log.warn({ ...detail, failures: this.failures, durationMs: this.now() - this.since }, 'store writes still failing');
    }
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
