/** How CLI commands find the daemon: `--url` + `--token` (TCP) or the Unix socket (`--socket`, else `<data dir>/beacon.sock`). */
import path from 'node:path';
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
  const token = flags.token ?? env.BEACON_TOKEN;
  if (url) return new ControlClient({ url, ...(token ? { token } : {}) });
  const socket = flags.socket ?? env.BEACON_SOCKET;
  const dataDir = flags.dataDir ?? env.BEACON_DATA_DIR ?? './.beacon';
  return new ControlClient({ socketPath: path.resolve(cwd, socket ?? path.join(dataDir, 'beacon.sock')) });
}
