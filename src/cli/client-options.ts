/** How CLI commands find the daemon: `--url` + `--token` (TCP) or the Unix socket (`--socket`, else `<data dir>/beacon.sock`). */
import path from 'node:path';
import { defaultSocketPath } from '../config.js';
import { envOf, specOf } from '../config/settings.js';
import { ControlClient } from '../control/client.js';

/** Connection flags shared by every client command. */
export interface ConnectionFlags {
  socket?: string;
  dataDir?: string;
  url?: string;
  token?: string;
  timeout?: string;
}

/** Build the control API client from flags, then `BEACON_*` variables, then defaults. */
export function clientFrom(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ControlClient {
  const url = flags.url ?? env.BEACON_URL;
  const token = flags.token ?? env[envOf('token')];
  if (url) return new ControlClient({ url, ...(token ? { token } : {}) });
  // The same variables and defaults the daemon reads, so both ends agree on the socket without flags.
  const socket = flags.socket ?? env[envOf('socket')];
  const dataDir = flags.dataDir ?? env[envOf('dataDir')] ?? String(specOf('dataDir').default);
  return new ControlClient({ socketPath: path.resolve(cwd, socket ?? defaultSocketPath(dataDir)) });
}
