/**
 * `beacon run`: register a service, start its command, heartbeat while the child lives, deregister when
 * it exits, pass signals through, and exit with the child's exit code (128 + signal number if killed).
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { ControlClient, RegisterBody } from '../control/client.js';
import { hasErrorCode } from '../errors.js';

/** What `run` needs. */
export interface RunOptions {
  readonly client: ControlClient;
  readonly service: string;
  readonly id: string;
  readonly body: RegisterBody;
  readonly command: readonly string[];
  /** Heartbeat period; default a third of the TTL. */
  readonly heartbeatMs: number;
  readonly log: (line: string) => void;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];

/** Run the command under registration; resolves with the exit code to use. */
export async function runRegistered(options: RunOptions): Promise<number> {
  const { client, service, id, body, command, log } = options;
  const [file, ...args] = command;
  if (!file) throw new Error('run: no command given after --');
  await client.register(service, id, body);
  log(`registered ${service}/${id} at ${body.address}:${body.port}`);

  const child = spawn(file, args, { stdio: 'inherit' });
  const forwarders = FORWARDED.map((signal) => {
    const handler = (): void => {
      child.kill(signal);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });

  let beating = false;
  const timer = setInterval(() => {
    if (beating) return;
    beating = true;
    client
      .heartbeat(service, id)
      .catch(async (error: unknown) => {
        // Reaped while the daemon was unreachable, or the daemon restarted without it: register again.
        if (hasErrorCode(error, 'INSTANCE_NOT_FOUND') || hasErrorCode(error, 'SERVICE_NOT_FOUND')) await client.register(service, id, body);
        else throw error;
      })
      .catch((error: unknown) => log(`heartbeat failed: ${(error as Error).message}`))
      .finally(() => {
        beating = false;
      });
  }, options.heartbeatMs);

  const code = await new Promise<number>((resolve) => {
    child.once('error', (error) => {
      log(`cannot start ${file}: ${error.message}`);
      resolve(127);
    });
    child.once('exit', (exitCode, signal) => {
      if (exitCode !== null) resolve(exitCode);
      else resolve(128 + ((signal && osConstants.signals[signal]) || 0));
    });
  });
  clearInterval(timer);
  for (const off of forwarders) off();
  try {
    await client.deregister(service, id);
    log(`deregistered ${service}/${id}`);
  } catch (error) {
    log(`deregister failed: ${(error as Error).message}`);
  }
  return code;
}
