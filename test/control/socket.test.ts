import { stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import type { ControlPlugin } from '../../src/control/plugin.js';
import { startControlServer } from '../../src/control/server.js';
import { hasErrorCode } from '../../src/errors.js';
import { makeDeps, tempDir } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serve(options: { token?: string; tcp?: boolean; plugins?: ControlPlugin[]; shutdownGraceMs?: number } = {}) {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const made = await makeDeps();
  cleanups.push(made.dispose);
  const socketPath = path.join(tmp.dir, 'beacon.sock');
  const server = await startControlServer(made.deps, {
    socketPath,
    ...(options.tcp ? { tcp: { host: '127.0.0.1', port: 0 }, token: options.token } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(options.shutdownGraceMs === undefined ? {} : { shutdownGraceMs: options.shutdownGraceMs }),
  });
  cleanups.push(() => server.close());
  return { ...made, server, socketPath, dir: tmp.dir, client: new ControlClient({ socketPath }) };
}

describe('control API over a real Unix socket', () => {
  it('creates the socket with mode 0600 and serves the client', async () => {
    const s = await serve();
    expect((await stat(s.socketPath)).mode & 0o777).toBe(0o600);
    const registered = await s.client.register('api', 'a', { address: '127.0.0.1', port: 9000, tags: ['blue'] });
    expect(registered.instance).toMatchObject({ service: 'api', id: 'a', health: 'healthy' });
    expect((await s.client.services()).services).toEqual([{ name: 'api', protocols: ['tcp'], instances: 1, healthy: 1 }]);
    expect((await s.client.resolve('api', { tags: ['blue'] })).instance.id).toBe('a');
    expect((await s.client.heartbeat('api', 'a')).health).toBe('healthy');
    await s.client.deregister('api', 'a');
    expect(s.registry.records()).toEqual([]);
  });

  it('accepts 100 concurrent registrations: all 100 are present', async () => {
    const s = await serve();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => s.client.register('load', `instance-${i}`, { address: '10.1.0.1', port: 1000 + i })),
    );
    expect(new Set(results.map((r) => r.index)).size).toBe(100);
    expect(s.registry.records('load')).toHaveLength(100);
    const listed = await s.client.instances('load');
    expect(listed.instances.map((i) => i.id).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `instance-${i}`).sort());
    expect(s.registry.index).toBe(100);
  });

  it('reports API errors as BeaconErrors with the code', async () => {
    const s = await serve();
    const error = await s.client.heartbeat('api', 'ghost').catch((e: unknown) => e);
    expect(hasErrorCode(error, 'SERVICE_NOT_FOUND')).toBe(true);
    const bad = await s.client.register('api', 'x', { address: '10.0.0.1', port: 0 }).catch((e: unknown) => e);
    expect(hasErrorCode(bad, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('replaces a stale socket file but refuses to steal a live one', async () => {
    const s = await serve();
    await expect(startControlServer(s.deps, { socketPath: s.socketPath })).rejects.toThrow(/already listening/);
    // A stale socket: left behind by a process killed with SIGKILL (it never got to remove it).
    const stalePath = path.join(s.dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => console.log('up'))`]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect((await stat(stalePath)).isSocket()).toBe(true);
    const other = await startControlServer(s.deps, { socketPath: stalePath });
    cleanups.push(() => other.close());
    expect((await new ControlClient({ socketPath: stalePath }).health()).status).toBe('ok');
    // A regular file in the way is not deleted.
    const filePath = path.join(s.dir, 'file.sock');
    await writeFile(filePath, 'keep me');
    await expect(startControlServer(s.deps, { socketPath: filePath })).rejects.toThrow(/not a socket/);
  });

  it('says the daemon is not running when the socket is absent', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const socketPath = path.join(tmp.dir, 'none.sock');
    const error = await new ControlClient({ socketPath }).health().catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/is `beacon serve` running/);
    expect(hasErrorCode(error, 'DAEMON_UNREACHABLE')).toBe(true);
    expect((error as Error).message).toContain(socketPath);
  });

  it('streams changes as server-sent events', async () => {
    const s = await serve();
    const received: string[] = [];
    const request = http.get({ socketPath: s.socketPath, path: '/v1/events', agent: false });
    const gotChange = new Promise<void>((resolve, reject) => {
      request.on('error', reject);
      request.on('response', (response) => {
        expect(response.headers['content-type']).toBe('text/event-stream');
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          received.push(chunk);
          if (chunk.includes('event: hello')) void s.client.register('api', 'sse', { address: '127.0.0.1', port: 1 });
          if (received.join('').includes('event: change')) resolve();
        });
      });
    });
    await gotChange;
    request.destroy();
    const text = received.join('');
    expect(text).toContain('id: 1\nevent: change\ndata: {"index":1,"type":"register","service":"api","id":"sse"');
  });
});

describe('control API over TCP', () => {
  const TOKEN = 'tcp-token-123456';

  it('requires the bearer token', async () => {
    const s = await serve({ tcp: true, token: TOKEN });
    const url = `http://127.0.0.1:${s.server.tcpAddress!.port}`;
    const anonymous = await new ControlClient({ url }).services().catch((e: unknown) => e);
    expect(hasErrorCode(anonymous, 'UNAUTHORIZED')).toBe(true);
    const wrong = await new ControlClient({ url, token: 'nope-nope-nope' }).services().catch((e: unknown) => e);
    expect(hasErrorCode(wrong, 'UNAUTHORIZED')).toBe(true);
    const client = new ControlClient({ url, token: TOKEN });
    await client.register('api', 'tcp-1', { address: '127.0.0.1', port: 80 });
    expect((await client.services()).services[0]?.name).toBe('api');
    expect(s.registry.get('api', 'tcp-1')).toBeDefined();
  });

  it('refuses to start TCP without a token', async () => {
    const made = await makeDeps();
    cleanups.push(made.dispose);
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    await expect(startControlServer(made.deps, { socketPath: path.join(tmp.dir, 's.sock'), tcp: { host: '127.0.0.1', port: 0 } })).rejects.toThrow(/token/);
  });
});

/** A route that answers only when the test says so, and tells when a request has reached it. */
function heldRoute() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  let closeBegan!: () => void;
  const closing = new Promise<void>((resolve) => (closeBegan = resolve));
  const plugin: ControlPlugin = async (app) => {
    // A plugin's preClose hooks run after the shared plugins' ones: the app counts as closing from here.
    app.addHook('preClose', async () => closeBegan());
    app.get('/v1/test/held', async () => {
      arrived();
      await released;
      return { ok: true };
    });
  };
  return { plugin, reached, release, closing };
}

describe('closing the control API with clients connected', () => {
  it('lets a request in flight finish, with Connection: close, and does not wait for its keep-alive connection', async () => {
    const held = heldRoute();
    const s = await serve({ plugins: [held.plugin] });
    const agent = new http.Agent({ keepAlive: true });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ socketPath: s.socketPath, path: '/v1/test/held', agent }, resolve).on('error', reject);
    });
    await held.reached;
    const closed = s.server.close();
    await held.closing;
    held.release();
    const answer = await response;
    expect(answer.statusCode).toBe(200);
    expect(answer.headers.connection).toBe('close');
    answer.resume();
    // Without the header node would keep the idle connection, and close() would wait for keepAliveTimeout.
    await closed;
    agent.destroy();
  });

  it('ends open event streams and closes their connections', async () => {
    const s = await serve();
    const agent = new http.Agent({ keepAlive: true });
    const streamEnded = new Promise<string>((resolve, reject) => {
      http
        .get({ socketPath: s.socketPath, path: '/v1/events', agent }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
            if (text.includes('event: hello')) void s.server.close();
          });
          response.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(await streamEnded).toContain('event: hello');
    await s.server.close();
    agent.destroy();
  });

  it('cuts a request that never finishes once the shutdown grace has passed', async () => {
    const held = heldRoute();
    const s = await serve({ plugins: [held.plugin], shutdownGraceMs: 50 });
    const failed = new Promise<Error>((resolve) => {
      http.get({ socketPath: s.socketPath, path: '/v1/test/held', agent: false }, () => resolve(new Error('answered'))).on('error', resolve);
    });
    await held.reached;
    await s.server.close();
    expect((await failed).message).toBe('socket hang up');
    held.release();
  });
});
