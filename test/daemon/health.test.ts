/** `/health`: 200 while the daemon does its whole job, 503 naming each problem otherwise. */
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApp } from '../../src/control/app.js';
import { healthProblems, type HealthSources } from '../../src/daemon/health.js';
import { makeDeps } from '../control/harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function healthWith(sources: HealthSources) {
  const made = await makeDeps();
  const app = buildControlApp({ ...made.deps, healthProblems: () => healthProblems(sources) }, { token: 'a-long-enough-token' });
  cleanups.push(made.dispose, () => app.close());
  // /health needs no token even on the TCP listener.
  const response = await app.inject({ method: 'GET', url: '/health' });
  return { status: response.statusCode, body: response.json() as { status: string; problems?: { component: string; message: string }[] } };
}

describe('/health', () => {
  it('is 200 ok when every worker serves and the store is fine', async () => {
    expect(await healthWith({ workers: () => ({ expected: 2, serving: 2, restarts: 3 }), storeStale: () => false, storeFailures: () => 0 })).toEqual({
      status: 200,
      body: { status: 'ok', index: 0 },
    });
  });

  it('is 503 naming DNS while a worker is missing', async () => {
    const { status, body } = await healthWith({ workers: () => ({ expected: 2, serving: 1, restarts: 0 }) });
    expect(status).toBe(503);
    expect(body.problems).toEqual([{ component: 'dns', message: expect.stringMatching(/^1 of 2 DNS workers serving/) }]);
  });

  it('is 503 naming the store while it is stale or failing writes, with every problem listed', async () => {
    const { status, body } = await healthWith({ workers: () => ({ expected: 2, serving: 0, restarts: 1 }), storeStale: () => true, storeFailures: () => 7 });
    expect(status).toBe(503);
    expect(body.problems?.map((p) => p.component)).toEqual(['dns', 'store', 'store']);
    expect(body.problems?.[1]?.message).toMatch(/stale/);
    expect(body.problems?.[2]?.message).toMatch(/7 in a row/);
  });
});
