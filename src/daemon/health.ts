/**
 * What `/health` reports: the daemon is healthy only while it does its whole job. It is not while some DNS
 * listener is not served (a worker died and its replacement is not up yet) or while the store fails writes
 * or is stale (etcd unreachable: DNS answers from the last known state, writes fail).
 */
import type { HealthProblem } from '../control/routes/admin.js';
import type { WorkerPoolStatus } from './worker-supervisor.js';

/** Where the problems are read from. */
export interface HealthSources {
  /** The DNS worker pool's status (absent when the daemon answers DNS itself). */
  readonly workers?: () => WorkerPoolStatus;
  /** Whether the store is stale (shared stores that can lose their cluster). */
  readonly storeStale?: () => boolean;
  /** Failed store writes in the current episode (0 when the last write succeeded). */
  readonly storeFailures?: () => number;
}

/** The health problems now, most important first; empty when healthy. */
export function healthProblems(sources: HealthSources): HealthProblem[] {
  const problems: HealthProblem[] = [];
  const workers = sources.workers?.();
  if (workers && workers.serving < workers.expected) {
    problems.push({
      component: 'dns',
      message: `${workers.serving} of ${workers.expected} DNS workers serving: DNS is not answered on every listener until the others are replaced (${workers.restarts} replaced so far)`,
    });
  }
  if (sources.storeStale?.()) problems.push({ component: 'store', message: 'store unreachable: answering from the last known state (stale); writes fail' });
  const failures = sources.storeFailures?.() ?? 0;
  if (failures > 0) problems.push({ component: 'store', message: `store writes failing (${failures} in a row)` });
  return problems;
}
