/**
 * The batched UDP transport (Linux): the optional native `beacon-udp-batch` addon reads up to 64 datagrams
 * per recvmmsg into slots this module reads, calls back once per batch, and sends the replies written into the
 * outgoing slots with one sendmmsg. One system call per batch instead of one per packet: node's per-packet
 * send path was most of the server's CPU. Parsing, the cache and rotation stay in DnsRequestHandler, unchanged.
 *
 * Where the addon is not built (no compiler at install) or does not load, `auto` falls back to node:dgram.
 */
import cluster from 'node:cluster';
import dns from 'node:dns';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import { InvalidConfigurationError } from '../errors.js';
import type { DnsRequestHandler } from './handler.js';
import type { DnsCounters } from './stats.js';

/** What the server was asked for: `auto` = batched where the addon loads, else dgram. */
export type UdpTransportChoice = 'auto' | 'batched' | 'dgram';
/** What the server runs. */
export type UdpTransport = 'batched' | 'dgram';

/** Counters of the native sockets since they opened. */
export interface UdpBatchCounters {
  /** Datagrams read (dropped ones included). */
  readonly received: number;
  /** Replies the kernel accepted. */
  readonly sent: number;
  /** recvmmsg calls that returned datagrams. */
  readonly batches: number;
  /** Replies the kernel refused (full send buffer, unroutable peer). */
  readonly sendErrors: number;
  /** Datagrams dropped unread: larger than a slot, or from source port 0. */
  readonly drops: number;
}

interface NativeSocket {
  readonly recv: Buffer;
  readonly send: Buffer;
  readonly lengths: Int32Array;
  readonly replyLengths: Int32Array;
  readonly batchSize: number;
  readonly slotSize: number;
  address(): AddressInfo;
  stats(): UdpBatchCounters;
  serve(budgetUs?: number): number;
  close(): void;
}

interface NativeOptions {
  address: string;
  port: number;
  reusePort: boolean;
  ipv6Only: boolean;
}

/** The addon's surface (see native/udp-batch/index.d.cts). */
export interface UdpBatchAddon {
  readonly UdpBatchSocket: new (options: NativeOptions, onBatch: (count: number, dropped: number) => void) => NativeSocket;
  /** Iterations of this thread's event loop, counted just before each poll (loop-turn.ts); absent in builds before it. */
  readonly loopTurns?: () => number;
}

/** The addon, or why it is not available. */
export type AddonLoad = { readonly ok: true; readonly addon: UdpBatchAddon } | { readonly ok: false; readonly reason: string };

/**
 * Where the addon is found: by package name (npm links the optional dependency into node_modules), else in the
 * source tree next to src/ and dist/ (a checkout whose node_modules was installed before the addon existed).
 */
const ADDON_PATHS = ['beacon-udp-batch', '../../native/udp-batch/index.cjs'];

let cached: AddonLoad | undefined;

/** Load the addon once per process (thread); never throws. */
export function loadUdpBatchAddon(): AddonLoad {
  if (cached) return cached;
  if (process.platform !== 'linux') return (cached = { ok: false, reason: `batched UDP needs Linux (recvmmsg/sendmmsg); this is ${process.platform}` });
  const require = createRequire(import.meta.url);
  const reasons: string[] = [];
  for (const id of ADDON_PATHS) {
    try {
      const candidate = require(id) as Partial<UdpBatchAddon> | undefined;
      if (typeof candidate?.UdpBatchSocket === 'function') return (cached = { ok: true, addon: candidate as UdpBatchAddon });
      reasons.push(`${id}: no UdpBatchSocket export`);
    } catch (err) {
      reasons.push(`${id}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''}`);
    }
  }
  return (cached = { ok: false, reason: `the native beacon-udp-batch addon is not available (${reasons.join('; ')})` });
}

/** The transport to run, the addon when batched, and why `auto` fell back to dgram. */
export interface UdpTransportDecision {
  readonly transport: UdpTransport;
  readonly addon?: UdpBatchAddon;
  readonly reason?: string;
}

/**
 * Decide the UDP transport. `shared`: sockets are shared with sibling cluster workers; batched then gives each
 * worker its own SO_REUSEPORT socket, which needs a fixed port (port 0 would give every worker another one).
 * An explicit `batched` that cannot run is a configuration error; `auto` falls back with the reason.
 * Linux admits only sockets of the same effective user into a SO_REUSEPORT group, so another user's process
 * cannot take a share of the port; a process of the same user that also sets SO_REUSEPORT could, undetected.
 */
export function chooseUdpTransport(choice: UdpTransportChoice, listen: readonly { port: number }[], shared: boolean): UdpTransportDecision {
  if (choice === 'dgram') return { transport: 'dgram' };
  let reason: string | undefined;
  const load = loadUdpBatchAddon();
  if (!load.ok) reason = load.reason;
  else if (shared && cluster.isWorker && listen.some((l) => l.port === 0)) {
    reason = 'workers share the UDP port through SO_REUSEPORT, which needs a fixed port, not 0';
  }
  if (reason === undefined && load.ok) return { transport: 'batched', addon: load.addon };
  if (choice === 'batched') throw new InvalidConfigurationError(`udpTransport 'batched' is unavailable: ${reason ?? 'unknown'}`, 'udpTransport');
  return { transport: 'dgram', reason };
}

/** A bound batched UDP listener. */
export interface BatchedUdpListener {
  address(): AddressInfo;
  counters(): UdpBatchCounters;
  /** Answer the datagrams waiting now, within `budgetUs`; returns how many were read (see the addon's `serve`). */
  serveWaiting(budgetUs: number): number;
  /** Stop reading and release the port at once. */
  close(): void;
}

/** Bind `host:port` (a literal, or a name resolved once here) and answer every datagram through `handler`. */
export async function bindBatchedUdp(
  addon: UdpBatchAddon,
  host: string,
  port: number,
  handler: DnsRequestHandler,
  counters: DnsCounters,
  options: { reusePort: boolean; onBatch?: () => void },
): Promise<BatchedUdpListener> {
  const address = net.isIP(host) !== 0 ? host : (await dns.promises.lookup(host)).address;
  const { onBatch } = options;
  // Dual-stack on "::" like node:dgram (its default ipv6Only is false). The callback runs on a later loop
  // turn, never inside the constructor, so `slots` is set by then.
  const socket: NativeSocket = new addon.UdpBatchSocket(
    { address, port, reusePort: options.reusePort, ipv6Only: false },
    onBatch === undefined
      ? (count, dropped) => answerBatch(slots, handler, counters, count, dropped)
      : (count, dropped) => {
          onBatch();
          answerBatch(slots, handler, counters, count, dropped);
        },
  );
  const slots = batchSlots(socket);
  return {
    address: () => socket.address(),
    counters: () => socket.stats(),
    serveWaiting: (budgetUs) => socket.serve(budgetUs),
    close: () => socket.close(),
  };
}

/** A socket's slots as views made once: one Buffer per receive and send slot instead of one per datagram. */
interface BatchSlots {
  readonly recv: readonly Buffer[];
  readonly send: readonly Buffer[];
  /** A DataView of each send slot, so that a cache hit's copy into it makes no object (handler.answerInto). */
  readonly sendViews: readonly DataView[];
  readonly lengths: Int32Array;
  readonly replyLengths: Int32Array;
}

function batchSlots(socket: NativeSocket): BatchSlots {
  const { slotSize, batchSize } = socket;
  const view = (memory: Buffer, i: number): Buffer => memory.subarray(i * slotSize, (i + 1) * slotSize);
  const indexes = Array.from({ length: batchSize }, (_, i) => i);
  const send = indexes.map((i) => view(socket.send, i));
  return {
    recv: indexes.map((i) => view(socket.recv, i)),
    send,
    sendViews: send.map((slot) => new DataView(slot.buffer, slot.byteOffset, slot.length)),
    lengths: socket.lengths,
    replyLengths: socket.replyLengths,
  };
}

/** Answer one batch: datagram i in receive slot i, its reply (if any) into send slot i. */
function answerBatch(slots: BatchSlots, handler: DnsRequestHandler, counters: DnsCounters, count: number, dropped: number): void {
  const { recv, send, sendViews, lengths, replyLengths } = slots;
  // Source port 0 and oversize datagrams, dropped natively, count like the dgram transport's drops.
  if (dropped > 0) counters.dropped(dropped);
  for (let i = 0; i < count; i++) {
    const length = lengths[i] ?? -1;
    const input = recv[i];
    const output = send[i];
    if (length < 0 || input === undefined || output === undefined) continue;
    // replyLengths[i] is preset to -1 (no reply); the reply is written straight into its send slot.
    replyLengths[i] = handler.answerInto(input, length, output, sendViews[i]);
  }
}

/** Counters of several listeners, added up. */
export function sumUdpBatchCounters(all: readonly UdpBatchCounters[]): UdpBatchCounters {
  const total = { received: 0, sent: 0, batches: 0, sendErrors: 0, drops: 0 };
  for (const c of all) {
    total.received += c.received;
    total.sent += c.sent;
    total.batches += c.batches;
    total.sendErrors += c.sendErrors;
    total.drops += c.drops;
  }
  return total;
}
