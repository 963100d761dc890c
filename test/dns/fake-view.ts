/** A DnsView a test fills by hand; `set`/`remove` fire onChange like the registry view does. */
import type { DnsChange, DnsInstance, DnsView } from '../../src/dns/view.js';

export type FakeInstance = Partial<DnsInstance> & { service: string; id: string; address: string; port: number };
/** A DnsInstance as this fake keeps it: with its service, which the DNS layer never reads from it. */
type HeldInstance = DnsInstance & { readonly service: string };

export class FakeView implements DnsView {
  /** Instances by `service/protocol`, with an eligibility flag. */
  private readonly data = new Map<string, { inst: HeldInstance; eligible: boolean }[]>();
  private readonly listeners = new Set<(c: DnsChange) => void>();
  eligibleCalls = 0;
  /**
   * Hand out one array per service until it changes, as the registry view does (memos keyed by the array
   * are then exercised); by default a fresh array per call.
   */
  stableArrays = false;
  private readonly handedOut = new Map<string, readonly DnsInstance[]>();

  static instance(i: FakeInstance): HeldInstance {
    return { protocol: 'tcp', priority: 0, weight: 1, tags: [], metadata: {}, ...i };
  }

  /** Add or replace an instance (by id), then announce the change. */
  set(i: FakeInstance, eligible = true): this {
    const inst = FakeView.instance(i);
    const key = `${inst.service}/${inst.protocol}`;
    const list = (this.data.get(key) ?? []).filter((e) => e.inst.id !== inst.id);
    list.push({ inst, eligible });
    this.data.set(key, list);
    this.emit(inst.service);
    return this;
  }

  /** Add many without announcing each (then one change). */
  setMany(list: FakeInstance[]): this {
    for (const i of list) {
      const inst = FakeView.instance(i);
      const key = `${inst.service}/${inst.protocol}`;
      const l = (this.data.get(key) ?? []).filter((e) => e.inst.id !== inst.id);
      l.push({ inst, eligible: true });
      this.data.set(key, l);
    }
    for (const s of new Set(list.map((i) => i.service))) this.emit(s);
    return this;
  }

  remove(service: string, id: string, protocol: 'tcp' | 'udp' = 'tcp'): this {
    const key = `${service}/${protocol}`;
    const list = (this.data.get(key) ?? []).filter((e) => e.inst.id !== id);
    if (list.length) this.data.set(key, list);
    else this.data.delete(key);
    this.emit(service);
    return this;
  }

  setEligible(service: string, id: string, eligible: boolean, protocol: 'tcp' | 'udp' = 'tcp'): this {
    for (const e of this.data.get(`${service}/${protocol}`) ?? []) if (e.inst.id === id) e.eligible = eligible;
    this.emit(service);
    return this;
  }

  emit(service: string): void {
    for (const key of [...this.handedOut.keys()]) if (key.startsWith(`${service}/`)) this.handedOut.delete(key);
    for (const l of this.listeners) l({ services: [service] });
  }

  eligible(service: string, protocol: 'tcp' | 'udp'): readonly DnsInstance[] {
    this.eligibleCalls++;
    const key = `${service}/${protocol}`;
    const kept = this.stableArrays ? this.handedOut.get(key) : undefined;
    if (kept !== undefined) return kept;
    const list = (this.data.get(key) ?? []).filter((e) => e.eligible).map((e) => e.inst);
    if (this.stableArrays) this.handedOut.set(key, list);
    return list;
  }
  services(): readonly { service: string; protocol: 'tcp' | 'udp' }[] {
    return [...this.data.keys()].map((k) => {
      const [service = '', protocol] = k.split('/');
      return { service, protocol: protocol === 'udp' ? 'udp' : 'tcp' };
    });
  }
  hasService(service: string, protocol: 'tcp' | 'udp'): boolean {
    return this.data.has(`${service}/${protocol}`);
  }
  hasInstance(service: string, protocol: 'tcp' | 'udp', id: string): boolean {
    return (this.data.get(`${service}/${protocol}`) ?? []).some((e) => e.inst.id.toLowerCase() === id.toLowerCase());
  }
  onChange(listener: (change: DnsChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
