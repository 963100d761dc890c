/**
 * `beacon serve`: run the daemon. Its flags are generated from the settings table (src/config/settings.ts),
 * so a setting added there is a flag here, with the same help text, without touching this file.
 */
import { Command, Option } from 'commander';
import { loadConfig, type BeaconConfig } from '../../config.js';
import { CONFIG_FILE, defaultHelpOf, envOf, flagOf, SETTING_NAMES, specOf, type SettingName } from '../../config/settings.js';
import { settingsFromFlags } from '../../config/sources.js';
import type { Beacon } from '../../daemon/beacon.js';
import { createLogger, type Logger } from '../../log.js';
import { collect } from '../register-body.js';

/** The commander option of one setting: its flag, placeholder, help line, choices and list collection. */
export function settingOption(name: SettingName): Option {
  const spec = specOf(name);
  const defaultHelp = defaultHelpOf(name);
  const option = new Option(spec.arg ? `${flagOf(name)} ${spec.arg}` : flagOf(name), defaultHelp === undefined ? spec.description : `${spec.description} (default ${defaultHelp})`);
  if (spec.choices) option.choices(spec.choices);
  if (spec.repeatable) option.argParser(collect);
  return option;
}

/** Add `serve` to the program. No flag has a commander default: an absent flag lets env, file and defaults speak. */
export function addServeCommand(program: Command): Command {
  const command = program
    .command('serve')
    .description('run the daemon: DNS server, control API, health checks and TTL reaper')
    .option(`${CONFIG_FILE.flag} <file>`, `JSON config file (default: $${CONFIG_FILE.env})`);
  for (const name of SETTING_NAMES) command.addOption(settingOption(name));
  return command
    .addHelpText('after', `\nEvery flag also reads from BEACON_<FLAG> (e.g. ${envOf('dnsListen')})\nand from the ${CONFIG_FILE.flag} file (camelCase keys).\nPrecedence: flags > environment > config file > defaults.`)
    .action((flags: Record<string, unknown>) => serve(flags));
}

async function serve(flags: Record<string, unknown>): Promise<void> {
  const config = loadConfig({ flags: settingsFromFlags(flags), ...(typeof flags.config === 'string' ? { configFile: flags.config } : {}) });
  const logger = createLogger({ level: config.logLevel, pretty: config.pretty || process.stdout.isTTY === true });
  await runUntilSignalled(config, logger);
}

/** Close the daemon, then exit: 0 once closed, 1 if closing failed. */
function exitAfterClose(running: Beacon, logger: Logger): void {
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
}

/** Start the daemon and stop it on SIGINT/SIGTERM (a second signal exits at once). */
async function runUntilSignalled(config: BeaconConfig, logger: Logger): Promise<void> {
  // Signals are handled from the start: one that arrives while starting stops the daemon once it is up.
  let beacon: Beacon | undefined;
  let stopRequested = false;
  let stopping = false;
  const stop = (running: Beacon): void => {
    stopping = true;
    exitAfterClose(running, logger);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal: the operator insists. Leave at once.
    if (stopping || stopRequested) process.exit(130);
    logger.info({ signal }, 'signal received');
    if (beacon) stop(beacon);
    else stopRequested = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Before anything grows the heap (the registry loads next); process-wide, so here and not in startBeacon.
    const { applyHeapGrowth } = await import('../../daemon/heap-growth.js');
    logger.debug({ heapGrowth: applyHeapGrowth(config.heapGrowthPercent) }, 'heap growth');
    // Loaded here, not at the top: client commands then start without fastify, SQLite, etcd and DNS code.
    const { startBeacon } = await import('../../daemon/beacon.js');
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
