/** Turns `beacon register` / `beacon run` flags into a registration body, validating durations and numbers. */
import { parseDuration, parseListenAddress } from '../config.js';
import type { RegisterBody } from '../control/client.js';
import { InvalidArgumentError } from '../errors.js';
import type { HealthStatus } from '../registry/types.js';

/** The instance flags shared by `register` and `run`. */
export interface InstanceFlags {
  address?: string;
  port?: string;
  tag?: string[];
  meta?: string[];
  weight?: string;
  priority?: string;
  protocol?: string;
  host?: string;
  ttl?: string;
  health?: string;
  httpCheck?: string;
  tcpCheck?: string | boolean;
  ttlCheck?: boolean;
  checkInterval?: string;
  checkTimeout?: string;
}

function integer(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`--${field}: not a whole number: ${value}`, field);
  return Number(value);
}

function duration(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value, `--${field}`);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message, field);
  }
}

/** Collect a repeatable flag. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Build the body. The daemon validates again; this only catches what the CLI can tell early. */
export function registerBody(flags: InstanceFlags): RegisterBody {
  const port = integer(flags.port, 'port');
  if (port === undefined) throw new InvalidArgumentError('--port is required', 'port');
  const metadata: Record<string, string> = {};
  for (const entry of flags.meta ?? []) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`--meta expects key=value, got ${JSON.stringify(entry)}`, 'meta');
    metadata[entry.slice(0, at)] = entry.slice(at + 1);
  }
  const checks = [flags.httpCheck !== undefined, flags.tcpCheck !== undefined && flags.tcpCheck !== false, flags.ttlCheck === true].filter(Boolean).length;
  if (checks > 1) throw new InvalidArgumentError('use one of --http-check, --tcp-check and --ttl-check', 'check');
  const intervalMs = duration(flags.checkInterval, 'check-interval');
  const timeoutMs = duration(flags.checkTimeout, 'check-timeout');
  const timing = { ...(intervalMs === undefined ? {} : { intervalMs }), ...(timeoutMs === undefined ? {} : { timeoutMs }) };
  let check: RegisterBody['check'];
  if (flags.httpCheck !== undefined) check = { type: 'http', url: flags.httpCheck, ...timing };
  else if (flags.tcpCheck !== undefined && flags.tcpCheck !== false) {
    if (flags.tcpCheck === true) check = { type: 'tcp', ...timing };
    else {
      const target = parseListenAddress(flags.tcpCheck, '--tcp-check', flags.address ?? '127.0.0.1');
      check = { type: 'tcp', host: target.host, port: target.port, ...timing };
    }
  } else if (flags.ttlCheck) check = { type: 'ttl' };
  else if (intervalMs !== undefined || timeoutMs !== undefined) {
    throw new InvalidArgumentError('--check-interval/--check-timeout need --http-check or --tcp-check', 'check');
  }
  const weight = integer(flags.weight, 'weight');
  const priority = integer(flags.priority, 'priority');
  const ttlMs = duration(flags.ttl, 'ttl');
  if (flags.protocol !== undefined && flags.protocol !== 'tcp' && flags.protocol !== 'udp') {
    throw new InvalidArgumentError(`--protocol must be tcp or udp, got ${flags.protocol}`, 'protocol');
  }
  return {
    address: flags.address ?? '127.0.0.1',
    port,
    ...(flags.tag?.length ? { tags: flags.tag } : {}),
    ...(Object.keys(metadata).length ? { metadata } : {}),
    ...(weight === undefined ? {} : { weight }),
    ...(priority === undefined ? {} : { priority }),
    ...(flags.protocol === undefined ? {} : { protocol: flags.protocol as 'tcp' | 'udp' }),
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...(flags.health === undefined ? {} : { health: flags.health as HealthStatus }),
    ...(check ? { check } : {}),
  };
}
