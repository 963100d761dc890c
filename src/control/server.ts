/**
 * Runs the control API: always on a Unix socket (mode 0600, no token: file permissions are the access
 * control), and optionally on TCP (loopback by default) where a bearer token is required.
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { ListenAddress } from '../config.js';
import { InvalidConfigurationError } from '../errors.js';
import { buildControlApp } from './app.js';
import type { ControlApp, ControlDeps, ControlPlugin } from './plugin.js';

/** Where the control API listens. */
export interface ControlServerOptions {
  /** Unix socket path (created; a stale socket file is replaced, a live one is an error). */
  readonly socketPath: string;
  /** Optional TCP listener; needs `token`. */
  readonly tcp?: ListenAddress;
  /** Bearer token for the TCP listener. */
  readonly token?: string;
  /** Read-only token for the TCP listener (GET and HEAD only). */
  readonly readToken?: string;
  /** Where the TCP listener keeps browser sessions across restarts; in memory only when absent. */
  readonly sessionFile?: string;
  /** More APIs served on both listeners (see the plugin contract in plugin.ts). */
  readonly plugins?: readonly ControlPlugin[];
  /** How long `close()` lets requests in flight finish before it cuts their connections (default 10 s). */
  readonly shutdownGraceMs?: number;
}

/** Default for `shutdownGraceMs`: ample for any control request, well inside systemd's 90 s stop timeout. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** A running control API. */
export interface ControlServer {
  readonly socketPath: string;
  /** The bound TCP address, when TCP is enabled. */
  readonly tcpAddress?: AddressInfo;
  /** The socket listener's app (tests use `inject`). */
  readonly app: ControlApp;
  /** Stop accepting, finish in-flight requests, end watches, remove the socket file. */
  close(): Promise<void>;
}

/** Whether something is accepting connections on a Unix socket path. */
function socketIsLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: socketPath });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function prepareSocketPath(socketPath: string): Promise<void> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  let exists = false;
  try {
    const stat = await lstat(socketPath);
    if (!stat.isSocket()) throw new InvalidConfigurationError(`socket path ${socketPath} exists and is not a socket`, 'socket');
    exists = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (!exists) return;
  if (await socketIsLive(socketPath)) {
    throw new InvalidConfigurationError(`another beacon is already listening on ${socketPath}`, 'socket');
  }
  // A socket file left by a crashed daemon: nobody answers on it, so it is safe to replace.
  await unlink(socketPath);
}

/** Start the control API listeners. */
export async function startControlServer(deps: ControlDeps, options: ControlServerOptions): Promise<ControlServer> {
  if (options.tcp && options.token === undefined) {
    throw new InvalidConfigurationError('the TCP control listener needs a bearer token', 'token');
  }
  await prepareSocketPath(options.socketPath);
  const plugins = options.plugins ?? [];
  const app = buildControlApp(deps, { plugins });
  await app.listen({ path: options.socketPath });
  await chmod(options.socketPath, 0o600);
  let tcpApp: ControlApp | undefined;
  let tcpAddress: AddressInfo | undefined;
  if (options.tcp) {
    tcpApp = buildControlApp(deps, {
      token: options.token as string,
      ...(options.readToken === undefined ? {} : { readToken: options.readToken }),
      ...(options.sessionFile === undefined ? {} : { sessionFile: options.sessionFile }),
      plugins,
    });
    try {
      await tcpApp.listen({ host: options.tcp.host, port: options.tcp.port });
    } catch (error) {
      await app.close();
      throw error;
    }
    tcpAddress = tcpApp.server.address() as AddressInfo;
  }
  let closing: Promise<void> | undefined;
  return {
    socketPath: options.socketPath,
    ...(tcpAddress ? { tcpAddress } : {}),
    app,
    close() {
      closing ??= (async () => {
        // A bounded stop: a client that never finishes its request cannot hold the daemon's shutdown.
        const cut = setTimeout(() => {
          app.server.closeAllConnections();
          tcpApp?.server.closeAllConnections();
        }, options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
        cut.unref();
        try {
          await Promise.all([app.close(), tcpApp?.close()]);
        } finally {
          clearTimeout(cut);
        }
        await unlink(options.socketPath).catch(() => undefined);
      })();
      return closing;
    },
  };
}
