/** Commands that change one instance: register, deregister, heartbeat, health, maintenance, report, and run. */
import { Command, Option } from 'commander';
import { parseDuration } from '../../config.js';
import { HEALTH_STATUSES } from '../../registry/types.js';
import { healthCell } from '../format.js';
import { registerBody, type InstanceFlags } from '../register-body.js';
import { runRegistered } from '../run.js';
import { client, clientCommand, instanceOptions, label, output, sleep, untilInterrupted, type CommonFlags } from './shared.js';

/** Add register, deregister, heartbeat, health, maintenance and report to the program. */
export function addInstanceCommands(program: Command): void {
  instanceOptions(clientCommand(program.command('register')))
    .description('register (or replace) an instance')
    .argument('<service>', 'service name, e.g. api (published as _api._tcp.<domain>)')
    .argument('<id>', 'instance name (DNS-SD instance label, up to 63 octets)')
    // Not a commander requiredOption: commander checks those before arguments, so `register web` (no id)
    // would complain about --port; registerBody refuses a missing port instead.
    .option('--port <port>', 'port (1..65535), required')
    .addOption(new Option('--health <status>', 'initial health (instances without an active check)').choices([...HEALTH_STATUSES]))
    .action(async (service: string, id: string, flags: CommonFlags & InstanceFlags) => {
      const result = await client(flags).register(service, id, registerBody(flags));
      output(flags, result, () => `registered ${label(result.instance)} at ${result.instance.address}:${result.instance.port} (${result.instance.health}, index ${result.index})`);
    });

  clientCommand(program.command('deregister'))
    .description('remove an instance')
    .argument('<service>')
    .argument('<id>')
    .action(async (service: string, id: string, flags: CommonFlags) => {
      const result = await client(flags).deregister(service, id);
      output(flags, result, () => `deregistered ${service.toLowerCase()}/${id}`);
    });

  clientCommand(program.command('heartbeat'))
    .description('send a heartbeat (TTL check), once or --every interval until interrupted')
    .argument('<service>')
    .argument('<id>')
    .option('--fail', 'report failure instead of pass')
    .option('--note <text>', 'note stored with the heartbeat')
    .option('--every <duration>', 'repeat every interval until interrupted, e.g. 10s')
    .action(heartbeat);

  clientCommand(program.command('health'))
    .description('set an instance\'s health by hand')
    .argument('<service>')
    .argument('<id>')
    .addArgument(new Command().createArgument('<status>', 'healthy, unhealthy or unknown').choices([...HEALTH_STATUSES]))
    .option('--note <text>', 'note')
    .action(async (service: string, id: string, status: (typeof HEALTH_STATUSES)[number], flags: CommonFlags & { note?: string }) => {
      const result = await client(flags).setHealth(service, id, status, flags.note);
      output(flags, result, () => `${label(result.instance)}: ${healthCell(result.instance)}`);
    });

  clientCommand(program.command('maintenance'))
    .description('take an instance out of rotation (on) or put it back (off)')
    .argument('<service>')
    .argument('<id>')
    .addArgument(new Command().createArgument('<state>', 'on or off').choices(['on', 'off']))
    .option('--reason <text>', 'why')
    .action(async (service: string, id: string, state: 'on' | 'off', flags: CommonFlags & { reason?: string }) => {
      const result = await client(flags).maintenance(service, id, state === 'on', flags.reason);
      output(flags, result, () => `${label(result.instance)}: maintenance ${state}${result.instance.maintenanceReason ? ` (${result.instance.maintenanceReason})` : ''}`);
    });

  clientCommand(program.command('report'))
    .description('report a call outcome to an instance\'s circuit breaker')
    .argument('<service>')
    .argument('<id>')
    .addArgument(new Command().createArgument('<outcome>', 'success or failure').choices(['success', 'failure']))
    .action(async (service: string, id: string, outcome: 'success' | 'failure', flags: CommonFlags) => {
      const result = await client(flags).report(service, id, outcome);
      output(flags, result, () => `${result.service}/${result.id}: circuit ${result.circuit}`);
    });
}

/** `heartbeat`: once, or every `--every` until interrupted. */
async function heartbeat(service: string, id: string, flags: CommonFlags & { fail?: boolean; note?: string; every?: string }): Promise<void> {
  const api = client(flags);
  const beat = async (): Promise<void> => {
    const result = await api.heartbeat(service, id, flags.fail ? 'fail' : 'pass', flags.note);
    output(flags, result, () => `${service.toLowerCase()}/${id}: ${result.health}`);
  };
  if (flags.every === undefined) return beat();
  const every = parseDuration(flags.every, '--every');
  const { signal, dispose } = untilInterrupted();
  try {
    while (!signal.aborted) {
      await beat();
      await sleep(every, signal);
    }
  } finally {
    dispose();
  }
}

/** Add `run` (register, run a command, heartbeat while it lives, deregister when it exits). */
export function addRunCommand(program: Command): void {
  instanceOptions(clientCommand(program.command('run')))
    .description('register a service, run its command, heartbeat while it lives, deregister when it exits')
    .requiredOption('--service <name>', 'service name')
    .requiredOption('--port <port>', 'port the command serves on')
    .option('--id <id>', 'instance name (default: <service>-<pid>)')
    .option('--heartbeat <duration>', 'heartbeat period (default: a third of --ttl; --ttl defaults to 30s here)')
    .argument('<command...>', 'the command and its arguments, after --')
    .addHelpText('after', '\nExample: beacon run --service web --port 8080 --ttl 15s -- node server.js')
    .action(async (command: string[], flags: CommonFlags & InstanceFlags & { service: string; id?: string; heartbeat?: string }) => {
      const body = registerBody(flags);
      const ttlMs = body.ttlMs ?? 30_000;
      // Heartbeats must match the TTL the daemon applies: state it rather than rely on the daemon's default.
      if (body.ttlMs === undefined && (body.check === undefined || body.check.type === 'ttl')) body.ttlMs = ttlMs;
      const heartbeatMs = flags.heartbeat === undefined ? Math.max(100, Math.min(10_000, Math.floor(ttlMs / 3))) : parseDuration(flags.heartbeat, '--heartbeat');
      process.exitCode = await runRegistered({
        client: client(flags),
        service: flags.service,
        id: flags.id ?? `${flags.service}-${process.pid}`,
        body,
        command,
        heartbeatMs,
        log: (line) => process.stderr.write(`beacon run: ${line}\n`),
      });
    });
}
