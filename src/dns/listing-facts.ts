/**
 * What a service listing draws on, per instances array the view hands out (listing-reply.ts encodes from it):
 * each instance's wire, and the distinct addresses of each family in the order the general path lists them
 * (first holder first). Every registration gives its service a new array, and the next listing question asks
 * for its facts; rebuilding them costs a pass over the whole service (a memo lookup per instance, a set of
 * every address), which in a deploy growing services to hundreds of instances was a seventh of the daemon's
 * time. So the facts of a new array are derived from those of the service's previous array: the instances
 * the two share at the front and at the back keep their wire, only the ones between are looked up, and the
 * address lists follow the instances that left and came when the list can say where they go. What is
 * compared is the arrays themselves (the instances are immutable and identity says they are the same), so a
 * derivation is exact whatever the view did between the two.
 */
import type { DnsInstance } from './view.js';
import { GenerationalMemo } from './instance-memo.js';

/** What one instance contributes to listings, packed in one durable Buffer (`bytes`) at these offsets. */
export interface InstanceWire {
  readonly bytes: Buffer;
  /** SRV RDATA: priority, weight, port, then the target name uncompressed. */
  readonly srvEnd: number;
  /** The instance label (length octet and octets): `<id>` of `<id>._S._P.<domain>`. */
  readonly idEnd: number;
  /** The target's first label (length octet and octets), owner of its address record. */
  readonly targetLabelEnd: number;
  /** The address RDATA: 4 or 16 octets. */
  readonly addressEnd: number;
  /** TXT RDATA from the metadata. */
  readonly txtEnd: number;
  /** RRType.A or RRType.AAAA. */
  readonly addressType: number;
  /** The instance's address as registered: A and AAAA answers list each once. */
  readonly address: string;
  /** The target's name key (name.ts): one address record per target. */
  readonly targetKey: string;
  /** The id ASCII-folded, as name compression compares labels. */
  readonly idKey: string;
}

/** The wire of an instance; null when it cannot be listed from wire (the general path answers). */
export type WireOf = (instance: DnsInstance) => InstanceWire | null;

/** The distinct addresses of one family: each first holder's wire in array order, and holders per address. */
interface AddressList {
  readonly listed: InstanceWire[];
  readonly holders: Map<string, number>;
}

/** The facts of one instances array; `addresses` is built on first use. */
export class ListingFacts {
  private constructor(
    /** The array these facts describe. */
    readonly instances: readonly DnsInstance[],
    /** Each instance's wire, in the array's order (handed to the next array's facts when derived). */
    private wireList: InstanceWire[],
    private readonly byFamily: Map<number, AddressList>,
  ) {}

  /** Each instance's wire, in the array's order. */
  get wires(): readonly InstanceWire[] {
    return this.wireList;
  }

  /** The facts of `instances` from scratch; null when an instance has no wire. */
  static build(instances: readonly DnsInstance[], wireOf: WireOf): ListingFacts | null {
    const wires = new Array<InstanceWire>(instances.length);
    for (let i = 0; i < instances.length; i++) {
      const w = wireOf(instances[i] as DnsInstance);
      if (w === null) return null;
      wires[i] = w;
    }
    return new ListingFacts(instances, wires, new Map());
  }

  /**
   * The facts of `instances` from `previous` (an earlier array of the same service): the instances they share
   * at the front and at the back keep their wire, the others are looked up. Takes `previous`'s lists over,
   * so `previous` must not be used afterwards. Null when an instance has no wire (`previous` is then left as
   * it was). Like every array the view hands out, neither array holds one instance twice: the address lists
   * find an instance's place by its wire.
   */
  static derive(previous: ListingFacts, instances: readonly DnsInstance[], wireOf: WireOf): ListingFacts | null {
    const old = previous.instances;
    const shorter = Math.min(old.length, instances.length);
    let front = 0;
    while (front < shorter && old[front] === instances[front]) front++;
    let back = 0;
    while (back < shorter - front && old[old.length - 1 - back] === instances[instances.length - 1 - back]) back++;
    // old[front, old.length - back) was replaced by instances[front, instances.length - back).
    const added: InstanceWire[] = [];
    for (let i = front; i < instances.length - back; i++) {
      const w = wireOf(instances[i] as DnsInstance);
      if (w === null) return null;
      added.push(w);
    }
    const wires = previous.wireList;
    const removed = wires.slice(front, old.length - back);
    let next: InstanceWire[];
    if (removed.length === added.length) {
      next = wires;
      for (let i = 0; i < added.length; i++) next[front + i] = added[i] as InstanceWire;
    } else if (back === 0 && removed.length === 0) {
      next = wires;
      for (const w of added) next.push(w);
    } else if (added.length === 0) {
      next = wires;
      next.splice(front, removed.length);
    } else {
      next = wires.slice(0, front).concat(added, wires.slice(old.length - back));
    }
    const byFamily = new Map<number, AddressList>();
    for (const [family, list] of previous.byFamily) {
      if (followChange(list, family, removed, added, back === 0)) byFamily.set(family, list);
    }
    previous.wireList = [];
    previous.byFamily.clear();
    return new ListingFacts(instances, next, byFamily);
  }

  /** The wires whose address is of `family` (RRType.A or AAAA), each address once, first holder first. */
  addresses(family: number): readonly InstanceWire[] {
    let list = this.byFamily.get(family);
    if (list === undefined) {
      list = { listed: [], holders: new Map() };
      for (const w of this.wireList) {
        if (w.addressType !== family) continue;
        const held = list.holders.get(w.address) ?? 0;
        list.holders.set(w.address, held + 1);
        if (held === 0) list.listed.push(w);
      }
      this.byFamily.set(family, list);
    }
    return list.listed;
  }
}

/**
 * Bring `list` (addresses of `family`) from the old array to the new one, where `removed` gave way to
 * `added` at one place (`atEnd`: the end of the array). False when the list cannot say where an address
 * now goes (it is then built again when asked): a first holder left while others remain, or an address
 * came in before the end.
 */
function followChange(list: AddressList, family: number, removed: readonly InstanceWire[], added: readonly InstanceWire[], atEnd: boolean): boolean {
  const { listed, holders } = list;
  // One instance replaced in place by one with the same address (a re-registration): same addresses, same
  // order; the newer wire stands for it.
  const was = removed[0];
  const now = added[0];
  if (removed.length === 1 && added.length === 1 && was !== undefined && now !== undefined && was.addressType === now.addressType && was.address === now.address) {
    const at = was.addressType === family ? listed.indexOf(was) : -1;
    if (at >= 0) listed[at] = now;
    return true;
  }
  for (const w of removed) {
    if (w.addressType !== family) continue;
    const held = (holders.get(w.address) ?? 0) - 1;
    const at = listed.indexOf(w);
    if (held > 0) {
      // Another instance holds the address: unchanged, unless this one stood first for it.
      if (at >= 0) return false;
      holders.set(w.address, held);
      continue;
    }
    if (at < 0) return false; // unreachable: a sole holder is its address's first
    holders.delete(w.address);
    listed.splice(at, 1);
  }
  for (const w of added) {
    if (w.addressType !== family) continue;
    if (!atEnd) return false;
    const held = holders.get(w.address) ?? 0;
    holders.set(w.address, held + 1);
    if (held === 0) listed.push(w);
  }
  return true;
}

/**
 * Instances arrays whose facts are kept per generation. Facts pin their instances' wire, and the view keeps
 * every service's array until the service changes: kept for every array, the facts of a registry listed
 * once, service by service, would hold every instance's wire for good (100,000 instances in 10,000
 * services: 32 MB more heap, scripts/bench/cache-memory.mjs). Bounded, they hold the arrays listed lately:
 * a new array goes in when its service changes and an array asked again stays, which covers the listing
 * questions that follow writes. Facts let go but not yet collected still serve derivation (the WeakRef).
 */
const FACTS_GENERATION = 256;
/** Sweep the service index of collected entries when it has grown this much past its last sweep. */
const SWEEP_GROWTH = 2;
const SWEEP_MIN = 1024;

/**
 * Listing facts per instances array (an entry dies with its array, or when its generation goes; see
 * FACTS_GENERATION), each derived from the service's latest facts when there are some. The latest facts are
 * found by service name, through a WeakRef, and a service that went keeps nothing but its name until a
 * sweep. Once a write has replaced a service's array, the view no longer holds the old one, so until the
 * next listing question only the WeakRef holds its facts: a full collection in between costs that service
 * one rebuild, not a wrong answer.
 */
export class ListingFactsMemo {
  private readonly byArray = new GenerationalMemo<readonly DnsInstance[], ListingFacts | null>(FACTS_GENERATION);
  private readonly latest = new Map<string, WeakRef<ListingFacts>>();
  private sweepAt = SWEEP_MIN;

  /** The facts of `instances` (two or more instances of `service`); null when one has no wire. */
  get(service: string, instances: readonly DnsInstance[], wireOf: WireOf): ListingFacts | null {
    const known = this.byArray.get(instances);
    if (known !== undefined) return known;
    const first = instances[0] as DnsInstance;
    const key = `${service}/${first.protocol}`;
    const previous = this.latest.get(key)?.deref();
    let facts: ListingFacts | null;
    // `latest` never names facts that gave their lists away (it names their successor from then on), and
    // facts the memo let go still describe their array while the WeakRef holds them: derive from them too.
    if (previous !== undefined) {
      facts = ListingFacts.derive(previous, instances, wireOf);
      // Its lists now belong to the new facts: the old array builds its own again if it is ever asked.
      if (facts !== null) this.byArray.delete(previous.instances);
    } else {
      facts = ListingFacts.build(instances, wireOf);
    }
    this.byArray.set(instances, facts);
    if (facts !== null) {
      this.latest.set(key, new WeakRef(facts));
      if (this.latest.size >= this.sweepAt) this.sweep();
    }
    return facts;
  }

  /** Forget services whose facts were collected. */
  private sweep(): void {
    for (const [key, ref] of this.latest) if (ref.deref() === undefined) this.latest.delete(key);
    this.sweepAt = Math.max(SWEEP_MIN, this.latest.size * SWEEP_GROWTH);
  }
}
