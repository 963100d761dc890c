/**
 * Keeps the response cache true to the registry: follows the view's changes and drops exactly the cached
 * answers that read what changed (by their dependency tags, cache-tags.ts), and keeps the host index
 * current. A change to one instance leaves its siblings' own answers cached: each changed service is diffed
 * against the eligible instances last seen. Runs synchronously inside the change notification, so the next
 * request already sees the new state (docs/ARCHITECTURE.md, "Request path").
 */
import { foldAscii } from '../ascii.js';
import { type DnsChange, type DnsInstance, type DnsView } from './view.js';
import { type ResponseCache } from './cache.js';
import { type HostIndex } from './hosts.js';
import { ENUM_TAG, instanceTag, nameTag, serviceTag } from './cache-tags.js';

type Protocol = DnsInstance['protocol'];

/** Follows a view and invalidates a response cache and a host index. Construct once; `close` to stop. */
export class CacheInvalidation {
  /** service → its eligible instances by folded id, as last read (to see which instances a change touched). */
  private readonly snapshots = new Map<string, { tcp: Map<string, DnsInstance>; udp: Map<string, DnsInstance> }>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly view: DnsView,
    private readonly cache: ResponseCache,
    private readonly hosts: HostIndex,
  ) {
    this.unsubscribe = view.onChange((change) => this.onChange(change));
    const services = new Set(view.services().map((s) => s.service));
    for (const service of services) this.refresh(service);
  }

  /** Stop following the view. */
  close(): void {
    this.unsubscribe();
  }

  private onChange(change: DnsChange): void {
    for (const service of change.services) {
      this.cache.invalidate(serviceTag(service));
      this.refresh(service);
    }
    // A health flip does not change which services exist: keep the enumeration answers then.
    if (change.enumeration !== false) this.cache.invalidate(ENUM_TAG);
  }

  /**
   * Re-read one service: drop the cached answers of instances that appeared, went or changed (their siblings'
   * stay), and of every host name whose addresses may have moved. Cost: the size of that service.
   */
  private refresh(service: string): void {
    const tcp = this.view.eligible(service, 'tcp');
    const udp = this.view.eligible(service, 'udp');
    const instances = udp.length === 0 ? tcp : [...tcp, ...udp];
    for (const key of this.hosts.update(service, instances)) this.cache.invalidate(nameTag(key));
    const before = this.snapshots.get(service);
    const after = { tcp: this.diff(service, 'tcp', before?.tcp, tcp), udp: this.diff(service, 'udp', before?.udp, udp) };
    if (after.tcp.size + after.udp.size > 0) this.snapshots.set(service, after);
    else this.snapshots.delete(service);
  }

  /** Invalidate the own answers of instances that appeared, went or changed; returns the new snapshot. */
  private diff(service: string, protocol: Protocol, before: Map<string, DnsInstance> | undefined, now: readonly DnsInstance[]): Map<string, DnsInstance> {
    const after = new Map<string, DnsInstance>();
    for (const inst of now) {
      const id = foldAscii(inst.id);
      after.set(id, inst);
      const old = before?.get(id);
      if (!old || !sameInstanceData(old, inst)) this.cache.invalidate(instanceTag(service, protocol, id));
    }
    if (before) for (const id of before.keys()) if (!after.has(id)) this.cache.invalidate(instanceTag(service, protocol, id));
    return after;
  }
}

/** Whether an instance's own answers (SRV, TXT) would be the same: every field they are built from. */
function sameInstanceData(a: DnsInstance, b: DnsInstance): boolean {
  return (
    a.id === b.id &&
    a.address === b.address &&
    a.port === b.port &&
    a.priority === b.priority &&
    a.weight === b.weight &&
    a.host === b.host &&
    sameMetadata(a.metadata, b.metadata)
  );
}

/** Same pairs in the same order: the TXT record lists them in key order (RFC 6763 §6.7 makes order matter). */
function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  const other = Object.keys(b);
  if (keys.length !== other.length) return false;
  return keys.every((k, i) => other[i] === k && a[k] === b[k]);
}
