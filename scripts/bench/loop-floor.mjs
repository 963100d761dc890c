// The host's floor for an event-loop stall, run as a child process beside the daemon: a node loop that does
// nothing but measure itself with perf_hooks.monitorEventLoopDelay (1 ms resolution, as the daemon's own
// /v1/stats `eventLoop`). No heap to collect, no work to do: its longest delay in a window is what the
// machine alone (the scheduler, the other processes, the hypervisor) costs any loop in that window, the peer
// the daemon's longest stall is read against (scripts/bench/LOAD.md).
// Usage: node loop-floor.mjs; sends { event: 'ready' } over IPC; on { op: 'take' } replies
// { event: 'taken', maxMs, p99Ms } for the window since the last take and starts a new one; exits on { op: 'exit' }.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();

process.on('message', (m) => {
  if (m?.op === 'take') {
    process.send?.({ event: 'taken', maxMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6 });
    delay.reset();
  } else if (m?.op === 'exit') {
    delay.disable();
    process.exit(0);
  }
});
process.send?.({ event: 'ready' });
