/**
 * Keeps N worker slots filled: a worker that dies (crash, OOM kill, `kill -9`) is replaced after a backoff
 * that doubles while replacements keep dying (100 ms, 200 ms, ... up to 5 s) and starts again from 100 ms
 * once a worker has served for 10 s. What a worker is and how it is brought up to date is the launcher's
 * business (dns-workers.ts); this module only decides when to launch and says how many slots serve.
 */
import { silentLogger, type Logger } from '../log.js';

/** One launched worker: `ready` resolves once it serves; `exited` resolves when it is gone. */
export interface LaunchedWorker {
  readonly id: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null }>;
  /** Stop it for good (it failed to start properly). */
  kill(): void;
}

/** Launch a worker for `slot`. */
export type WorkerLauncher = (slot: number) => LaunchedWorker;

/** How the slots stand. */
export interface WorkerPoolStatus {
  /** Slots (`--workers`). */
  readonly expected: number;
  /** Slots whose worker serves now. */
  readonly serving: number;
  /** Workers launched to replace dead ones, since start. */
  readonly restarts: number;
}

/** Options of the supervisor. */
export interface WorkerSupervisorOptions {
  readonly count: number;
  readonly launch: WorkerLauncher;
  readonly logger?: Logger;
  /** First restart delay (ms); doubles per consecutive failure. Default 100. */
  readonly initialBackoffMs?: number;
  /** Longest restart delay (ms). Default 5000. */
  readonly maxBackoffMs?: number;
  /** A worker that served this long (ms) resets the backoff. Default 10000. */
  readonly stableAfterMs?: number;
  readonly now?: () => number;
}

interface Slot {
  readonly index: number;
  serving: boolean;
  /** Consecutive replacements that died before serving `stableAfterMs`. */
  failures: number;
  servingSince: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  current: LaunchedWorker | undefined;
}

/** Fills and refills the worker slots; see the module comment. */
export class WorkerSupervisor {
  private readonly slots: Slot[];
  private readonly log: Logger;
  private readonly now: () => number;
  private restarts = 0;
  private closed = false;

  constructor(private readonly options: WorkerSupervisorOptions) {
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.slots = Array.from({ length: options.count }, (_, index) => ({ index, serving: false, failures: 0, servingSince: 0, timer: undefined, current: undefined }));
  }

  /** Launch every slot; resolves once all serve, rejects (and stops supervising) if one fails to start. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.slots.map((slot) => this.launch(slot)));
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** How the slots stand now. */
  status(): WorkerPoolStatus {
    return { expected: this.slots.length, serving: this.slots.filter((s) => s.serving).length, restarts: this.restarts };
  }

  /** Stop replacing workers (they are being shut down on purpose). */
  close(): void {
    this.closed = true;
    for (const slot of this.slots) if (slot.timer) clearTimeout(slot.timer);
  }

  private launch(slot: Slot): Promise<void> {
    const worker = this.options.launch(slot.index);
    slot.current = worker;
    void worker.exited.then(({ code, signal }) => this.onExit(slot, worker, code, signal));
    return worker.ready.then(
      () => {
        if (slot.current !== worker) return;
        slot.serving = true;
        slot.servingSince = this.now();
      },
      (error: unknown) => {
        worker.kill();
        throw error;
      },
    );
  }

  private onExit(slot: Slot, worker: LaunchedWorker, code: number | null, signal: string | null): void {
    if (slot.current !== worker) return;
    const served = slot.serving ? this.now() - slot.servingSince : 0;
    slot.serving = false;
    slot.current = undefined;
    if (this.closed) return;
    slot.failures = served >= (this.options.stableAfterMs ?? 10_000) ? 0 : slot.failures + 1;
    const delay = Math.min(this.options.maxBackoffMs ?? 5_000, (this.options.initialBackoffMs ?? 100) * 2 ** Math.max(0, slot.failures - 1));
    this.log.error({ worker: worker.id, slot: slot.index, code, signal, restartInMs: delay, serving: this.status().serving, expected: this.slots.length }, 'DNS worker exited; replacing it');
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.closed) return;
      this.restarts += 1;
      this.launch(slot).then(
        () => this.log.info({ slot: slot.index, worker: slot.current?.id, restarts: this.restarts }, 'DNS worker replaced and serving'),
        (error: unknown) => this.log.error({ slot: slot.index, err: error }, 'replacement DNS worker failed to start'),
      );
    }, delay);
    slot.timer.unref?.();
  }
}
