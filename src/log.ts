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

/** Whether `value` has an own enumerable key (without allocating the key list: fastify passes `{}` per request). */
function hasOwnKeys(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return false;
}

/** Where a lazy child keeps the child once made (see lazyChildLogger). */
const CHILD = Symbol('beacon.lazyChildLogger.child');

/** A lazy child's own state; every method lives on its prototype (see lazyPrototype). */
interface LazyChild {
  readonly pendingBindings: Bindings;
  [CHILD]: Logger | undefined;
}

type LoggerMethod = (...args: unknown[]) => unknown;

/** The child, made on first need. */
function materialise(lazy: LazyChild, parent: Logger): Logger {
  // No options: pino's faster child path (an empty options object takes the general one, same result).
  return (lazy[CHILD] ??= parent.child(lazy.pendingBindings));
}

/** One prototype per parent logger: the parent's members, with those that depend on the bindings deferred. */
const lazyPrototypes = new WeakMap<Logger, object>();

/** The parent asked for last and its prototype: one app asks with one parent, request after request. */
let lastParent: Logger | undefined;
let lastPrototype: object | undefined;

function lazyPrototype(parent: Logger): object {
  if (parent === lastParent && lastPrototype !== undefined) return lastPrototype;
  let prototype = lazyPrototypes.get(parent);
  if (prototype !== undefined) {
    lastParent = parent;
    lastPrototype = prototype;
    return prototype;
  }
  const members: PropertyDescriptorMap = {};
  for (const level of Object.keys(parent.levels.values)) {
    members[level] = {
      value(this: LazyChild, ...args: unknown[]): unknown {
        const made = this[CHILD];
        if (made !== undefined) return (made as unknown as Record<string, LoggerMethod>)[level]!(...args);
        // A level that is off writes nothing, eager child or not: no child needed.
        if (!parent.isLevelEnabled(level)) return undefined;
        return (materialise(this, parent) as unknown as Record<string, LoggerMethod>)[level]!(...args);
      },
    };
  }
  const forward = (name: 'child' | 'bindings' | 'setBindings'): PropertyDescriptor => ({
    value(this: LazyChild, ...args: unknown[]): unknown {
      return (materialise(this, parent)[name] as LoggerMethod)(...args);
    },
  });
  members['child'] = forward('child');
  members['bindings'] = forward('bindings');
  members['setBindings'] = forward('setBindings');
  members['isLevelEnabled'] = {
    value(this: LazyChild, level: string): boolean {
      return (this[CHILD] ?? parent).isLevelEnabled(level);
    },
  };
  members['level'] = {
    get(this: LazyChild): string {
      return (this[CHILD] ?? parent).level;
    },
    set(this: LazyChild, level: string) {
      materialise(this, parent).level = level;
    },
  };
  prototype = Object.create(parent, members) as object;
  lazyPrototypes.set(parent, prototype);
  return prototype;
}

/**
 * `parent.child(bindings, options)`, made only when something is logged through it or its bindings, level
 * or children are asked for. The control API gets one per request (fastify's request logger, bound to the
 * request id) and almost never logs through it at the daemon's levels, while pino serialises a child's
 * bindings up front (`asChindings`) for nothing. A call at a level that is off writes nothing, as it would
 * through the child; any other call makes the child and goes through it, so every line is the child's.
 * Other members (levels, version, streams' flush...) are the parent's, which the child shares. Options that
 * change the child (level, serializers...) make it at once.
 */
export function lazyChildLogger(parent: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
  if (options !== undefined && hasOwnKeys(options)) return parent.child(bindings, options);
  // Object.create with one prototype per parent: every lazy child shares one hidden class.
  const lazy = Object.create(lazyPrototype(parent)) as LazyChild;
  (lazy as { pendingBindings: Bindings }).pendingBindings = bindings;
  lazy[CHILD] = undefined;
  return lazy as unknown as Logger;
}
