/**
 * LoopTurn with a fake clock: a turn opens at its first work, its budget runs from there, and a new turn
 * starts when the loop's counter moves (the addon's prepare handle) or, without a counter, after the
 * immediate queued at opening has run. Also the addon's real counter on this thread's loop.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { LoopTurn } from '../src/loop-turn.js';
import { FakeLoop } from './fake-loop.js';
import { loadUdpBatchAddon } from '../src/dns/udp-batched.js';

describe('LoopTurn', () => {
  it('counts the budget from the first work of the turn, and starts again when the counter moves', () => {
    const loop = new FakeLoop();
    let iteration = 7;
    const turn = new LoopTurn(3, loop, () => iteration);
    loop.time = 100;
    turn.touch(); // the UDP batch: the turn opens at 100
    loop.time = 101.5;
    expect(turn.remainingMs()).toBeCloseTo(1.5, 9);
    loop.time = 103.25;
    expect(turn.remainingMs()).toBeCloseTo(-0.25, 9);
    // The check phase of the same iteration: still the same turn (no immediate closes it with a counter).
    loop.checkPhase();
    expect(loop.queued).toHaveLength(0);
    expect(turn.remainingMs()).toBeLessThan(0);
    // Next iteration: the first question opens a fresh turn at its own time.
    iteration++;
    loop.time = 110;
    expect(turn.remainingMs()).toBe(3);
    loop.time = 112;
    expect(turn.remainingMs()).toBe(1);
  });

  it('without a counter, the immediate queued at opening closes the turn', () => {
    const loop = new FakeLoop();
    const turn = new LoopTurn(2, loop);
    loop.time = 10;
    expect(turn.remainingMs()).toBe(2);
    expect(loop.queued).toHaveLength(1);
    loop.time = 13;
    expect(turn.remainingMs()).toBe(-1);
    turn.touch();
    expect(loop.queued).toHaveLength(1); // one close per turn
    loop.checkPhase();
    loop.time = 20;
    expect(turn.remainingMs()).toBe(2);
  });

  it('refuses a budget that is not positive', () => {
    expect(() => new LoopTurn(0)).toThrow(RangeError);
    expect(() => new LoopTurn(Number.NaN)).toThrow(RangeError);
  });

  it("the addon's counter moves once per turn of this thread's loop", async () => {
    const load = loadUdpBatchAddon();
    // The addon is an optional dependency; where it did not build, the require below says why.
    const loopTurns = (load.ok ? load.addon : (createRequire(import.meta.url)('beacon-udp-batch') as { loopTurns?: () => number })).loopTurns;
    if (loopTurns === undefined) throw new Error('the beacon-udp-batch build has no loopTurns: npm rebuild beacon-udp-batch');
    const first = loopTurns();
    expect(loopTurns()).toBe(first); // same turn
    // Two immediates: the second runs in the next iteration's check phase, after a poll (and its prepare).
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
    const second = loopTurns();
    expect(second).toBeGreaterThan(first);
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
    expect(loopTurns()).toBeGreaterThan(second);
  });
});
