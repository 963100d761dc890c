/**
 * Resource plugin: change notifications. `GET /v1/watch` is a long-poll (Consul-style blocking query:
 * `?index=N&wait=30s` answers once the change index passes N, or after the wait); `GET /v1/events` is a
 * server-sent-event stream (text/event-stream, resumable with `Last-Event-ID`).
 */
import { parseDuration } from '../../config.js';
import { InvalidArgumentError } from '../../errors.js';
import { EventStreams } from '../event-stream.js';
import type { ControlPlugin } from '../plugin.js';
import * as schema from '../schemas.js';
import type { ChangeFeed, WatchEvent } from '../watch.js';

/** Longest long-poll wait. */
export const MAX_WATCH_WAIT_MS = 5 * 60_000;
/** Long-poll wait when the client names an index but no wait. */
export const DEFAULT_WATCH_WAIT_MS = 30_000;

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

/** Routes `/v1/watch` and `/v1/events`; open streams end when the app closes. */
export const watchRoutes: ControlPlugin<WatchDeps> = async (app, { feed }) => {
  const streams = new EventStreams();
  app.addHook('preClose', async () => {
    feed.close();
    streams.endAll();
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
    streams.start(request, reply, (stream) => {
      const send = (event: WatchEvent): void => stream.send('change', event, event.index);
      stream.send('hello', { index: feed.index });
      if (fromText !== undefined) {
        const backlog = feed.since(Number(fromText));
        if (backlog.reset) stream.send('reset', { index: backlog.index });
        for (const event of backlog.events) send(event);
      }
      return feed.stream(send);
    });
  });
};
