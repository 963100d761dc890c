#!/usr/bin/env node
/**
 * The `beacon` command. `serve` runs the daemon; every other command is a client of its control API
 * (Unix socket by default, or `--url` + `--token`). Human tables by default, `--json` for scripts; an error
 * is one line on stderr and a non-zero exit status. Each command group lives in commands/.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { BEACON_VERSION } from '../daemon/version.js';
import { isBeaconError } from '../errors.js';
import { addCompletionCommand } from './commands/completion.js';
import { addInstanceCommands, addRunCommand } from './commands/instances.js';
import { addQueryCommands } from './commands/queries.js';
import { addServeCommand } from './commands/serve.js';
import { addSnapshotCommands } from './commands/snapshots.js';

/** Build the command-line program (commands in the order `beacon --help` lists them). */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('beacon')
    .description('A service registry that publishes itself as DNS (DNS-SD, RFC 6763).')
    .version(BEACON_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // Set before the commands are added: they inherit it. Wrapped to the terminal (80 columns when not one),
    // at most 100; wrapping goes on down to a 24-column description (commander stops below 40, which left
    // `serve --help`, whose long flags leave 36, unwrapped).
    .configureHelp({ helpWidth: Math.min(process.stdout.columns || 80, 100), minWidthToWrap: 24 });
  addServeCommand(program);
  addInstanceCommands(program);
  addQueryCommands(program);
  addSnapshotCommands(program);
  addRunCommand(program);
  addCompletionCommand(program);
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
