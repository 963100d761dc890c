// The host's floor for an event-loop stall, run as a child process beside the daemon: a node loop that does
// nothing but measure itself with the daemon's own LoopStallMonitor (src/daemon/loop-stall.ts: 1 ms ticks,
// the period taken out), so the two readings are the same measurement. No heap to collect, no work to do,
// and asleep between ticks (the scheduler favours a sleeper): its longest stall in a window is what the
// machine alone (the scheduler, the other processes, the hypervisor) cost a loop in that window, the peer
// the daemon's longest stall is read beside (scripts/bench/LOAD.md). Needs `npm run build`.
// Usage: node loop-floor.mjs; sends { event: 'ready' } over IPC; on { op: 'take' } replies
// { event: 'taken', maxMs, p99Ms } for the window since the last take and starts a new one; exits on { op: 'exit' }.
import { LoopStallMonitor } from '../../dist/daemon/loop-stall.js';

const loop = new LoopStallMonitor();

process.on('message', (m) => {
  if (m?.op === 'take') {
    const { maxStallMs, p99StallMs } = loop.take();
    process.send?.({ event: 'taken', maxMs: maxStallMs, p99Ms: p99StallMs });
  } else if (m?.op === 'exit') {
    loop.stop();
    process.exit(0);
  }
});
process.send?.({ event: 'ready' });
