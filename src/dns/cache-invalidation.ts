/**
 * Keeps the response cache true to the registry: follows the view's changes and drops exactly the cached
 * answers that read what changed (by their dependency tags, cache-tags.ts), and keeps the host index
 * current. A change to one instance drops that instance's own answers, the answers that list it (tagged
 * with its service: the service's PTR/SRV/A and its subtypes) and its host names; its siblings' own answers
 * stay. A view that names the changed instances (DnsChange.instances) costs what changed; for one that only
 * names services, each is diffed against the eligible instances last seen. Runs synchronously inside the
 * change notification, so the next request already sees the new state (docs/ARCHITECTURE.md, "Request path").
 */
import { foldAscii } from '../ascii.js';
import { type DnsChange, type DnsInstance, type DnsInstanceChange, type DnsView } from './view.js';
import { type ResponseCache } from './cache.js';
import { type HostIndex } from './hosts.js';
import { ENUM_TAG, instanceShapeTag, instanceTag, nameTag, serviceShapeTag, serviceTag, subtypeTag, subtypesTag, unheldTag } from './cache-tags.js';
import type { SerialFeed, SerialSource } from './zone-serial.js';
import type { DynamicZone } from './dynamic-zone.js';

type Protocol = DnsInstance['protocol'];
const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];

/** Follows a view and invalidates a response cache and a host index. Construct once; `close` to stop. */
export class CacheInvalidation {
  /**
   * For views without instance detail: `service/protocol` → the eligible array last read (the view hands out
   * a new array on change, so holding the old one copies nothing). Dropped at the first detailed change: a
   * view either always names the changed instances or never does.
   */
  private readonly snapshots = new Map<string, readonly DnsInstance[]>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeSerial: () => void;

  private readonly unsubscribeZone: () => void;

  /**
   * With `serial`, answers carrying the SOA (the SOA itself, negative answers) get the new serial when it moves; with
   * `zoneData`, the answers at the owner names of dynamic RRsets that changed.
   */
  constructor(
    private readonly view: DnsView,
    private readonly cache: ResponseCache,
    private readonly hosts: HostIndex,
    serial?: SerialFeed & SerialSource,
    zoneData?: Pick<DynamicZone, 'onChange'>,
  ) {
    this.unsubscribe = view.onChange((change) => this.onChange(change));
    // The serial is rewritten in the cached replies rather than dropping them: every change moves it, and
    // dropping every negative answer on every change would cost a miss per negative question per change.
    // Cached replies that now carry the new serial hand it out without asking the authority: it counts as seen.
    this.unsubscribeSerial = serial?.onChange((value) => {
      if (this.cache.rewriteSerial(value) > 0) serial.observe();
    }) ?? (() => undefined);
    this.unsubscribeZone = zoneData?.onChange((names) => {
      for (const key of names) this.cache.invalidate(nameTag(key));
    }) ?? (() => undefined);
    const services = new Set(view.services().map((s) => s.service));
    for (const service of services) {
      for (const protocol of PROTOCOLS) {
        const instances = view.eligible(service, protocol);
        for (const instance of instances) this.hosts.change(undefined, instance);
        if (instances.length > 0) this.snapshots.set(snapshotKey(service, protocol), instances);
      }
    }
  }

  /** Stop following the view. */
  close(): void {
    this.unsubscribe();
    this.unsubscribeSerial();
    this.unsubscribeZone();
  }

  private onChange(change: DnsChange): void {
    // Answers that read no metadata or tags stay when only those changed (a re-registration with new metadata)
    // and no service came or went.
    const shapes = change.instances === undefined || change.enumeration !== false || !change.instances.every(sameShape);
    for (const service of change.services) {
      this.cache.invalidate(serviceTag(service));
      if (shapes) this.cache.invalidate(serviceShapeTag(service));
      if (change.instances === undefined || change.enumeration !== false) this.cache.invalidate(subtypesTag(service));
    }
    // Negative answers at instance names change only when that name is registered or deregistered, or becomes
    // eligible (its instanceTag then goes too): a health flip or a re-registration of a sibling keeps them.
    if (change.registrations !== undefined && change.instances !== undefined) {
      for (const { service, protocol, id } of change.registrations) this.cache.invalidate(instanceTag(service, protocol, id));
    } else {
      for (const service of change.services) this.cache.invalidate(unheldTag(service));
    }
    if (change.instances !== undefined) {
      this.snapshots.clear();
      for (const instance of change.instances) this.instanceChanged(instance);
    } else {
      for (const service of change.services) for (const protocol of PROTOCOLS) this.rediff(service, protocol);
    }
    // A health flip does not change which services exist: keep the enumeration answers then.
    if (change.enumeration !== false) this.cache.invalidate(ENUM_TAG);
  }

  /** One instance entered, left or changed: its own answers and the host names it claimed or claims. */
  private instanceChanged(change: DnsInstanceChange): void {
    const { service, protocol, id, before, after } = change;
    this.cache.invalidate(instanceTag(service, protocol, id));
    if (!sameShape(change)) this.cache.invalidate(instanceShapeTag(service, protocol, id));
    // The subtypes it was or is listed under (RFC 6763 §7.1); the folded tag, as the authority reads it.
    for (const tag of before?.tags ?? []) this.cache.invalidate(subtypeTag(service, protocol, foldAscii(tag)));
    for (const tag of after?.tags ?? []) if (before?.tags !== after?.tags) this.cache.invalidate(subtypeTag(service, protocol, foldAscii(tag)));
    for (const key of this.hosts.change(before, after)) this.cache.invalidate(nameTag(key));
  }

  /** A view without instance detail: diff one service and protocol against what was last read. Cost: its size. */
  private rediff(service: string, protocol: Protocol): void {
    const key = snapshotKey(service, protocol);
    const now = this.view.eligible(service, protocol);
    const before = byFoldedId(this.snapshots.get(key) ?? []);
    const after = byFoldedId(now);
    for (const [id, inst] of after) {
      const old = before.get(id);
      if (old === undefined) this.instanceChanged({ service, protocol, id, after: inst });
      else if (!sameInstanceData(old, inst)) this.instanceChanged({ service, protocol, id, before: old, after: inst });
    }
    for (const [id, old] of before) if (!after.has(id)) this.instanceChanged({ service, protocol, id, before: old });
    if (now.length > 0) this.snapshots.set(key, now);
    else this.snapshots.delete(key);
  }
}

function snapshotKey(service: string, protocol: Protocol): string {
  return `${service}/${protocol}`;
}

function byFoldedId(instances: readonly DnsInstance[]): Map<string, DnsInstance> {
  return new Map(instances.map((inst) => [foldAscii(inst.id), inst]));
}

/** Whether an instance's own answers (SRV, TXT) and host claim would be the same: every field they are built from. */
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

/** Whether an instance stayed eligible with the same SRV data and address: only its metadata or tags changed. */
function sameShape({ before, after }: DnsInstanceChange): boolean {
  return (
    before !== undefined &&
    after !== undefined &&
    before.id === after.id &&
    before.address === after.address &&
    before.port === after.port &&
    before.priority === after.priority &&
    before.weight === after.weight &&
    before.host === after.host
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
