#!/usr/bin/env node
/**
 * The `beacon` command. `serve` runs the daemon; every other command is a client of its control API
 * (Unix socket by default, or `--url` + `--token`). Human tables by default, `--json` for scripts; an error
 * is one line on stderr and a non-zero exit status.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { loadConfig, parseDuration, type RawSettings } from '../config.js';
import type { InstanceView } from '../control/instance-view.js';
import type { ControlClient } from '../control/client.js';
import type { Beacon } from '../daemon/beacon.js';
import { BEACON_VERSION } from '../daemon/version.js';
import { isBeaconError } from '../errors.js';
import { createLogger } from '../log.js';
import { HEALTH_STATUSES, SELECTION_STRATEGIES } from '../registry/types.js';
import { clientFrom, type ConnectionFlags } from './client-options.js';
import { healthCell, instanceDetails, instancesTable, table } from './format.js';
import { collect, registerBody, type InstanceFlags } from './register-body.js';
import { runRegistered } from './run.js';

type CommonFlags = ConnectionFlags & { json?: boolean };

const print = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

/** Print `value` as JSON with `--json`, else the human rendering. */
function output(flags: CommonFlags, value: unknown, human: () => string): void {
  print(flags.json ? JSON.stringify(value, null, 2) : human());
}

/** Add the connection and output flags every client command takes. */
function clientCommand(command: Command): Command {
  return command
    .option('--socket <path>', 'control socket (default: $BEACON_SOCKET or <data dir>/beacon.sock)')
    .option('--data-dir <dir>', 'data directory holding the socket (default: $BEACON_DATA_DIR or ./.beacon)')
    .option('--url <url>', 'control API over TCP instead, e.g. http://127.0.0.1:8500 (default: $BEACON_URL)')
    .option('--token <token>', 'bearer token for --url (default: $BEACON_TOKEN)')
    .option('--json', 'print JSON instead of a table');
}

function instanceOptions(command: Command): Command {
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

const client = (flags: CommonFlags): ControlClient => clientFrom(flags);
const label = (i: InstanceView): string => `${i.service}/${i.id}`;

/** Wait for SIGINT/SIGTERM, or for `signal` to abort. */
function untilInterrupted(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { signal: controller.signal, dispose: () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); } };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
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

async function serve(flags: Record<string, unknown>): Promise<void> {
  const settings: RawSettings = {
    dataDir: flags.dataDir,
    ephemeral: flags.ephemeral,
    store: flags.store,
    etcdEndpoints: flags.etcdEndpoints,
    domain: flags.domain,
    dnsListen: flags.dnsListen,
    zones: flags.zones,
    answerTtl: flags.answerTtl,
    negativeTtl: flags.negativeTtl,
    socket: flags.socket,
    http: flags.http,
    token: flags.token,
    ttl: flags.ttl,
    checkInterval: flags.checkInterval,
    deregisterCriticalAfter: flags.deregisterCriticalAfter,
    breakerFailures: flags.breakerFailures,
    breakerSuccesses: flags.breakerSuccesses,
    breakerOpenTimeout: flags.breakerOpenTimeout,
    breakerHalfOpenCalls: flags.breakerHalfOpenCalls,
    workers: flags.workers,
    logLevel: flags.logLevel,
    pretty: flags.pretty,
  };
  const config = loadConfig({ flags: settings, ...(typeof flags.config === 'string' ? { configFile: flags.config } : {}) });
  const logger = createLogger({ level: config.logLevel, pretty: config.pretty || process.stdout.isTTY === true });
  // Signals are handled from the start: one that arrives while starting stops the daemon once it is up.
  let beacon: Beacon | undefined;
  let stopRequested: NodeJS.Signals | undefined;
  let stopping = false;
  const stop = (running: Beacon): void => {
    stopping = true;
    running
      .close()
      .then(() => {
        logger.flush?.();
        // Nothing else should hold the loop; exit explicitly so a stray handle cannot keep a stopped daemon alive.
        setImmediate(() => process.exit(0));
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping || stopRequested) {
      // A second signal: the operator insists. Leave at once.
      process.exit(130);
    }
    logger.info({ signal }, 'signal received');
    if (beacon) stop(beacon);
    else stopRequested = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Loaded here, not at the top: client commands then start without fastify, SQLite, etcd and DNS code.
    const { startBeacon } = await import('../daemon/beacon.js');
    beacon = await startBeacon(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'cannot start');
    logger.flush?.();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw error;
  }
  if (stopRequested) stop(beacon);
}

/** Build the command-line program. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('beacon')
    .description('A service registry that publishes itself as DNS (DNS-SD, RFC 6763).')
    .version(BEACON_VERSION)
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('serve')
    .description('run the daemon: DNS server, control API, health checks and TTL reaper')
    .option('--config <file>', 'JSON config file (default: $BEACON_CONFIG)')
    .option('--data-dir <dir>', 'data directory: SQLite database and control socket (default ./.beacon)')
    .option('--ephemeral', 'keep the registry in memory only (no database)')
    .addOption(new Option('--store <kind>', 'storage backend (default sqlite)').choices(['sqlite', 'memory', 'etcd']))
    .option('--etcd-endpoints <list>', 'etcd endpoints for --store etcd, comma-separated')
    .option('--domain <name>', 'DNS-SD domain (default local.)')
    .option('--dns-listen <host:port>', 'DNS listen address, UDP and TCP; repeatable (default 127.0.0.1:8053)', collect)
    .option('--zones <dir>', 'directory of static zone files (*.zone)')
    .option('--answer-ttl <seconds>', 'TTL of answers (default 5)')
    .option('--negative-ttl <seconds>', 'TTL of negative answers (default 5)')
    .option('--socket <path>', 'control socket (default <data dir>/beacon.sock)')
    .option('--http <host:port>', 'also serve the control API on TCP (needs --token)')
    .option('--token <token>', 'bearer token for the TCP control API')
    .option('--ttl <duration>', 'default heartbeat TTL (default 30s)')
    .option('--check-interval <duration>', 'default active check interval (default 10s)')
    .option('--deregister-critical-after <duration>', 'remove instances unhealthy for this long (default 90s)')
    .option('--breaker-failures <n>', 'consecutive failures that open a circuit (default 5)')
    .option('--breaker-successes <n>', 'half-open successes that close it (default 2)')
    .option('--breaker-open-timeout <duration>', 'how long a circuit stays open (default 30s)')
    .option('--breaker-half-open-calls <n>', 'trial calls admitted while half-open (default 1)')
    .option('--workers <n>', 'DNS worker processes sharing the DNS sockets (default 1: answer in the main process)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option('--pretty', 'human-readable logs (default when stdout is a terminal)')
    .addHelpText('after', '\nEvery flag also reads from BEACON_<FLAG> (e.g. BEACON_DNS_LISTEN) and from the --config file (camelCase keys).\nPrecedence: flags > environment > config file > defaults.')
    .action((flags: Record<string, unknown>) => serve(flags));

  instanceOptions(clientCommand(program.command('register')))
    .description('register (or replace) an instance')
    .argument('<service>', 'service name, e.g. api (published as _api._tcp.<domain>)')
    .argument('<id>', 'instance name (DNS-SD instance label, up to 63 octets)')
    .requiredOption('--port <port>', 'port (1..65535)')
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
    .action(async (service: string, id: string, flags: CommonFlags & { fail?: boolean; note?: string; every?: string }) => {
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
    });

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

  clientCommand(program.command('services'))
    .description('list services')
    .action(async (flags: CommonFlags) => {
      const result = await client(flags).services();
      output(flags, result, () =>
        result.services.length === 0
          ? 'no services'
          : table(['SERVICE', 'PROTOCOLS', 'INSTANCES', 'HEALTHY'], result.services.map((s) => [s.name, s.protocols.join(','), String(s.instances), String(s.healthy)])),
      );
    });

  clientCommand(program.command('instances'))
    .description('list a service\'s instances with health and circuit state')
    .argument('<service>')
    .option('--tag <tag>', 'only instances with this tag; repeatable (all must match)', collect)
    .option('--healthy', 'only instances that can be served')
    .action(async (service: string, flags: CommonFlags & { tag?: string[]; healthy?: boolean }) => {
      const result = await client(flags).instances(service, { ...(flags.tag ? { tags: flags.tag } : {}), ...(flags.healthy ? { healthy: true } : {}) });
      output(flags, result, () => (result.instances.length === 0 ? 'no matching instances' : instancesTable(result.instances)));
    });

  clientCommand(program.command('resolve'))
    .description('pick one instance of a service')
    .argument('<service>')
    .addOption(new Option('--strategy <name>', 'selection strategy').choices([...SELECTION_STRATEGIES]).default('round-robin'))
    .option('--tag <tag>', 'required tag; repeatable', collect)
    .option('--healthy', 'only healthy instances (the default)')
    .option('--any-health', 'consider unhealthy instances too')
    .action(async (service: string, flags: CommonFlags & { strategy: (typeof SELECTION_STRATEGIES)[number]; tag?: string[]; anyHealth?: boolean }) => {
      const result = await client(flags).resolve(service, { strategy: flags.strategy, ...(flags.tag ? { tags: flags.tag } : {}), healthy: !flags.anyHealth });
      output(flags, result, () => `${result.instance.address}:${result.instance.port}\t${label(result.instance)}`);
    });

  clientCommand(program.command('show'))
    .description('show one instance')
    .argument('<service>')
    .argument('<id>')
    .action(async (service: string, id: string, flags: CommonFlags) => {
      const result = await client(flags).instance(service, id);
      output(flags, result, () => instanceDetails(result.instance));
    });

  clientCommand(program.command('stats'))
    .description('registry, DNS and health check statistics')
    .action(async (flags: CommonFlags) => {
      const result = await client(flags).stats();
      output(flags, result, () => {
        const r = result.registry;
        const dns = result.dns as { queries?: number; cacheHits?: number; cacheMisses?: number } | undefined;
        const rows: [string, string][] = [
          ['services', String(r.totalServices)],
          ['instances', `${r.totalInstances} (${r.healthyInstances} healthy, ${r.unhealthyInstances} unhealthy, ${r.unknownInstances} unknown, ${r.maintenanceInstances} in maintenance)`],
          ['change index', String(r.index)],
        ];
        if (dns) rows.push(['dns queries', `${dns.queries ?? 0} (cache hits ${dns.cacheHits ?? 0}, misses ${dns.cacheMisses ?? 0})`]);
        return table(['STAT', 'VALUE'], rows);
      });
    });

  clientCommand(program.command('info'))
    .description('where the daemon listens (DNS, control) and what it stores')
    .action(async (flags: CommonFlags) => {
      const result = await client(flags).info();
      output(flags, result, () => JSON.stringify(result, null, 2));
    });

  clientCommand(program.command('watch'))
    .description('print registry changes as they happen (until interrupted)')
    .option('--index <n>', 'start after this change index (default: now)')
    .option('--wait <duration>', 'long-poll wait per request', '30s')
    .action(async (flags: CommonFlags & { index?: string; wait: string }) => {
      const api = client(flags);
      const waitMs = parseDuration(flags.wait, '--wait');
      let index = flags.index === undefined ? (await api.watch(0, 1)).index : Number(flags.index);
      const { signal, dispose } = untilInterrupted();
      try {
        while (!signal.aborted) {
          let result;
          try {
            result = await api.watch(index, waitMs, signal);
          } catch (error) {
            if (signal.aborted) break; // interrupted: the request was abandoned on purpose
            throw error;
          }
          if (result.reset) print(flags.json ? JSON.stringify({ reset: true, index: result.index }) : `reset: history before ${result.index} no longer kept`);
          for (const e of result.events) {
            print(flags.json ? JSON.stringify(e) : `${e.index}\t${e.type}\t${e.service}/${e.id}\t${e.removed ? 'removed' : `${e.health}${e.maintenance ? ' maintenance' : ''}`}`);
          }
          index = result.index;
        }
      } finally {
        dispose();
      }
    });

  const snapshot = program.command('snapshot').description('save or restore the registry as a JSON file');
  clientCommand(snapshot.command('save'))
    .description('write a snapshot of the registry to FILE')
    .argument('<file>')
    .action(async (file: string, flags: CommonFlags) => {
      const result = await client(flags).snapshotSave(path.resolve(file));
      output(flags, result, () => `saved ${result.instances} instances (index ${result.index}) to ${result.file}`);
    });
  clientCommand(snapshot.command('restore'))
    .description('make the registry hold exactly the instances in FILE')
    .argument('<file>')
    .action(async (file: string, flags: CommonFlags) => {
      const result = await client(flags).snapshotRestore(path.resolve(file));
      output(flags, result, () => `restored ${result.instances} instances from ${result.file} (index ${result.index})`);
    });

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
      const code = await runRegistered({
        client: client(flags),
        service: flags.service,
        id: flags.id ?? `${flags.service}-${process.pid}`,
        body,
        command,
        heartbeatMs,
        log: (line) => process.stderr.write(`beacon run: ${line}\n`),
      });
      process.exitCode = code;
    });

  return program;
}

/** Parse argv and run; errors become one line on stderr and exit status 1. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = isBeaconError(error) ? ` [${error.code}]` : '';
    process.stderr.write(`beacon: ${message}${code}\n`);
    process.exitCode = 1;
  }
}

// Run when executed as the `beacon` bin (also through the npm bin symlink), not when imported by tests.
const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) void main();
