import { pino, type Logger, type LoggerOptions } from 'pino';

/** The logger type used across Beacon. */
export type { Logger } from 'pino';

/** Options for the root logger. */
export interface LogOptions {
  /** pino level; `silent` turns logging off (the library default). */
  level?: string;
  /** Human-readable output through pino-pretty (dev dependency; falls back to JSON if absent). */
  pretty?: boolean;
}

/** Create the root logger. Libraries get a silent one unless the caller passes theirs. */
export function createLogger(options: LogOptions = {}): Logger {
  const base: LoggerOptions = { level: options.level ?? 'info', base: { app: 'beacon' } };
  if (options.pretty) {
    try {
      return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
    } catch {
      // pino-pretty is a dev dependency; JSON logs are always available.
    }
  }
  return pino(base);
}

/** A logger that discards everything: the default for in-process library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** One child logger per module, so every line says where it came from. */
export function moduleLogger(parent: Logger, module: string): Logger {
  return parent.child({ module });
}
