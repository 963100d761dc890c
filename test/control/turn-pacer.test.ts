/**
 * The turn pacer with a fake clock and a fake immediate queue standing in for the loop's check phase: work
 * starts at once while the turn's slice has room, later work waits in arrival order, and waiting work
 * resumes two immediates later (after the loop polled again), a slice at a time.
 */
import { describe, expect, it } from 'vitest';
import { TurnPacer } from '../../src/control/turn-pacer.js';
import { FakeLoop } from '../fake-loop.js';

describe('TurnPacer', () => {
  it('starts work at once while the slice has room, then queues it for a later turn', () => {
    const loop = new FakeLoop();
    const pacer = new TurnPacer(1, loop);
    const ran: number[] = [];
    // One poll phase: each request takes 0.4 ms; the third starts at 0.8 ms (room), the fourth at 1.2 ms.
    for (let i = 0; i < 5; i++) {
      pacer.admit(() => {
        ran.push(i);
        loop.time += 0.4;
      });
    }
    expect(ran).toEqual([0, 1, 2]);
    expect(pacer.queued).toBe(2);
    expect(pacer.deferred).toBe(2);

    // The check phase of this turn: the slice ends, but the waiting work does not run in this turn.
    loop.checkPhase();
    expect(ran).toEqual([0, 1, 2]);
    // Next turn's check phase (after its poll phase): the waiting work runs, in arrival order.
    loop.checkPhase();
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect(pacer.queued).toBe(0);
  });

  it('keeps arrival order: new work waits behind queued work even when the slice has room', () => {
    const loop = new FakeLoop();
    const pacer = new TurnPacer(1, loop);
    const ran: string[] = [];
    pacer.admit(() => {
      ran.push('a');
      loop.time += 2;
    });
    pacer.admit(() => ran.push('b'));
    loop.checkPhase(); // the turn ends
    loop.time += 5;
    pacer.admit(() => ran.push('c')); // a new turn with room, but b waits: c goes behind it
    expect(ran).toEqual(['a']);
    loop.checkPhase();
    loop.checkPhase();
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('resumes a long queue one slice per turn', () => {
    const loop = new FakeLoop();
    const pacer = new TurnPacer(1, loop);
    let done = 0;
    for (let i = 0; i < 10; i++) {
      pacer.admit(() => {
        done++;
        loop.time += 0.5;
      });
    }
    expect(done).toBe(2);
    const perTurn: number[] = [];
    for (let turn = 0; turn < 10 && pacer.queued > 0; turn++) {
      const before = done;
      loop.checkPhase();
      perTurn.push(done - before);
    }
    // Two immediates per resume: a turn with none, then a slice of two (0.5 ms each in a 1 ms slice).
    expect(perTurn.filter((n) => n > 0)).toEqual([2, 2, 2, 2]);
    expect(done).toBe(10);
  });

  it('work that throws while resuming does not strand the work queued behind it', () => {
    const loop = new FakeLoop();
    const pacer = new TurnPacer(1, loop);
    const ran: string[] = [];
    pacer.admit(() => {
      loop.time += 2;
    });
    pacer.admit(() => {
      throw new Error('request failed');
    });
    pacer.admit(() => ran.push('after'));
    loop.checkPhase();
    expect(() => loop.checkPhase()).toThrow('request failed');
    loop.checkPhase();
    loop.checkPhase();
    expect(ran).toEqual(['after']);
    expect(pacer.queued).toBe(0);
  });
  it("defers work once the loop's turn budget is spent, and a resume still starts one request", () => {
    const loop = new FakeLoop();
    let remainingMs = 5;
    const pacer = new TurnPacer(1, loop, { remainingMs: () => remainingMs });
    const ran: number[] = [];
    pacer.admit(() => ran.push(0)); // the slice and the turn have room
    remainingMs = 0; // DNS and applies spent the turn: the slice's own room does not matter
    pacer.admit(() => ran.push(1));
    pacer.admit(() => ran.push(2));
    expect(ran).toEqual([0]);
    expect(pacer.queued).toBe(2);
    loop.checkPhase();
    loop.checkPhase(); // the resume: one request however spent the turn is, the rest wait
    expect(ran).toEqual([0, 1]);
    remainingMs = 5;
    loop.checkPhase();
    loop.checkPhase();
    expect(ran).toEqual([0, 1, 2]);
    expect(pacer.queued).toBe(0);
  });
});
