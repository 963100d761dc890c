// Pins every public error: its class name, its stable code and the HTTP status the control API answers
// with. Scripts and the CLI match on codes, so a rename must fail here first. Then every code is produced
// the way a user meets it (a request, a CLI run, a bad setting) and arrives in the documented shape.
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { buildControlApp } from '../src/control/app.js';
import { ConnectionError, ControlClient } from '../src/control/client.js';
import { writeClientError } from '../src/control/plugins/errors.js';
import { startControlServer } from '../src/control/server.js';
import { loadConfig } from '../src/config.js';
import {
  BeaconError,
  ERROR_CODES,
  ForbiddenError,
  NoEligibleInstanceError,
  type ErrorCode,
  InstanceNotFoundError,
  InvalidArgumentError,
  InvalidConfigurationError,
  NameConflictError,
  ServiceNotFoundError,
  StoreCorruptError,
  StoreUnavailableError,
  UnauthorizedError,
  hasErrorCode,
  isBeaconError,
} from '../src/index.js';
import type { ControlPlugin } from '../src/control/plugin.js';
import { makeDeps, tempDir } from './control/harness.js';

const table: [error: BeaconError, name: string, code: string, status: number][] = [
  [new ServiceNotFoundError('api'), 'ServiceNotFoundError', 'SERVICE_NOT_FOUND', 404],
  [new InstanceNotFoundError('api', 'a'), 'InstanceNotFoundError', 'INSTANCE_NOT_FOUND', 404],
  [new InvalidConfigurationError('bad ttl', 'defaultTtlMs'), 'InvalidConfigurationError', 'INVALID_CONFIGURATION', 400],
  [new InvalidArgumentError('bad port', 'port'), 'InvalidArgumentError', 'INVALID_ARGUMENT', 400],
  [new NameConflictError('a vs A'), 'NameConflictError', 'NAME_CONFLICT', 409],
  [new StoreUnavailableError('disk full'), 'StoreUnavailableError', 'STORE_UNAVAILABLE', 503],
  [new StoreCorruptError('bad row'), 'StoreCorruptError', 'STORE_CORRUPT', 500],
  [new UnauthorizedError(), 'UnauthorizedError', 'UNAUTHORIZED', 401],
  [new ForbiddenError('read-only'), 'ForbiddenError', 'FORBIDDEN', 403],
  [new ConnectionError('no daemon'), 'ConnectionError', 'DAEMON_UNREACHABLE', 503],
  [new NoEligibleInstanceError('api'), 'NoEligibleInstanceError', 'NO_ELIGIBLE_INSTANCE', 404],
];

describe('public errors', () => {
  it.each(table)('%s: name, code and HTTP status', (error, name, code, status) => {
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error).toBeInstanceOf(Error);
    expect(isBeaconError(error)).toBe(true);
    expect(hasErrorCode(error, code as BeaconError['code'])).toBe(true);
    expect(error.toJSON()).toEqual({ code, message: error.message });
  });

  it('has exactly these stable codes', () => {
    expect([...ERROR_CODES]).toEqual([
      'SERVICE_NOT_FOUND',
      'INSTANCE_NOT_FOUND',
      'NO_ELIGIBLE_INSTANCE',
      'INVALID_CONFIGURATION',
      'INVALID_ARGUMENT',
      'NAME_CONFLICT',
      'STORE_UNAVAILABLE',
      'STORE_CORRUPT',
      'UNAUTHORIZED',
      'FORBIDDEN',
      'NOT_FOUND',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'HEADERS_TOO_LARGE',
      'REQUEST_TIMEOUT',
      'SHUTTING_DOWN',
      'DAEMON_UNREACHABLE',
      'INTERNAL',
    ]);
  });

  it('uses only stable codes in its classes', () => {
    for (const [error] of table) expect(ERROR_CODES).toContain(error.code);
  });

  it('names the instance and service in not-found messages, and keeps their fields', () => {
    const error = new InstanceNotFoundError('api', 'a');
    expect(error.message).toBe('instance not found: a in service api');
    expect([error.service, error.instanceId]).toEqual(['api', 'a']);
    expect(new InvalidArgumentError('bad port', 'port').field).toBe('port');
  });
});

/** What a user received: the HTTP status (when over HTTP) and the error object. */
interface Received {
  readonly status?: number;
  readonly error: { code: string; message: string };
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A daemon's control API on a real Unix socket, with an instance to find and one that is never eligible. */
async function daemonApi() {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const made = await makeDeps();
  cleanups.push(made.dispose);
  await made.durable.register('api', { id: 'a', address: '10.0.0.1', port: 80 });
  await made.durable.register('down', { id: 'd', address: '10.0.0.2', port: 80, health: 'unhealthy' });
  const socketPath = path.join(tmp.dir, 'beacon.sock');
  const crash: ControlPlugin = async (app) => {
    app.get('/test/crash', async () => {
      throw new Error('a bug');
    });
  };
  const server = await startControlServer(made.deps, { socketPath, plugins: [crash] });
  cleanups.push(() => server.close());
  return { socketPath, made, client: new ControlClient({ socketPath }) };
}

/** Send `raw` bytes over the socket and parse the one HTTP answer. */
function rawRequest(socketPath: string, raw: string): Promise<Received> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      try {
        resolve({ status, error: (JSON.parse(body) as Received).error });
      } catch (error) {
        reject(new Error(`not a JSON answer: ${text.slice(0, 200)}`, { cause: error }));
      }
    });
    socket.write(raw);
  });
}

async function caught(promise: Promise<unknown>): Promise<Received> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isBeaconError(error)) throw new Error(`expected a BeaconError, got ${String(error)}`);
  return { status: error.status, error: error.toJSON() };
}
function thrown(fn: () => unknown): Received {
  try {
    fn();
  } catch (error) {
    if (isBeaconError(error)) return { error: error.toJSON() };
    throw error;
  }
  throw new Error('expected an error');
}

type Api = Awaited<ReturnType<typeof daemonApi>>;

/** How a user meets each code. Typed by ErrorCode: a new code does not compile until it has a way here. */
const PRODUCERS: Record<ErrorCode, (api: Api) => Promise<Received>> = {
  SERVICE_NOT_FOUND: (api) => caught(api.client.resolve('nothere')),
  INSTANCE_NOT_FOUND: (api) => caught(api.client.instance('api', 'ghost')),
  NO_ELIGIBLE_INSTANCE: (api) => caught(api.client.resolve('down')),
  INVALID_CONFIGURATION: async () => thrown(() => loadConfig({ env: { BEACON_TTL: '10' } })),
  INVALID_ARGUMENT: (api) => caught(api.client.register('api', 'x', { address: '10.0.0.1', port: 70000 })),
  NAME_CONFLICT: (api) => caught(api.client.register('api', 'A', { address: '10.0.0.1', port: 80 })),
  STORE_UNAVAILABLE: async () => ({ status: new StoreUnavailableError('disk full').status, error: new StoreUnavailableError('disk full').toJSON() }),
  STORE_CORRUPT: async () => ({ status: new StoreCorruptError('bad row').status, error: new StoreCorruptError('bad row').toJSON() }),
  UNAUTHORIZED: async (api) => {
    const app = buildControlApp(api.made.deps, { token: 'a-long-enough-token' });
    cleanups.push(() => app.close());
    const response = await app.inject({ method: 'GET', url: '/v1/services' });
    return { status: response.statusCode, error: response.json().error };
  },
  FORBIDDEN: async (api) => {
    const app = buildControlApp(api.made.deps, { token: 'a-long-enough-token', readToken: 'a-read-only-token' });
    cleanups.push(() => app.close());
    const response = await app.inject({
      method: 'PUT',
      url: '/v1/services/api/instances/ro',
      headers: { authorization: 'Bearer a-read-only-token' },
      payload: { address: '10.0.0.1', port: 80 },
    });
    return { status: response.statusCode, error: response.json().error };
  },
  NOT_FOUND: (api) => caught(api.client.request('GET', '/v1/nothing')),
  PAYLOAD_TOO_LARGE: (api) => caught(api.client.register('api', 'x', { address: '10.0.0.1', port: 80, metadata: { k: 'v'.repeat(70 * 1024) } })),
  UNSUPPORTED_MEDIA_TYPE: (api) =>
    rawRequest(api.socketPath, 'PUT /v1/services/api/instances/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=b'),
  // Refused by node's HTTP parser before fastify sees a request.
  HEADERS_TOO_LARGE: (api) => rawRequest(api.socketPath, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
  // node's requestTimeout is minutes long: drive the handler it calls with the error it raises.
  REQUEST_TIMEOUT: async () => {
    const socket = new PassThrough();
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    writeClientError(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    await new Promise((resolve) => setImmediate(resolve));
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), error: (JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Received).error };
  },
  SHUTTING_DOWN: async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const made = await makeDeps();
    cleanups.push(made.dispose);
    const socketPath = path.join(tmp.dir, 'closing.sock');
    let received: Received | undefined;
    // A request that arrives once closing has begun (this plugin's preClose runs after the error mapping's).
    const late: ControlPlugin = async (app) => {
      app.addHook('preClose', async () => {
        received = await caught(new ControlClient({ socketPath }).services());
      });
    };
    const server = await startControlServer(made.deps, { socketPath, plugins: [late] });
    await server.close();
    if (!received) throw new Error('no request was made while closing');
    return received;
  },
  DAEMON_UNREACHABLE: async (api) => caught(new ControlClient({ socketPath: `${api.socketPath}.absent` }).services()),
  INTERNAL: (api) => caught(api.client.request('GET', '/test/crash')),
};

const STATUS: Partial<Record<ErrorCode, number>> = {
  SERVICE_NOT_FOUND: 404,
  INSTANCE_NOT_FOUND: 404,
  NO_ELIGIBLE_INSTANCE: 404,
  INVALID_ARGUMENT: 400,
  NAME_CONFLICT: 409,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  SHUTTING_DOWN: 503,
  DAEMON_UNREACHABLE: 503,
  INTERNAL: 500,
};

describe('every error code, as a user meets it', () => {
  let api: Api;
  it.each([...ERROR_CODES])('%s arrives as {code, message} with its status', async (code) => {
    api ??= await daemonApi();
    const received = await PRODUCERS[code](api);
    expect(received.error).toEqual({ code, message: expect.any(String) });
    expect(received.error.message.length).toBeGreaterThan(0);
    if (STATUS[code] !== undefined) expect(received.status).toBe(STATUS[code]);
  });

  it('names the socket and how to start a daemon when none answers', async () => {
    api ??= await daemonApi();
    const received = await PRODUCERS.DAEMON_UNREACHABLE(api);
    expect(received.error.message).toContain(`${api.socketPath}.absent`);
    expect(received.error.message).toContain('beacon serve');
    expect(received.error.message).toContain('npm start');
  });

  it('hides internals in 500 answers', async () => {
    api ??= await daemonApi();
    expect((await PRODUCERS.INTERNAL(api)).error.message).toBe('internal error');
  });
});
