/**
 * Messages between the daemon and its DNS workers (processes with `--workers N`, a thread with `--dns-thread`).
 * The daemon owns the registry; each worker holds a read-only replica fed by these messages, in order, over
 * the cluster IPC channel or the thread's message port.
 */
import type { AddressInfo } from 'node:net';
import type { DnsStats } from '../dns/server.js';
import type { InstanceRecord, RegistryConfig } from '../registry/types.js';
import type { DynamicRRset } from '../dns/dynamic-zone.js';

/** The workerData a DNS worker thread is started with (it tells dns-worker.ts to run as one). */
export const DNS_WORKER_THREAD = 'beacon-dns-worker';

/** DNS settings a worker starts its server with. */
export interface WorkerDnsOptions {
  readonly domain: string;
  readonly listen: readonly { host: string; port: number }[];
  readonly zones?: string;
  readonly answerTtl?: number;
  readonly negativeTtl?: number;
  /** Forward DNS UPDATE messages to the daemon (`update` / `update-reply`) instead of answering NOTIMP. */
  readonly forwardUpdates?: boolean;
}

/** One instance's state after change `index` (null: removed). */
export type PutMessage = { readonly t: 'put'; readonly index: number; readonly service: string; readonly id: string; readonly record: InstanceRecord | null };
/** Dynamic zone RRsets the daemon applied (no RDATA: deleted). */
export type ZoneMessage = { readonly t: 'zone'; readonly sets: readonly DynamicRRset[] };
/** Whether DNS may hand out an instance, after a circuit transition. */
export type CircuitMessage = { readonly t: 'circuit'; readonly service: string; readonly id: string; readonly admits: boolean };

/** Daemon -> worker. */
export type ToWorker =
  /** The replica's starting state; with `dns`, serve at once; without, stand by (a spare) until `serve`. */
  | { readonly t: 'init'; readonly config: RegistryConfig; readonly dns?: WorkerDnsOptions; readonly index: number; readonly records: readonly InstanceRecord[]; readonly refused: readonly (readonly [string, string])[]; readonly serial: number; readonly domain: string; readonly zone: readonly DynamicRRset[] }
  /** A standby worker (kept up to date by `put`s) starts answering on these listeners. */
  | { readonly t: 'serve'; readonly dns: WorkerDnsOptions }
  | PutMessage
  | CircuitMessage
  | ZoneMessage
  /**
   * Everything that changed in one turn of the daemon's event loop, in order: one IPC message, one
   * acknowledgement; `serial` is the SOA serial the daemon published for the last of them.
   */
  | { readonly t: 'batch'; readonly messages: readonly (PutMessage | CircuitMessage | ZoneMessage)[]; readonly serial: number }
  /** The reply to the worker's `update` number `seq` (base64 DNS message), or null: send none. */
  | { readonly t: 'update-reply'; readonly seq: number; readonly reply: string | null }
  | { readonly t: 'stop' };

/** Worker -> daemon. */
export type FromWorker =
  /** The worker listens for messages now (messages sent before that would be lost): send it `init`. */
  | { readonly t: 'hello' }
  | { readonly t: 'ready'; readonly udp: AddressInfo[]; readonly tcp: AddressInfo[] }
  | { readonly t: 'applied'; readonly index: number }
  /** A DNS UPDATE message (base64) from `remote`, for the daemon's write path: answered by `update-reply`. */
  | { readonly t: 'update'; readonly seq: number; readonly msg: string; readonly remote: string }
  /** Its DNS counters, and its event loop's longest stall since its previous report. */
  | { readonly t: 'stats'; readonly stats: DnsStats; readonly maxStallMs?: number }
  | { readonly t: 'failed'; readonly message: string };
