/**
 * DNS over TCP (RFC 7766) that one client cannot lock up: 2-octet length framing, pipelined queries answered
 * in order, back-pressure, and the resource limits of RFC 7766 §6.2.3 and §10:
 *
 * - a limit on connections per client (per address; per /64 for IPv6, which a client has whole);
 * - a deadline for a complete message, counted from the moment the connection opens or a message starts and
 *   not reset by each byte, so a client trickling one byte every few seconds is closed like a silent one;
 * - an idle timeout between messages (also not reset by our own writes);
 * - a global cap where, when full, the connection that has waited longest without completing a message (idle,
 *   mid-message, or not reading its replies) is closed to make room, instead of refusing a well-behaved new
 *   client; a full server therefore keeps answering whoever sends a whole query promptly;
 * - after a message that is dropped (a response, shorter than a header) the connection is closed: a peer that
 *   sends such messages is not speaking DNS to us.
 *
 * Each kind of closing is counted (DnsCounters). Timers are our own, not socket.setTimeout, which any byte
 * (and any write) would reset.
 */
import net from 'node:net';
import { type Logger } from '../log.js';
import { InvalidConfigurationError } from '../errors.js';
import { type DnsRequestHandler } from './handler.js';
import { type DnsCounters } from './stats.js';
import { MAX_MESSAGE } from './wire.js';

/** TCP limits; every field has a default. */
export interface TcpLimits {
  /** Open connections at most; when full, the longest-waiting one is evicted for a new one (default 256). */
  readonly maxConnections: number;
  /** Open connections per client address (IPv6: per /64) at most; more are refused at accept (default 16). */
  readonly maxPerClient: number;
  /** A message must be complete this long after the connection opened or its first octet came (default 5 s). */
  readonly messageDeadlineMs: number;
  /** A connection with nothing in progress is closed after this long (default 10 s). */
  readonly idleTimeoutMs: number;
}

/** Defaults: RFC 7766 §6.2.3 asks for timeouts of seconds on a busy server, not minutes. */
export const DEFAULT_TCP_LIMITS: TcpLimits = Object.freeze({
  maxConnections: 256,
  maxPerClient: 16,
  messageDeadlineMs: 5_000,
  idleTimeoutMs: 10_000,
});

/** Fill and check TCP limits (whole numbers, at least 1). */
export function resolveTcpLimits(given: Partial<TcpLimits> = {}): TcpLimits {
  const limits = { ...DEFAULT_TCP_LIMITS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as TcpLimits;
  for (const [field, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 0x7fffffff) {
      throw new InvalidConfigurationError(`tcp.${field} must be a whole number from 1 to 2147483647, got ${String(value)}`, `tcp.${field}`);
    }
  }
  return limits;
}

/** What a connection is doing, for its timer and for eviction. */
const enum Phase {
  /** Nothing received since the last complete message (or since it opened). */
  Idle,
  /** Part of a message received. */
  Reading,
  /** Replies written that the client has not read (back-pressure). */
  Blocked,
}

/** One accepted connection. */
interface Connection {
  readonly socket: net.Socket;
  readonly client: string;
  phase: Phase;
  /** When the current phase began: the connection's age in it, for eviction. */
  since: number;
  /** Set once no message has been received yet: the first one is under the message deadline, not the idle one. */
  fresh: boolean;
  timer: NodeJS.Timeout | undefined;
  closing: boolean;
}

/** The key that per-client limits count by: the address, or its /64 for IPv6. */
export function clientKey(address: string | undefined): string {
  if (!address) return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!net.isIPv6(address)) return address;
  // Expand just enough to take the first four groups.
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':') + '::/64';
}

/** Accepts TCP connections from any number of listeners and serves them under one set of limits. */
export class TcpTransport {
  private readonly connections = new Set<Connection>();
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly handler: DnsRequestHandler,
    private readonly counters: DnsCounters,
    private readonly limits: TcpLimits,
    private readonly log: Logger,
  ) {}

  /** Open connections now. */
  get size(): number {
    return this.connections.size;
  }

  /** Take a freshly accepted socket: refuse it, make room for it, or serve it. */
  accept(socket: net.Socket): void {
    const client = clientKey(socket.remoteAddress);
    if ((this.perClient.get(client) ?? 0) >= this.limits.maxPerClient) {
      this.counters.tcpRejected();
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.limits.maxConnections) this.evictOne();
    const conn: Connection = { socket, client, phase: Phase.Idle, since: Date.now(), fresh: true, timer: undefined, closing: false };
    this.connections.add(conn);
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    this.counters.tcpAccepted();
    socket.once('close', () => this.forget(conn));
    socket.on('error', (err) => this.log.debug({ err }, 'TCP connection error'));
    this.serve(conn);
  }

  /** Close every connection (server shutdown). */
  closeAll(): void {
    for (const conn of this.connections) conn.socket.destroy();
  }

  private forget(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    clearTimeout(conn.timer);
    const n = (this.perClient.get(conn.client) ?? 1) - 1;
    if (n > 0) this.perClient.set(conn.client, n);
    else this.perClient.delete(conn.client);
    this.counters.tcpClosed();
  }

  /**
   * Make room: close the connection that has waited longest in its phase. Idle ones and ones stuck mid-message
   * or not reading are all waiting on their client; a linear scan is fine, as it only runs when the cap is hit.
   */
  private evictOne(): void {
    let victim: Connection | undefined;
    for (const conn of this.connections) {
      if (conn.closing) continue;
      if (!victim || conn.since < victim.since) victim = conn;
    }
    if (!victim) return;
    if (victim.phase === Phase.Idle) this.counters.tcpEvictedIdle();
    else this.counters.tcpEvictedStalled();
    this.abort(victim);
  }

  /** Close now, discarding anything unsent: for clients that broke a limit. */
  private abort(conn: Connection): void {
    conn.closing = true;
    clearTimeout(conn.timer);
    conn.socket.destroy();
    this.forget(conn); // at once, so the slot is free for the connection being accepted
  }

  /** Close after what was already written is flushed (RFC 7766 §6.2.3: the server closes idle connections). */
  private finish(conn: Connection): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.socket.pause();
    conn.socket.end();
    // A peer that never closes its side must not hold the slot: give it one message deadline to do so.
    this.arm(conn, this.limits.messageDeadlineMs, () => conn.socket.destroy());
  }

  private arm(conn: Connection, ms: number, onExpiry: () => void): void {
    clearTimeout(conn.timer);
    conn.timer = setTimeout(onExpiry, ms);
    conn.timer.unref();
  }

  /** Enter a phase and arm its timer: a message deadline, an idle timeout, or (blocked) the idle timeout too. */
  private enter(conn: Connection, phase: Phase, now: number): void {
    conn.phase = phase;
    conn.since = now;
    if (conn.closing) return;
    if (phase === Phase.Reading || (phase === Phase.Idle && conn.fresh)) {
      this.arm(conn, this.limits.messageDeadlineMs, () => {
        this.counters.tcpDeadlineClosed();
        this.abort(conn);
      });
    } else {
      this.arm(conn, this.limits.idleTimeoutMs, () => {
        this.counters.tcpIdleClosed();
        if (conn.phase === Phase.Blocked) this.abort(conn); // it reads nothing, so a graceful close cannot finish
        else this.finish(conn);
      });
    }
  }

  private serve(conn: Connection): void {
    const { socket } = conn;
    let pending: Buffer = Buffer.alloc(0);
    this.enter(conn, Phase.Idle, conn.since);

    const drain = (): void => {
      let completed = false;
      while (conn.phase !== Phase.Blocked && !conn.closing && pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const msg = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        completed = true;
        conn.fresh = false;
        const updateReply = this.handler.update(msg, socket.remoteAddress ?? '');
        if (updateReply) {
          // UPDATE waits for the write path: its reply goes out when ready, maybe after later replies
          // (RFC 7766 §7 lets a server answer pipelined messages out of order; clients match by ID).
          void updateReply.then((reply) => {
            if (!reply || reply.length > MAX_MESSAGE || conn.closing || socket.destroyed) return;
            const framed = Buffer.allocUnsafe(reply.length + 2);
            framed.writeUInt16BE(reply.length, 0);
            reply.copy(framed, 2);
            socket.write(framed);
          });
          continue;
        }
        const reply = this.handler.handle(msg, 'tcp');
        if (!reply) {
          // A dropped message (a response, or shorter than a header): not a DNS client; answer nothing more.
          this.counters.tcpDropClosed();
          this.finish(conn);
          return;
        }
        if (reply.length > MAX_MESSAGE) continue;
        const framed = Buffer.allocUnsafe(reply.length + 2);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        if (!socket.write(framed)) {
          // Back-pressure: stop reading (and answering) until the client reads what we sent.
          this.enter(conn, Phase.Blocked, Date.now());
          socket.pause();
          socket.once('drain', () => {
            if (conn.closing) return;
            this.enter(conn, Phase.Idle, Date.now());
            socket.resume();
            drain();
          });
          return;
        }
      }
      if (pending.length === 0) {
        pending = Buffer.alloc(0);
        if (completed) this.enter(conn, Phase.Idle, Date.now());
      } else if (conn.fresh) {
        // The first message's deadline has run since the connection opened; its first octets do not restart it.
        conn.phase = Phase.Reading;
      } else if (completed || conn.phase === Phase.Idle) {
        // A new message has started: its deadline runs from now, and later octets do not extend it.
        this.enter(conn, Phase.Reading, Date.now());
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (conn.closing) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      drain();
    });
    socket.on('end', () => {
      if (!socket.destroyed) socket.end();
    });
  }
}
