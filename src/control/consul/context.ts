/**
 * What every Consul route group shares: the plugin's dependencies, the local node it reports, and the
 * blocking read that each GET route starts with (see blocking.ts for Consul's blocking-query semantics).
 */
import os from 'node:os';
import { InvalidArgumentError } from '../../errors.js';
import type { InstanceRecord } from '../../registry/types.js';
import type { ControlApp } from '../plugin.js';
import type { RegistryReader, WritePort } from '../ports.js';
import type { ChangeFeed } from '../watch.js';
import { block, blockingIndex, blockingWaitMs, consulIndex } from './blocking.js';
import { localNode, type ConsulNode } from './shapes.js';

/** What the Consul plugin needs. */
export interface ConsulDeps {
  readonly registry: Pick<RegistryReader, 'index' | 'records' | 'listServices' | 'isServable'>;
  readonly writer: WritePort;
  readonly feed: Pick<ChangeFeed, 'index' | 'wait'>;
  /** Daemon facts; `version` is reported as the agent's version. */
  readonly info?: () => Record<string, unknown>;
}

/** Options beyond the dependencies (tests name the node). */
export interface ConsulOptions {
  readonly nodeName?: string;
  readonly datacenter?: string;
}

/** The querystring every Consul read accepts (schemas.readQuery). */
export type ReadQuery = { index?: string; wait?: string; tag?: string | string[]; passing?: string; filter?: string };

/** A read request as far as a blocking read looks at it. */
export interface ReadRequest {
  readonly query: ReadQuery;
  readonly raw: NodeJS.EventEmitter;
}

/** The dependencies and helpers handed to each route group. */
export interface ConsulContext {
  readonly registry: ConsulDeps['registry'];
  readonly writer: WritePort;
  /** The daemon's facts (called on `deps`, as the daemon supplies them), or undefined without any. */
  readonly info: () => Record<string, unknown> | undefined;
  readonly node: ConsulNode;
  /** Wait as the query asks, then set the headers every Consul read carries; returns the X-Consul-Index. */
  readonly read: (request: ReadRequest, reply: { header(name: string, value: string): unknown }) => Promise<number>;
}

/** The shared context of one Consul plugin instance; its pending blocking reads end when `app` closes. */
export function consulContext(app: ControlApp, deps: ConsulDeps & ConsulOptions): ConsulContext {
  const { registry, writer, feed } = deps;
  const node = localNode(deps.nodeName ?? os.hostname(), deps.datacenter ?? 'dc1');
  const pending = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const controller of [...pending]) controller.abort();
  });

  const read: ConsulContext['read'] = async ({ query, raw }, reply) => {
    if (query.filter !== undefined) throw new InvalidArgumentError('the filter parameter is not supported by Beacon', 'filter');
    const index = blockingIndex(query.index);
    const waitMs = blockingWaitMs(query.wait);
    const controller = new AbortController();
    pending.add(controller);
    const abort = (): void => controller.abort();
    raw.once('close', abort);
    try {
      await block(feed, index, waitMs, controller.signal);
    } finally {
      raw.off('close', abort);
      pending.delete(controller);
    }
    const current = consulIndex(registry.index);
    reply.header('X-Consul-Index', String(current));
    reply.header('X-Consul-KnownLeader', 'true');
    reply.header('X-Consul-LastContact', '0');
    return current;
  };

  return { registry, writer, info: () => deps.info?.(), node, read };
}

/** The records carrying every tag of `?tag` (given once or repeated). */
export function withTags(records: readonly InstanceRecord[], tag: string | string[] | undefined): InstanceRecord[] {
  const tags = tag === undefined ? [] : Array.isArray(tag) ? tag : [tag];
  return records.filter((record) => tags.every((wanted) => record.spec.tags.includes(wanted)));
}
