/** Commands that read the registry: services, instances, resolve, show, stats, info, and watch. */
import { Command, Option } from 'commander';
import { parseDuration } from '../../config.js';
import { InvalidArgumentError } from '../../errors.js';
import type { WatchEvent } from '../../control/watch.js';
import { SELECTION_STRATEGIES } from '../../registry/types.js';
import { hasNonAscii, infoDetails, instanceDetails, loadDisplayWidth, instancesTable, statsTable, table, watchHeader, watchRow } from '../format.js';
import { collect } from '../register-body.js';
import { client, clientCommand, label, output, print, untilInterrupted, type CommonFlags } from './shared.js';

/** Add services, instances, resolve, show, stats, info and watch to the program. */
export function addQueryCommands(program: Command): void {
  clientCommand(program.command('services'))
    .description('list services')
    .action(async (flags: CommonFlags) => {
      const result = await client(flags).services();
      await output(flags, result, () =>
        result.services.length === 0
          ? 'no services'
          : table(['SERVICE', 'PROTOCOLS', 'INSTANCES', 'HEALTHY'], result.services.map((s) => [s.name, s.protocols.join(','), String(s.instances), String(s.healthy)])),
      );
    });

  clientCommand(program.command('instances'))
    .description('list a service\'s instances with health and circuit state')
    .argument('<service>', 'service name, e.g. api')
    .option('--tag <tag>', 'only instances with this tag; repeatable (all must match)', collect)
    .option('--healthy', 'only instances that can be served')
    .action(async (service: string, flags: CommonFlags & { tag?: string[]; healthy?: boolean }) => {
      const result = await client(flags).instances(service, { ...(flags.tag ? { tags: flags.tag } : {}), ...(flags.healthy ? { healthy: true } : {}) });
      await output(flags, result, () => (result.instances.length === 0 ? 'no matching instances' : instancesTable(result.instances)));
    });

  clientCommand(program.command('resolve'))
    .description('pick one instance of a service (healthy ones only, unless --any-health)')
    .argument('<service>', 'service name, e.g. api')
    .addOption(new Option('--strategy <name>', 'selection strategy').choices([...SELECTION_STRATEGIES]).default('round-robin'))
    .option('--tag <tag>', 'required tag; repeatable', collect)
    .option('--any-health', 'consider unhealthy instances too')
    .action(async (service: string, flags: CommonFlags & { strategy: (typeof SELECTION_STRATEGIES)[number]; tag?: string[]; anyHealth?: boolean }) => {
      const result = await client(flags).resolve(service, { strategy: flags.strategy, ...(flags.tag ? { tags: flags.tag } : {}), healthy: !flags.anyHealth });
      await output(flags, result, () => `${result.instance.address}:${result.instance.port}  ${label(result.instance)} (${result.instance.health})`);
    });

  clientCommand(program.command('show'))
    .description('show one instance: health, last check result, last heartbeat, TTL remaining')
    .argument('<service>', 'service name, e.g. api')
    .argument('<id>', 'instance name')
    .action(async (service: string, id: string, flags: CommonFlags) => {
      const result = await client(flags).instance(service, id);
      await output(flags, result, () => instanceDetails(result.instance));
    });

  clientCommand(program.command('stats'))
    .description('registry, health check and DNS statistics')
    .action(async (flags: CommonFlags) => {
      const result = await client(flags).stats();
      await output(flags, result, () => statsTable(result));
    });

  clientCommand(program.command('info'))
    .description('where the daemon listens (DNS, control) and what it stores')
    .action(async (flags: CommonFlags) => {
      const result = await client(flags).info();
      await output(flags, result, () => infoDetails(result));
    });

  clientCommand(program.command('watch'))
    .description('print registry changes as they happen, until interrupted (--json: one JSON object per line)')
    .option('--index <n>', 'start after this change index (default: now)')
    .option('--wait <duration>', 'long-poll wait per request', '30s')
    .action(watch);
}

/** One change as `watch` prints it: an aligned row, or a JSON line with --json. */
function watchLine(e: WatchEvent, json: boolean | undefined): string {
  return json ? JSON.stringify(e) : watchRow(e);
}

/** `watch`: long-poll from `--index` (default: now) and print every change until interrupted. */
async function watch(flags: CommonFlags & { index?: string; wait: string }): Promise<void> {
  const api = client(flags);
  const waitMs = parseDuration(flags.wait, '--wait');
  if (flags.index !== undefined && !/^\d+$/.test(flags.index)) throw new InvalidArgumentError(`--index: not a change index (a whole number >= 0): ${flags.index}`, 'index');
  let index = flags.index === undefined ? (await api.watch(0, 1)).index : Number(flags.index);
  const { signal, dispose } = untilInterrupted();
  if (!flags.json) print(watchHeader());
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
      if (!flags.json && hasNonAscii(result.events)) await loadDisplayWidth();
      for (const e of result.events) print(watchLine(e, flags.json));
      index = result.index;
    }
  } finally {
    dispose();
  }
}
