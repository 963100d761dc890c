import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApp, type ControlPlugin } from '../../src/control/app.js';
import { makeDeps } from './harness.js';

/** A pino logger at `level` whose lines are collected, parsed, in `lines`. */
function captured(level: string): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level, base: { app: 'beacon' } }, sink), lines };
}

describe('control API request logging', () => {
  const disposers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const dispose of disposers.splice(0)) await dispose();
  });

  /** The control app over a memory store, logging to a captured logger at `level`, plus a route that logs through `request.log`. */
  async function appAt(level: string) {
    const { logger, lines } = captured(level);
    const made = await makeDeps();
    const logsThroughRequest: ControlPlugin = async (app) => {
      app.get('/test/request-log', async (request) => {
        request.log.warn({ step: 'x' }, 'from the handler');
        request.log.info('handler info');
        return { ok: true };
      });
    };
    const app = buildControlApp({ ...made.deps, logger }, { plugins: [logsThroughRequest] });
    await app.ready();
    disposers.push(async () => {
      await app.close();
      await made.dispose();
    });
    return { app, lines };
  }

  it('writes one debug line per answered request at debug level', async () => {
    const { app, lines } = await appAt('debug');
    const put = await app.inject({ method: 'PUT', url: '/v1/services/web/instances/a', payload: { address: '10.0.0.1', port: 80 } });
    expect(put.statusCode).toBe(200);
    const missing = await app.inject({ method: 'GET', url: '/v1/services/web/instances/nope' });
    expect(missing.statusCode).toBe(404);
    const requests = lines.filter((l) => l['msg'] === 'request');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ level: 20, method: 'PUT', url: '/v1/services/web/instances/a', status: 200 });
    expect(requests[1]).toMatchObject({ level: 20, method: 'GET', url: '/v1/services/web/instances/nope', status: 404 });
    expect(typeof requests[0]!['ms']).toBe('number');
  });

  it('writes no request line above debug', async () => {
    const { app, lines } = await appAt('info');
    const put = await app.inject({ method: 'PUT', url: '/v1/services/web/instances/a', payload: { address: '10.0.0.1', port: 80 } });
    expect(put.statusCode).toBe(200);
    expect(lines.filter((l) => l['msg'] === 'request')).toEqual([]);
  });

  it("keeps the request id on what a handler logs through request.log, at the levels that are on", async () => {
    const { app, lines } = await appAt('warn');
    const response = await app.inject({ method: 'GET', url: '/test/request-log' });
    expect(response.statusCode).toBe(200);
    const handler = lines.filter((l) => l['msg'] === 'from the handler' || l['msg'] === 'handler info');
    expect(handler).toHaveLength(1);
    expect(handler[0]).toMatchObject({ level: 40, step: 'x', app: 'beacon' });
    expect(handler[0]!['reqId']).toEqual(expect.any(String));
  });
});
