/** applyHeapGrowth: what `beacon serve` tells V8 about heap growth, and when node's own flag wins. */
import { describe, expect, it } from 'vitest';
import { applyHeapGrowth, HEAP_GROWTH_FLAG, heapGrowthNodeFlags } from '../../src/daemon/heap-growth.js';

/** applyHeapGrowth with a recording flag setter in place of V8's. */
function apply(percent: number, execArgv: readonly string[]): { result: ReturnType<typeof applyHeapGrowth>; set: string[] } {
  const set: string[] = [];
  const result = applyHeapGrowth(percent, execArgv, (flags) => set.push(flags));
  return { result, set };
}

describe('applyHeapGrowth', () => {
  it('sets V8 heap growth to the percent given', () => {
    expect(apply(30, ['--v8-pool-size=1'])).toEqual({ result: { percent: 30 }, set: ['--heap-growing-percent=30'] });
  });

  it('leaves V8 its own heuristics for 0', () => {
    expect(apply(0, [])).toEqual({ result: 'v8', set: [] });
  });

  it.each([['--heap-growing-percent=50'], ['--heap_growing_percent=50']])('leaves a growth node was started with alone (%s)', (flag) => {
    expect(apply(30, ['--v8-pool-size=1', flag])).toEqual({ result: 'node flag', set: [] });
  });

  it('does not take a longer flag for it', () => {
    expect(apply(30, ['--heap-growing-percentage=50'])).toEqual({ result: { percent: 30 }, set: ['--heap-growing-percent=30'] });
  });

  it('is a flag V8 takes: node starts with it', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(process.execPath, [`${HEAP_GROWTH_FLAG}=30`, '-e', 'process.stdout.write("ran")'], { encoding: 'utf8' });
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: 'ran', stderr: '' });
  });
});

describe('heapGrowthNodeFlags', () => {
  it('gives a worker process the growth on its command line', () => {
    expect(heapGrowthNodeFlags(30, ['--v8-pool-size=1'])).toEqual(['--heap-growing-percent=30']);
  });

  it('adds nothing for 0, or when the parent carries the flag (the worker inherits it)', () => {
    expect(heapGrowthNodeFlags(0, [])).toEqual([]);
    expect(heapGrowthNodeFlags(30, ['--heap-growing-percent=50'])).toEqual([]);
    expect(heapGrowthNodeFlags(30, ['--heap_growing_percent=50'])).toEqual([]);
  });
});
