/**
 * A DNS worker: a read-only replica of the daemon's registry, fed in order over a message channel, answering
 * DNS. Either a process (`beacon serve --workers N`: node:cluster hands every worker the same UDP socket and
 * TCP listener, the kernel spreads the packets) or a thread of the daemon's own process (`--dns-thread`: it
 * binds the DNS sockets itself), so that DNS has an event loop of its own, apart from the control API and the
 * write path (docs/ARCHITECTURE.md, "DNS workers").
 */
import cluster from 'node:cluster';
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createRegistryView, type CircuitView } from '../dns/registry-view.js';
import { startDnsServer, type DnsServer } from '../dns/server.js';
import { ServiceRegistry } from '../registry/registry.js';
import { LoopStallMonitor } from './loop-stall.js';
import { ZoneSerial } from '../dns/zone-serial.js';
import { DynamicZone } from '../dns/dynamic-zone.js';
import { parseDomain } from '../dns/authority.js';
import type { InstanceRecord } from '../registry/types.js';
import { DNS_WORKER_THREAD, type CircuitMessage, type FromWorker, type PutMessage, type ToWorker, type WorkerDnsOptions, type ZoneMessage } from './dns-protocol.js';

/** How often a worker reports its DNS counters to the daemon (ms). */
const STATS_INTERVAL_MS = 1_000;

/** Circuits as the daemon last described them: only the instances DNS must not hand out are listed. */
class CircuitMirror implements CircuitView {
  private readonly refused = new Set<string>();
  private readonly listeners = new Set<(change: { readonly service: string; readonly id?: string }) => void>();

  constructor(initial: readonly (readonly [string, string])[]) {
    for (const [service, id] of initial) this.refused.add(key(service, id));
  }

  admits(record: InstanceRecord): boolean {
    return !this.refused.has(key(record.service, record.spec.id));
  }

  onCircuitChange(listener: (change: { readonly service: string; readonly id?: string }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(service: string, id: string, admits: boolean): void {
    if (admits) this.refused.delete(key(service, id));
    else this.refused.add(key(service, id));
    for (const listener of this.listeners) listener({ service, id });
  }
}

function key(service: string, id: string): string {
  return `${service}\u0000${id}`;
}

/** The worker's side of its channel to the daemon: the cluster IPC channel, or the thread's parent port. */
interface DaemonChannel {
  send(message: FromWorker): void;
  onMessage(listener: (message: ToWorker) => void): void;
  /** The daemon is gone or let go of this worker: nothing more will arrive. */
  onClose(listener: () => void): void;
  connected(): boolean;
  /** Let go of the channel, so that the worker ends once its sockets are closed. */
  close(): void;
}

function processChannel(): DaemonChannel {
  return {
    send: (message) => process.send?.(message),
    onMessage: (listener) => process.on('message', listener),
    onClose: (listener) => process.on('disconnect', listener),
    connected: () => process.connected,
    close: () => process.disconnect?.(),
  };
}

function threadChannel(port: MessagePort): DaemonChannel {
  let open = true;
  port.on('close', () => {
    open = false;
  });
  return {
    send: (message) => open && port.postMessage(message),
    onMessage: (listener) => port.on('message', listener),
    onClose: (listener) => port.on('close', listener),
    connected: () => open,
    close: () => port.close(),
  };
}

/**
 * DNS UPDATE from a worker: the daemon holds the write path, so the message goes to it over IPC and its reply
 * comes back here for the transport to send. Replies pending when the channel closes are dropped (the client
 * retries, as it would after a lost datagram).
 */
class UpdateForwarder {
  private seq = 0;
  private readonly pending = new Map<number, (reply: Buffer | undefined) => void>();

  constructor(private readonly channel: DaemonChannel) {}

  /** Send `msg` to the daemon; resolves with its reply. */
  forward(msg: Buffer, remote: string): Promise<Buffer | undefined> {
    if (!this.channel.connected()) return Promise.resolve(undefined);
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(seq, resolve);
      this.channel.send({ t: 'update', seq, msg: msg.toString('base64'), remote });
    });
  }

  /** The daemon answered update `seq`. */
  settle(seq: number, reply: string | null): void {
    const resolve = this.pending.get(seq);
    this.pending.delete(seq);
    resolve?.(reply === null ? undefined : Buffer.from(reply, 'base64'));
  }

  /** The channel closed: no reply will come for what is pending. */
  dropAll(): void {
    for (const resolve of this.pending.values()) resolve(undefined);
    this.pending.clear();
  }
}

/**
 * Run the worker. `sharedSockets`: a cluster worker shares the DNS sockets with its siblings; a thread is the
 * only DNS server of its process and binds them itself.
 */
async function main(channel: DaemonChannel, sharedSockets: boolean): Promise<void> {
  const send = (message: FromWorker): void => channel.send(message);
  let registry: ServiceRegistry | undefined;
  let circuits: CircuitMirror | undefined;
  let server: DnsServer | undefined;
  let statsTimer: ReturnType<typeof setInterval> | undefined;
  let loadedIndex = 0;
  // The daemon publishes the serial; a worker only adopts it, so every worker answers the same one.
  let serial: ZoneSerial | undefined;
  let zone: DynamicZone | undefined;
  const applyChange = (message: PutMessage | CircuitMessage | ZoneMessage): void => {
    if (message.t === 'zone') {
      zone?.apply(message.sets);
      return;
    }
    if (message.t === 'circuit') {
      circuits?.set(message.service, message.id, message.admits);
      return;
    }
    // Before `init` there is no replica, and changes up to its index are in the snapshot it brings.
    if (registry === undefined || message.index <= loadedIndex) return;
    registry.apply({ type: 'sync', service: message.service, id: message.id, record: message.record ?? undefined, at: Date.now() });
  };
  let view: ReturnType<typeof createRegistryView> | undefined;
  const updates = new UpdateForwarder(channel);
  channel.onClose(() => updates.dropAll());
  const serve = async (dns: WorkerDnsOptions): Promise<void> => {
    if (!view) throw new Error('serve before init');
    const { forwardUpdates, ...options } = dns;
    server = await startDnsServer({
      view,
      ...options,
      listen: [...dns.listen],
      exclusive: !sharedSockets,
      ...(serial ? { serial, serialFollowsView: false } : {}),
      ...(zone ? { zoneData: zone } : {}),
      ...(forwardUpdates ? { forwardUpdate: (msg: Buffer, remote: string) => updates.forward(msg, remote) } : {}),
    });
    // The longest stall of the loop that answers DNS here, reported with the counters (the daemon's own
    // /v1/stats `eventLoop` is its main loop's).
    const loop = new LoopStallMonitor();
    statsTimer = setInterval(() => server && send({ t: 'stats', stats: server.stats(), maxStallMs: loop.take().maxStallMs }), STATS_INTERVAL_MS);
    send({ t: 'ready', udp: server.addresses.udp, tcp: server.addresses.tcp });
  };
  channel.onMessage((raw: ToWorker) => {
    void (async () => {
      try {
        switch (raw.t) {
          case 'init': {
            // TTLs are enforced by the daemon (its reaper writes the expiry, which arrives here as a `put`):
            // the replica never sees heartbeats, so it must not expire anything on its own.
            registry = new ServiceRegistry(raw.config, { externalTtl: true });
            registry.load(raw.records, raw.index);
            loadedIndex = raw.index;
            circuits = new CircuitMirror(raw.refused);
            serial = new ZoneSerial(raw.serial);
            zone = new DynamicZone(parseDomain(raw.domain));
            zone.apply(raw.zone);
            view = createRegistryView(registry, circuits);
            if (raw.dns) await serve(raw.dns);
            send({ t: 'applied', index: raw.index });
            break;
          }
          case 'serve':
            // A standby worker taking over: its replica already holds every change sent before this message.
            if (!server) await serve(raw.dns);
            send({ t: 'applied', index: registry?.index ?? 0 });
            break;
          case 'put':
          case 'circuit':
          case 'zone':
            applyChange(raw);
            if (raw.t === 'put') send({ t: 'applied', index: raw.index });
            break;
          case 'batch': {
            // Applied in order; one acknowledgement for the batch: the daemon waits on the highest index.
            let last: number | undefined;
            for (const message of raw.messages) {
              applyChange(message);
              if (message.t === 'put') last = message.index;
            }
            // After the changes, in the same turn: no answer pairs the new serial with the old data.
            serial?.adopt(raw.serial);
            if (last !== undefined) send({ t: 'applied', index: last });
            break;
          }
          case 'update-reply':
            updates.settle(raw.seq, raw.reply);
            break;
          case 'stop':
            if (statsTimer) clearInterval(statsTimer);
            if (server) send({ t: 'stats', stats: server.stats() });
            await server?.close();
            channel.close();
            break;
        }
      } catch (error) {
        send({ t: 'failed', message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  send({ t: 'hello' });
}

if (cluster.isWorker) void main(processChannel(), true);
else if (!isMainThread && parentPort && workerData === DNS_WORKER_THREAD) void main(threadChannel(parentPort), false);
