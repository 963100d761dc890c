/** What the client commands share: connection and output flags, printing, and waiting for Ctrl-C. */
import { Command, Option } from 'commander';
import type { ControlClient } from '../../control/client.js';
import type { InstanceView } from '../../control/instance-view.js';
import { clientFrom, type ConnectionFlags } from '../client-options.js';
import { hasNonAscii, loadDisplayWidth } from '../format.js';
import { collect } from '../register-body.js';

/** Flags every client command takes. */
export type CommonFlags = ConnectionFlags & { json?: boolean };

/** Write one line (or a block) to stdout. */
export const print = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

/** Print `value` as JSON with `--json`, else the human rendering (aligned by display width). */
export async function output(flags: CommonFlags, value: unknown, human: () => string): Promise<void> {
  if (flags.json) return print(JSON.stringify(value, null, 2));
  if (hasNonAscii(value)) await loadDisplayWidth();
  print(human());
}

/** Add the connection and output flags every client command takes. */
export function clientCommand(command: Command): Command {
  return command
    .option('--socket <path>', 'control socket (default: $BEACON_SOCKET or <data dir>/beacon.sock)')
    .option('--data-dir <dir>', 'data directory holding the socket (default: $BEACON_DATA_DIR or ./.beacon)')
    .option('--url <url>', 'control API over TCP instead, e.g. http://127.0.0.1:8500 (default: $BEACON_URL)')
    .option('--token <token>', 'bearer token for --url (default: $BEACON_TOKEN)')
    .option('--json', 'print JSON instead of a table');
}

/** Add the flags that describe an instance (`register`, `run`). */
export function instanceOptions(command: Command): Command {
  return command
    .option('--address <addr>', 'IPv4/IPv6 address or host name', '127.0.0.1')
    .option('--tag <tag>', 'tag (DNS-SD subtype); repeatable', collect)
    .option('--meta <key=value>', 'metadata published as TXT; repeatable', collect)
    .option('--weight <n>', 'SRV weight and weighted-random weight (0..65535)')
    .option('--priority <n>', 'SRV priority (0..65535, lower first)')
    .addOption(new Option('--protocol <proto>', 'DNS-SD protocol label').choices(['tcp', 'udp']))
    .option('--host <name>', 'SRV target host name (default: derived from the address)')
    .option('--ttl <duration>', 'heartbeat TTL, e.g. 10s (default: the daemon\'s)')
    .option('--http-check <url>', 'active HTTP check: 2xx is healthy')
    .option('--tcp-check [host:port]', 'active TCP connect check (default target: the instance)')
    .option('--ttl-check', 'liveness from heartbeats only (the default without a check)')
    .option('--check-interval <duration>', 'active check interval, e.g. 5s')
    .option('--check-timeout <duration>', 'active check timeout, e.g. 2s');
}

/** The control API client the flags point at. */
export const client = (flags: CommonFlags): ControlClient => clientFrom(flags);

/** `service/id`, as every human output names an instance. */
export const label = (i: InstanceView): string => `${i.service}/${i.id}`;

/** An abort signal raised by SIGINT or SIGTERM; `dispose` removes the handlers. */
export function untilInterrupted(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { signal: controller.signal, dispose: () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); } };
}

/** Wait `ms`, or less if `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
