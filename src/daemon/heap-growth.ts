/**
 * How far the daemon's JS heap may grow past what its last full collection kept before V8 collects again
 * (docs/ARCHITECTURE.md, "Garbage collection"). V8 picks that factor itself, up to 4x on a host with 8 GB
 * of memory or more, and a heap that filled quickly keeps what it grew to until its memory reducer runs,
 * about a minute after the load stops: 100,000 instances registered over the control socket and 100,000
 * questions cached left the process at 460 MB RSS, and at 315 MB with growth held to 30%. A tighter
 * factor means more full collections while the registry grows; each one marks on the helper thread and
 * pauses the loop about as long as before, so what changes is their number, and with it the chances that
 * one of them is slow.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's flag for the factor: `--heap-growing-percent=N` grows the heap to (1 + N/100) times what was kept. */
export const HEAP_GROWTH_FLAG = '--heap-growing-percent';

/** What `applyHeapGrowth` did: set the percent, left it to node's own command line, or to V8's heuristics. */
export type HeapGrowth = { readonly percent: number } | 'node flag' | 'v8';

/** Whether node's command line `execArgv` sets heap growth itself (V8 takes `_` for `-` in flag names). */
function givenOnCommandLine(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => {
    const name = arg.split('=', 1)[0]?.replaceAll('_', '-');
    return name === HEAP_GROWTH_FLAG;
  });
}

/**
 * Hold heap growth to `percent` (0: leave it to V8). A `--heap-growing-percent` on node's command line wins:
 * the operator chose. V8 reads the value at each full collection, so setting it once the process runs is
 * enough; it is process-wide, which is why only `beacon serve` calls this, never the library.
 */
export function applyHeapGrowth(
  percent: number,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): HeapGrowth {
  if (givenOnCommandLine(execArgv)) return 'node flag';
  if (percent === 0) return 'v8';
  setFlags(`${HEAP_GROWTH_FLAG}=${percent}`);
  return { percent };
}

/**
 * The node flags that give a child process of the daemon (a `--workers` DNS process, which holds a copy of
 * the registry) the same heap growth: none when `percent` is 0 or the parent's command line already carries
 * one (the child inherits it).
 */
export function heapGrowthNodeFlags(percent: number, execArgv: readonly string[] = process.execArgv): string[] {
  return percent === 0 || givenOnCommandLine(execArgv) ? [] : [`${HEAP_GROWTH_FLAG}=${percent}`];
}
