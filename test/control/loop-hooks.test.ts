/**
 * The daemon's hooks into the control API's requests: `pace` decides when a request's work starts (a request
 * waits until it proceeds), `beforeWork` runs before each request's work and before its response (where the
 * daemon answers waiting DNS queries).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApp, type ControlApp } from '../../src/control/app.js';
import { makeDeps } from './harness.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function appWith(hooks: { beforeWork?: () => void; pace?: (proceed: () => void) => void }): Promise<ControlApp> {
  const made = await makeDeps();
  const app = buildControlApp({ ...made.deps, ...hooks });
  await app.ready();
  close = async () => {
    await app.close();
    await made.dispose();
  };
  return app;
}

describe('control API loop hooks', () => {
  it('a paced request waits until the pacer lets it proceed, then is answered', async () => {
    const held: (() => void)[] = [];
    const app = await appWith({ pace: (proceed) => held.push(proceed) });
    let answered = false;
    const reply = app.inject({ method: 'PUT', url: '/v1/services/web/instances/w-1', payload: { address: '10.0.0.1', port: 80 } }).then((r) => {
      answered = true;
      return r;
    });
    await new Promise<void>((resolve) => {
      const poll = (): void => (held.length > 0 ? resolve() : void setImmediate(poll));
      poll();
    });
    expect(answered).toBe(false);
    expect(held).toHaveLength(1);
    held[0]!();
    const r = await reply;
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body).instance.id).toBe('w-1');
  });

  it('beforeWork runs before the request is handled and again before its response', async () => {
    const made = await makeDeps();
    const seen: number[] = [];
    // What beforeWork sees of the registry: nothing before the registration is handled, the instance after.
    const app = buildControlApp({ ...made.deps, beforeWork: () => seen.push(made.registry.records().length) });
    await app.ready();
    close = async () => {
      await app.close();
      await made.dispose();
    };
    const r = await app.inject({ method: 'PUT', url: '/v1/services/web/instances/w-1', payload: { address: '10.0.0.1', port: 80 } });
    expect(r.statusCode).toBe(200);
    expect(seen).toEqual([0, 1]);
  });
});
