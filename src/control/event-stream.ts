/**
 * Server-sent event streams (HTML Living Standard, 'Server-sent events') for the control API's plugins:
 * the stream's headers, one writer for events, a keep-alive comment, and one way to end it, whether the
 * client goes away or the app closes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A comment line this often keeps proxies and idle timers from closing a quiet event stream. */
export const KEEP_ALIVE_MS = 15_000;

/** An open stream. */
export interface EventStream {
  /** Write one event (`id:` when given, so a client can resume with `Last-Event-ID`). */
  send(event: string, data: unknown, id?: number): void;
}

/** The open streams of one plugin, ended together when its app closes (register `endAll` in `preClose`). */
export class EventStreams {
  private readonly open = new Set<(closeConnection?: boolean) => void>();

  /**
   * Take over `reply` as an event stream. `subscribe` starts the feed and returns its unsubscribe
   * function, called once when the stream ends.
   */
  start(request: FastifyRequest, reply: FastifyReply, subscribe: (stream: EventStream) => () => void): void {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const stream: EventStream = {
      send: (event, data, id) => {
        raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
    };
    const unsubscribe = subscribe(stream);
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    keepAlive.unref();
    const socket = request.raw.socket;
    const end = (closeConnection = false): void => {
      clearInterval(keepAlive);
      unsubscribe();
      this.open.delete(end);
      if (!raw.writableEnded) raw.end();
      // On shutdown the connection goes too: left as an idle keep-alive connection it would hold the
      // server's close (see the onSend hook in plugins/errors.ts). end() lets the stream's last bytes out first.
      if (closeConnection) socket.end();
    };
    this.open.add(end);
    request.raw.once('close', () => end());
  }

  /** End every open stream and close its connection (the app is closing). */
  endAll(): void {
    for (const end of [...this.open]) end(true);
  }
}
