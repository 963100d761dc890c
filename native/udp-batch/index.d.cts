/** Counters since the socket was opened. */
export interface UdpBatchCounters {
  received: number;
  sent: number;
  batches: number;
  sendErrors: number;
  drops: number;
}

/** Options of a batched UDP socket. */
export interface UdpBatchOptions {
  /** IPv4 or IPv6 literal to bind. */
  address: string;
  /** 0 picks a free port. */
  port: number;
  /** SO_REUSEPORT: sockets of the same user share the port, the kernel spreads datagrams over them. */
  reusePort?: boolean;
  /** IPV6_V6ONLY for an IPv6 address (default false, as node:dgram). */
  ipv6Only?: boolean;
  /** Datagrams per recvmmsg, 1..64 (default 64). */
  batchSize?: number;
  /** Bytes per slot, 512..65536 (default 4096): larger datagrams are dropped. */
  slotSize?: number;
  /** Batches read per readable event before yielding to the event loop, 1..1024 (default 8). */
  batchesPerEvent?: number;
  /**
   * Time per readable event, in microseconds, after which no further batch is read before yielding to the
   * event loop (a batch already read is always answered), 0..1000000; 0 = bounded by `batchesPerEvent` only
   * (default 2000).
   */
  eventBudgetUs?: number;
}

/**
 * A bound, non-blocking UDP socket read in batches on this thread's event loop. `onBatch(count, dropped)`:
 * datagram i is `recv[i*slotSize, +lengths[i])` (lengths[i] = -1: dropped); write the reply to
 * `send[i*slotSize...]` and its length to `replyLengths[i]` (-1: no reply, the preset).
 */
export class UdpBatchSocket {
  constructor(options: UdpBatchOptions, onBatch: (count: number, dropped: number) => void);
  readonly recv: Buffer;
  readonly send: Buffer;
  readonly lengths: Int32Array;
  readonly replyLengths: Int32Array;
  readonly batchSize: number;
  readonly slotSize: number;
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number };
  stats(): UdpBatchCounters;
  /**
   * Answer the datagrams waiting now (onBatch runs for each batch) without waiting for the readable event,
   * within `budgetUs` (0 or absent: `eventBudgetUs`); returns the datagrams read. Reads nothing when closed
   * or when called from inside onBatch.
   */
  serve(budgetUs?: number): number;
  close(): void;
}
export const MAX_BATCH: number;
/**
 * Iterations of this thread's event loop since the first call, counted just before each poll (wraps at
 * 2^32): two calls that return the same number ran in the same turn of the loop.
 */
export function loopTurns(): number;
