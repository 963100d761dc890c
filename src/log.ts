import { createRequire } from 'node:module';
import { pino, type Bindings, type ChildLoggerOptions, type Logger, type LoggerOptions } from 'pino';

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

/** How a lazy child reaches the logger it stands for (see lazyChildLogger). */
const MATERIALISE = Symbol('beacon.lazyChildLogger.materialise');
type Lazy = Logger & { readonly [MATERIALISE]: Logger };

/** A lazy child's log methods before it exists: each call creates the child, then logs through it. */
const deferredMethods = new Map<string | symbol, (this: Lazy, ...args: unknown[]) => unknown>();
for (const name of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'child']) {
  deferredMethods.set(name, function deferred(this: Lazy, ...args: unknown[]): unknown {
    const real = this[MATERIALISE] as unknown as Record<string, (...a: unknown[]) => unknown>;
    return real[name]!(...args);
  });
}

/**
 * `parent.child(bindings, options)`, created only when something is logged through it or it is otherwise
 * used. The control API makes one per request (fastify's request logger, bound to the request id) and
 * almost never logs through it at the daemon's levels: pino would serialise the bindings of each one up
 * front (`asChindings`), for nothing. A call at a level that is off goes to the parent's no-op, so lines
 * appear exactly when and as an eager child would write them; any other use creates the child and forwards
 * to it. Options that change the child (level, serializers...) make it eagerly.
 */
export function lazyChildLogger(parent: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
  if (options !== undefined && Object.keys(options).length > 0) return parent.child(bindings, options);
  let child: Logger | undefined;
  // No options: pino's faster child path (an empty options object takes the general one, same result).
  const materialise = (): Logger => (child ??= parent.child(bindings));
  return new Proxy(parent, {
    get(target, property) {
      if (property === MATERIALISE) return materialise();
      if (child === undefined) {
        const deferred = deferredMethods.get(property);
        if (deferred !== undefined) {
          // A level that is off: the parent's method is pino's no-op, and so is the child's.
          if (property !== 'child' && !target.isLevelEnabled(property as string)) return Reflect.get(target, property, target) as unknown;
          return deferred;
        }
      }
      const real = materialise();
      return Reflect.get(real, property, real) as unknown;
    },
    set(_target, property, value) {
      const real = materialise();
      return Reflect.set(real, property, value, real);
    },
    has(_target, property) {
      return Reflect.has(materialise(), property);
    },
  }) as Lazy;
}
