/**
 * `zone` and `zone delete OWNER TYPE`: list and remove dynamic zone data, the RRsets DNS UPDATE keeps that
 * describe no instance (README, "Registration through DNS UPDATE").
 */
import type { Command } from 'commander';
import type { ZoneRRsetView } from '../../control/zone-view.js';
import { table } from '../format.js';
import { client, clientCommand, output, type CommonFlags } from './shared.js';

/** One row per record: OWNER, TYPE, TTL, DATA (an RRset of n records is n rows). */
export function zoneTable(rrsets: readonly ZoneRRsetView[]): string {
  const rows = rrsets.flatMap((set) => set.rdata.map((rdata) => [set.owner, set.type, String(set.ttl), rdata]));
  return table(['OWNER', 'TYPE', 'TTL', 'DATA'], rows);
}

/** Add `zone` and `zone delete` to the program. */
export function addZoneCommands(program: Command): void {
  const zone = clientCommand(program.command('zone'))
    .description('list dynamic zone data: records DNS UPDATE added that describe no instance')
    .action(async (flags: CommonFlags) => {
      const result = await client(flags).zone();
      await output(flags, result, () => (result.rrsets.length === 0 ? 'no dynamic zone data' : zoneTable(result.rrsets)));
    });
  clientCommand(zone.command('delete'))
    .description('delete one RRset of dynamic zone data (durable; DNS stops answering it)')
    .argument('<owner>', 'owner name, e.g. host.beacon.local.')
    .argument('<type>', 'record type, e.g. A, TXT, TYPE65280')
    .action(async (owner: string, type: string, _flags: CommonFlags, command: Command) => {
      // `zone` takes the same flags and commander gives them to it wherever they stand: read both levels.
      const flags = command.optsWithGlobals<CommonFlags>();
      const result = await client(flags).deleteZoneRRset(owner, type);
      const { deleted } = result;
      await output(flags, result, () => `deleted ${deleted.owner} ${deleted.type} (${deleted.rdata.length} record${deleted.rdata.length === 1 ? '' : 's'})`);
    });
}
