// The host's floor for an event-loop stall, run as a child process beside the daemon: a node loop that does
// nothing but measure itself with perf_hooks.monitorEventLoopDelay at 1 ms, read as the daemon reads its
// own /v1/stats `eventLoop` (src/daemon/loop-stall.ts: the 1 ms period between ticks is no stall). No heap
// to collect, no work to do, and asleep between ticks (the scheduler favours a sleeper): its longest stall
// in a window is what the machine alone (the scheduler, the other processes, the hypervisor) cost a loop
// in that window, the peer the daemon's longest stall is read beside (scripts/bench/LOAD.md).
// Usage: node loop-floor.mjs; sends { event: 'ready' } over IPC; on { op: 'take' } replies
// { event: 'taken', maxMs, p99Ms } for the window since the last take and starts a new one; exits on { op: 'exit' }.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 1;
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
/** A sample (ns between two ticks) as a stall in ms: the period itself is not one. */
const stallMs = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
delay.enable();

process.on('message', (m) => {
  if (m?.op === 'take') {
    const sampled = delay.count > 0;
    process.send?.({ event: 'taken', maxMs: sampled ? stallMs(delay.max) : 0, p99Ms: sampled ? stallMs(delay.percentile(99)) : 0 });
    delay.reset();
  } else if (m?.op === 'exit') {
    delay.disable();
    process.exit(0);
  }
});
process.send?.({ event: 'ready' });
