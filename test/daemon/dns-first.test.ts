/** DnsFirst: each step serves waiting DNS through the attached server within its budget, and counts it. */
import { describe, expect, it } from 'vitest';
import { DnsFirst } from '../../src/daemon/dns-first.js';

describe('DnsFirst', () => {
  it('does nothing until attached, then serves with its budget on every step', () => {
    const first = new DnsFirst(250);
    first.step();
    expect(first.stats()).toEqual({ steps: 0, answered: 0, skipped: 0 });
    const budgets: number[] = [];
    first.attach((budgetUs) => {
      budgets.push(budgetUs);
      return budgets.length; // 1, then 2 queries waiting
    });
    first.step();
    first.step();
    expect(budgets).toEqual([250, 250]);
    expect(first.stats()).toEqual({ steps: 2, answered: 3, skipped: 0 });
    first.attach(undefined);
    first.step();
    expect(first.stats()).toEqual({ steps: 2, answered: 3, skipped: 0 });
  });

  it("serves within what is left of the turn's budget, and nothing once it is spent", () => {
    let remainingMs = 5;
    const first = new DnsFirst(300, { remainingMs: () => remainingMs });
    const budgets: number[] = [];
    first.attach((budgetUs) => {
      budgets.push(budgetUs);
      return 1;
    });
    first.step(); // 5 ms left: the step's own budget
    remainingMs = 0.12;
    first.step(); // 120 us left
    remainingMs = 0.0004;
    first.step(); // under a microsecond: nothing
    remainingMs = -2;
    first.step();
    expect(budgets).toEqual([300, 120]);
    expect(first.stats()).toEqual({ steps: 4, answered: 2, skipped: 2 });
  });
});
