/**
 * Resource plugin: change notifications. `GET /v1/watch` is a long-poll (Consul-style blocking query:
 * `?index=N&wait=30s` answers once the change index passes N, or after the wait); `GET /v1/events` is a
 * server-sent-event stream (text/event-stream, resumable with `Last-Event-ID`).
 */
import type { ServerResponse } from 'node:http';
import { parseDuration } from '../../config.js';
import { InvalidArgumentError } from '../../errors.js';
import type { ControlPlugin } from '../plugin.js';
import * as schema from '../schemas.js';
import type { ChangeFeed, WatchEvent } from '../watch.js';

/** Longest long-poll wait. */
export const MAX_WATCH_WAIT_MS = 5 * 60_000;
/** Long-poll wait when the client names an index but no wait. */
export const DEFAULT_WATCH_WAIT_MS = 30_000;
/** A comment line this often keeps proxies and idle timers from closing a quiet event stream. */
const KEEP_ALIVE_MS = 15_000;

/** What the watch plugin needs. */
export interface WatchDeps {
  readonly feed: Pick<ChangeFeed, 'index' | 'since' | 'wait' | 'stream' | 'close'>;
}

type WatchQuery = { index?: string; wait?: string };

/** `?wait=` as milliseconds: a bare number is seconds, capped at MAX_WATCH_WAIT_MS. */
function waitMs(value: string | undefined): number {
  if (value === undefined) return DEFAULT_WATCH_WAIT_MS;
  try {
    return Math.min(MAX_WATCH_WAIT_MS, parseDuration(/^[0-9.]+$/.test(value) ? `${value}s` : value, 'wait'));
  } catch (error) {
    throw new InvalidArgumentError(`wait: ${(error as Error).message}`, 'wait');
  }
}

/** One server-sent event (HTML Living Standard, 'Server-sent events'). */
function writeEvent(raw: ServerResponse, event: string, data: unknown, id?: number): void {
  raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Routes `/v1/watch` and `/v1/events`; open streams end when the app closes. */
export const watchRoutes: ControlPlugin<WatchDeps> = async (app, { feed }) => {
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    feed.close();
    for (const end of [...openStreams]) end();
  });

  app.get<{ Querystring: WatchQuery }>('/v1/watch', { schema: { querystring: schema.watchQuery } }, async (request) => {
    const wait = waitMs(request.query.wait);
    if (request.query.index === undefined) return feed.since(feed.index);
    const controller = new AbortController();
    request.raw.once('close', () => controller.abort());
    return feed.wait(Number(request.query.index), wait, controller.signal);
  });

  app.get<{ Querystring: WatchQuery }>('/v1/events', { schema: { querystring: schema.watchQuery } }, async (request, reply) => {
    const lastEventId = request.headers['last-event-id'];
    const fromText = request.query.index ?? (typeof lastEventId === 'string' && /^\d+$/.test(lastEventId) ? lastEventId : undefined);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: WatchEvent): void => writeEvent(raw, 'change', event, event.index);
    writeEvent(raw, 'hello', { index: feed.index });
    if (fromText !== undefined) {
      const backlog = feed.since(Number(fromText));
      if (backlog.reset) writeEvent(raw, 'reset', { index: backlog.index });
      for (const event of backlog.events) send(event);
    }
    const unsubscribe = feed.stream(send);
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    keepAlive.unref();
    const end = (): void => {
      clearInterval(keepAlive);
      unsubscribe();
      openStreams.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    openStreams.add(end);
    request.raw.once('close', end);
  });
};
