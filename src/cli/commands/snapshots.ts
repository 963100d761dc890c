/**
 * `snapshot save|restore FILE`: move the registry (and dynamic zone data) as a JSON file on this machine. The file is read and
 * written here, by the CLI; the daemon only sends and receives the document over its API, so
 * `--url http://remote` saves locally too.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { readBeaconSnapshot, writeBeaconSnapshotFile } from '../../control/zone-snapshot.js';
import { client, clientCommand, output, type CommonFlags } from './shared.js';

/** Add `snapshot save` and `snapshot restore` to the program. */
export function addSnapshotCommands(program: Command): void {
  const snapshot = program.command('snapshot').description('save or restore the registry as a JSON file on this machine');
  clientCommand(snapshot.command('save'))
    .description('write a snapshot of the registry to FILE (here, not on the daemon\'s host)')
    .argument('<file>')
    .action(async (file: string, flags: CommonFlags) => {
      const target = path.resolve(file);
      const document = await client(flags).snapshot();
      const saved = await writeBeaconSnapshotFile(document, target);
      const zoneRRsets = document.version === 2 ? document.zone.length : 0;
      const result = { file: target, index: saved.index, instances: saved.records, zoneRRsets };
      output(flags, result, () => `saved ${result.instances} instances${zoneRRsets > 0 ? ` and ${zoneRRsets} zone RRsets` : ''} (index ${result.index}) to ${result.file}`);
    });
  clientCommand(snapshot.command('restore'))
    .description('make the registry hold exactly the instances in FILE (read here)')
    .argument('<file>')
    .action(async (file: string, flags: CommonFlags) => {
      const source = path.resolve(file);
      // Checked here first for a message naming the file; the daemon validates the document again.
      const document = await readBeaconSnapshot(source);
      const restored = await client(flags).restoreSnapshot(document);
      const result = { file: source, ...restored };
      output(flags, result, () => `restored ${result.instances} instances${result.zoneRRsets === undefined ? '' : ` and ${result.zoneRRsets} zone RRsets`} from ${result.file} (index ${result.index})`);
    });
}
