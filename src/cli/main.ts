#!/usr/bin/env node
/**
 * The `beacon` command. `serve` runs the daemon; every other command is a client of its control API
 * (Unix socket by default, or `--url` + `--token`). Human tables by default, `--json` for scripts; an error
 * is one line on stderr and a non-zero exit status. Each command group lives in commands/.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { BEACON_VERSION } from '../daemon/version.js';
import { isBeaconError } from '../errors.js';
import { addCompletionCommand } from './commands/completion.js';
import { addInstanceCommands, addRunCommand } from './commands/instances.js';
import { addQueryCommands } from './commands/queries.js';
import { addServeCommand } from './commands/serve.js';
import { addSnapshotCommands } from './commands/snapshots.js';
import { addZoneCommands } from './commands/zone.js';

/**
 * Build the command-line program (commands in the order `beacon --help` lists them). Usage errors throw a
 * CommanderError (for `main` to report) instead of exiting; with `json`, commander prints nothing itself.
 */
export function buildProgram(options: { json?: boolean } = {}): Command {
  const program = new Command();
  program
    .name('beacon')
    .description('A service registry that publishes itself as DNS (DNS-SD, RFC 6763).')
    .version(BEACON_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // Set before the commands are added: subcommands inherit these settings. Help is wrapped to the terminal
    // (80 columns when not one), at most 100; wrapping goes on down to a 24-column description (commander
    // stops below 40, which left `serve --help`, whose long flags leave 36, unwrapped).
    .configureHelp({ helpWidth: Math.min(process.stdout.columns || 80, 100), minWidthToWrap: 24 })
    .exitOverride();
  if (options.json) program.configureOutput({ outputError: () => undefined }).showHelpAfterError(false);
  addServeCommand(program);
  addInstanceCommands(program);
  addQueryCommands(program);
  addSnapshotCommands(program);
  addZoneCommands(program);
  addRunCommand(program);
  addCompletionCommand(program);
  return program;
}

/** `--json` among the options (not among the words of a command run by `beacon run -- ...`). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Parse argv and run. An error is one line on stderr and exit status 1: `beacon: message [CODE]`, or with
 * `--json` the API's own shape `{"error":{"code","message"}}` so scripts parse both ends alike.
 */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const json = wantsJson(argv);
  try {
    await buildProgram({ json }).parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end here with status 0; usage errors were printed by commander unless --json.
      process.exitCode = error.exitCode;
      if (json && error.exitCode !== 0) writeError('INVALID_ARGUMENT', error.message.replace(/^error: /, ''), json);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    writeError(isBeaconError(error) ? error.code : undefined, message, json);
    process.exitCode = 1;
  }
}

function writeError(code: string | undefined, message: string, json: boolean): void {
  if (json) process.stderr.write(`${JSON.stringify({ error: { code: code ?? 'INTERNAL', message } })}\n`);
  else process.stderr.write(`beacon: ${message}${code ? ` [${code}]` : ''}\n`);
}

// Run when executed as the `beacon` bin (also through the npm bin symlink), not when imported by tests.
const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) void main();
