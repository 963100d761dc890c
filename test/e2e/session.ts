/** Reads and replays test/e2e/readme-session.txt against a daemon started by `startDaemon`. */
import { readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import path from 'node:path';
import { ROOT, type Daemon } from './daemon.js';

/** One command of the session and the output it must print. */
export interface SessionStep {
  readonly command: string;
  readonly expected: string[];
}

/** The session's steps, in order. */
export function readSession(file = path.join(ROOT, 'test/e2e/readme-session.txt')): SessionStep[] {
  const steps: SessionStep[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
    else steps.at(-1)?.expected.push(line);
  }
  return steps;
}

/** Split a shell-like command line (no quotes are used in the session). */
export function words(command: string): string[] {
  return command.trim().split(/\s+/);
}

/** A dig command's parts: server port, name and type (the session only uses `+short`). */
export function parseDig(command: string): { port: number; name: string; type: string } {
  const args = words(command).slice(1);
  const port = Number(args[args.indexOf('-p') + 1]);
  const rest = args.filter((a, i) => !a.startsWith('@') && !a.startsWith('+') && a !== '-p' && args[i - 1] !== '-p');
  return { port, name: rest[0]!, type: rest[1] ?? 'A' };
}

/** What `dig +short` prints, computed with node's resolver instead. */
export async function digShortWithNode(port: number, name: string, type: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  try {
    switch (type) {
      case 'SRV':
        return (await resolver.resolveSrv(name)).map((r) => `${r.priority} ${r.weight} ${r.port} ${r.name}.`);
      case 'TXT':
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.map((c) => `"${c}"`).join(' '));
      case 'PTR':
        return (await resolver.resolvePtr(name)).map((n) => `${n}.`);
      case 'A':
        return resolver.resolve4(name);
      default:
        throw new Error(`session uses an unsupported type ${type}`);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw error;
  }
}

/** Replay the session: `beacon` lines through the real CLI, `dig` lines through `dig` (a function given). */
export async function replaySession(
  daemon: Daemon,
  dig: (port: number, name: string, type: string) => Promise<string[]>,
): Promise<{ command: string; expected: string[]; actual: string[] }[]> {
  const results: { command: string; expected: string[]; actual: string[] }[] = [];
  for (const step of readSession()) {
    const argv = words(step.command);
    if (argv[0] === 'npm') continue; // the daemon is already running (on a free port, in a temp dir)
    let actual: string[];
    if (argv[0] === 'beacon') {
      const out = await daemon.ok(...argv.slice(1));
      actual = out.replace(/\n$/, '').split('\n');
      results.push({ command: step.command, expected: step.expected, actual });
    } else if (argv[0] === 'dig') {
      const { name, type } = parseDig(step.command);
      actual = await dig(daemon.dnsPort, name, type);
      // Answers rotate: compare as sets.
      results.push({ command: step.command, expected: [...step.expected].sort(), actual: [...actual].sort() });
    } else {
      throw new Error(`unknown session command: ${step.command}`);
    }
  }
  return results;
}
