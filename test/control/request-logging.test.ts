import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildControlApp, type ControlPlugin } from '../../src/control/app.js';
import { lazyChildLogger } from '../../src/log.js';
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

/** A line without its timestamp (two loggers never write the same `time`). */
const timeless = ({ time: _time, ...rest }: Record<string, unknown>): Record<string, unknown> => rest;

describe('lazyChildLogger', () => {
  it('writes nothing and creates no child for calls at levels that are off', () => {
    const { logger, lines } = captured('warn');
    const child = vi.spyOn(logger, 'child');
    const lazy = lazyChildLogger(logger, { reqId: 'req-1' }, {});
    lazy.info('not shown');
    lazy.debug({ a: 1 }, 'not shown');
    lazy.trace('not shown');
    expect(lines).toEqual([]);
    expect(child).not.toHaveBeenCalled();
  });

  it('writes at enabled levels exactly what an eager child writes', () => {
    const eager = captured('warn');
    const lazy = captured('warn');
    const error = new Error('boom');
    eager.logger.child({ reqId: 'req-7' }).warn({ url: '/x' }, 'slow');
    eager.logger.child({ reqId: 'req-7' }).error({ err: error }, 'failed');
    const lazyChild = lazyChildLogger(lazy.logger, { reqId: 'req-7' }, {});
    lazyChild.warn({ url: '/x' }, 'slow');
    lazyChild.error({ err: error }, 'failed');
    expect(lazy.lines.map(timeless)).toEqual(eager.lines.map(timeless));
    expect(lazy.lines[0]).toMatchObject({ level: 40, reqId: 'req-7', app: 'beacon', url: '/x', msg: 'slow' });
  });

  it('creates the child once, on first use, and forwards everything else to it', () => {
    const { logger, lines } = captured('info');
    const child = vi.spyOn(logger, 'child');
    const lazy = lazyChildLogger(logger, { reqId: 'req-2' }, {});
    expect(typeof lazy.info).toBe('function');
    expect(typeof lazy.child).toBe('function');
    expect(child).not.toHaveBeenCalled();
    lazy.info('one');
    lazy.info('two');
    expect(child).toHaveBeenCalledTimes(1);
    child.mockClear();
    expect(lazy.bindings()).toEqual(logger.child({ reqId: 'req-2' }).bindings());
    expect(lazy.bindings()).toMatchObject({ reqId: 'req-2' });
    lazy.child({ step: 'x' }).info('three');
    expect(lines.map((l) => [l['msg'], l['reqId'], l['step']])).toEqual([['one', 'req-2', undefined], ['two', 'req-2', undefined], ['three', 'req-2', 'x']]);
  });

  it('follows the parent level when it changes later', () => {
    const { logger, lines } = captured('warn');
    const lazy = lazyChildLogger(logger, { reqId: 'req-3' }, {});
    lazy.debug('off');
    logger.level = 'debug';
    lazy.debug('on');
    expect(lines.map((l) => l['msg'])).toEqual(['on']);
  });

  it('reads level and isLevelEnabled like the child, and a level set on it is the child’s alone', () => {
    const { logger, lines } = captured('warn');
    const child = vi.spyOn(logger, 'child');
    const lazy = lazyChildLogger(logger, { reqId: 'req-5' }, {});
    expect(lazy.level).toBe('warn');
    expect(lazy.isLevelEnabled('info')).toBe(false);
    expect(lazy.isLevelEnabled('error')).toBe(true);
    expect(child).not.toHaveBeenCalled();
    lazy.level = 'debug';
    expect(lazy.level).toBe('debug');
    expect(lazy.isLevelEnabled('debug')).toBe(true);
    expect(logger.level).toBe('warn');
    lazy.debug('mine');
    logger.debug('not the parent’s');
    expect(lines).toMatchObject([{ msg: 'mine', reqId: 'req-5', level: 20 }]);
    expect(lines).toHaveLength(1);
  });

  it('makes the child eagerly when options change it', () => {
    const { logger, lines } = captured('warn');
    const lazy = lazyChildLogger(logger, { reqId: 'req-4' }, { level: 'debug' });
    lazy.debug('shown');
    expect(lines).toMatchObject([{ msg: 'shown', reqId: 'req-4', level: 20 }]);
  });
});

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
