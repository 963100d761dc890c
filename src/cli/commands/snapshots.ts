/** `snapshot save|restore`: move a registry as a JSON file (paths are resolved here, on the client side). */
import path from 'node:path';
import type { Command } from 'commander';
import { client, clientCommand, output, type CommonFlags } from './shared.js';

/** Add `snapshot save` and `snapshot restore` to the program. */
export function addSnapshotCommands(program: Command): void {
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
}
