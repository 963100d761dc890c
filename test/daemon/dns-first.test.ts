/** DnsFirst: each step serves waiting DNS through the attached server within its budget, and counts it. */
import { describe, expect, it } from 'vitest';
import { DnsFirst } from '../../src/daemon/dns-first.js';

describe('DnsFirst', () => {
  it('does nothing until attached, then serves with its budget on every step', () => {
    const first = new DnsFirst(250);
    first.step();
    expect(first.stats()).toEqual({ steps: 0, answered: 0 });
    const budgets: number[] = [];
    first.attach((budgetUs) => {
      budgets.push(budgetUs);
      return budgets.length; // 1, then 2 queries waiting
    });
    first.step();
    first.step();
    expect(budgets).toEqual([250, 250]);
    expect(first.stats()).toEqual({ steps: 2, answered: 3 });
    first.attach(undefined);
    first.step();
    expect(first.stats()).toEqual({ steps: 2, answered: 3 });
  });
});
