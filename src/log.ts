import { createRequire } from 'node:module';
import { pino, type Logger, type LoggerOptions } from 'pino';

/** The logger type used across Beacon. */
export type { Logger } from 'pino';

/** Options for the root logger. */
export interface LogOptions {
  /** pino level; `silent` turns logging off (the library default). */
  level?: string;
  /** Human-readable output through pino-pretty (an optional dependency; JSON, with one stderr line, if absent). */
  pretty?: boolean;
}

const requireFromHere = createRequire(import.meta.url);

/** Where pino-pretty is, or undefined when it is not installed (`npm install --omit=optional` leaves it out). */
function prettyTarget(): string | undefined {
  try {
    return requireFromHere.resolve('pino-pretty');
  } catch {
    return undefined;
  }
}

/** Create the root logger. Libraries get a silent one unless the caller passes theirs. */
export function createLogger(options: LogOptions = {}): Logger {
  const base: LoggerOptions = { level: options.level ?? 'info', base: { app: 'beacon' } };
  if (options.pretty) {
    // Resolved from here, not by pino from its own directory, so the package found is the one we depend on.
    const target = prettyTarget();
    if (target !== undefined) return pino({ ...base, transport: { target, options: { colorize: true } } });
    // Say why, once: silently printing JSON when pretty output was asked for looks like a bug.
    process.stderr.write('beacon: pretty logs need the optional package pino-pretty, which is not installed; logging JSON\n');
  }
  return pino(base);
}

/** A logger that discards everything: the default for in-process library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** One child logger per module, so every line says where it came from. */
export function moduleLogger(parent: Logger, module: string): Logger {
  return parent.child({ module });
}
