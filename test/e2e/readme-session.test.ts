import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDaemon, type Daemon } from './daemon.js';
import { digShortWithNode, readSession, replaySession } from './session.js';

let daemon: Daemon;
beforeAll(async () => {
  daemon = await startDaemon();
});
afterAll(async () => {
  await daemon?.stop();
});

it('the README session (start, register, dig, deregister) prints what it says, resolved with node', async () => {
  expect(readSession().filter((s) => s.command.startsWith('dig')).length).toBeGreaterThanOrEqual(4);
  const results = await replaySession(daemon, digShortWithNode);
  for (const r of results) expect({ command: r.command, output: r.actual }).toEqual({ command: r.command, output: r.expected });
});
