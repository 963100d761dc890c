/** WorkerSupervisor with a fake launcher and fake timers: replacement, backoff, reset, status, close. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkerSupervisor, type LaunchedWorker } from '../../src/daemon/worker-supervisor.js';

interface FakeWorker extends LaunchedWorker {
  readonly slot: number;
  serve(): void;
  fail(error: Error): void;
  die(): void;
}

function fakeLauncher() {
  const launched: FakeWorker[] = [];
  let nextId = 1;
  const launch = (slot: number): FakeWorker => {
    let serve!: () => void;
    let fail!: (error: Error) => void;
    let die!: () => void;
    const ready = new Promise<void>((resolve, reject) => {
      serve = resolve;
      fail = reject;
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      die = () => resolve({ code: null, signal: 'SIGKILL' });
    });
    const worker: FakeWorker = { id: nextId++, slot, ready, exited, serve, fail, die, kill: () => die() };
    launched.push(worker);
    return worker;
  };
  return { launch, launched };
}

describe('WorkerSupervisor', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  async function started(count = 2) {
    const fake = fakeLauncher();
    const supervisor = new WorkerSupervisor({ count, launch: fake.launch, now: () => Date.now() });
    const starting = supervisor.start();
    for (const worker of fake.launched) worker.serve();
    await starting;
    return { supervisor, ...fake };
  }

  it('replaces a dead worker after 100 ms and counts it', async () => {
    const { supervisor, launched } = await started();
    expect(supervisor.status()).toEqual({ expected: 2, serving: 2, restarts: 0 });
    launched[0]!.die();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.status()).toEqual({ expected: 2, serving: 1, restarts: 0 });
    await vi.advanceTimersByTimeAsync(99);
    expect(launched).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(launched).toHaveLength(3);
    expect(launched[2]!.slot).toBe(0);
    expect(supervisor.status()).toEqual({ expected: 2, serving: 1, restarts: 1 });
    launched[2]!.serve();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.status()).toEqual({ expected: 2, serving: 2, restarts: 1 });
  });

  it('doubles the delay while replacements keep dying, up to 5 s, and resets after 10 s of service', async () => {
    const { launched } = await started(1);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const before = launched.length;
      launched.at(-1)!.die();
      let waited = 0;
      while (launched.length === before) {
        await vi.advanceTimersByTimeAsync(1);
        waited += 1;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    launched.at(-1)!.serve();
    await vi.advanceTimersByTimeAsync(10_000);
    const before = launched.length;
    launched.at(-1)!.die();
    await vi.advanceTimersByTimeAsync(100);
    expect(launched.length).toBe(before + 1);
  });

  it('kills and replaces a replacement that fails to start', async () => {
    const { supervisor, launched } = await started(1);
    launched[0]!.die();
    await vi.advanceTimersByTimeAsync(100);
    launched[1]!.fail(new Error('bind failed'));
    await vi.advanceTimersByTimeAsync(200);
    expect(launched).toHaveLength(3);
    launched[2]!.serve();
    await vi.advanceTimersByTimeAsync(0);
    expect(supervisor.status()).toEqual({ expected: 1, serving: 1, restarts: 2 });
  });

  it('replaces nothing once closed, and a failed first start rejects without replacing', async () => {
    const { supervisor, launched } = await started();
    supervisor.close();
    launched[0]!.die();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(launched).toHaveLength(2);

    const fake = fakeLauncher();
    const failing = new WorkerSupervisor({ count: 2, launch: fake.launch });
    const starting = failing.start();
    fake.launched[0]!.serve();
    fake.launched[1]!.fail(new Error('no port'));
    await expect(starting).rejects.toThrow('no port');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.launched).toHaveLength(2);
  });
});
