/**
 * The authority: a pure function from (static zones, the registry view, the host index, a question) to the
 * RRsets of a response, following docs/ARCHITECTURE.md, "DNS namespace". The question name is classified
 * first (query-kind.ts); the DNS-SD part switches over that kind. It never touches sockets or caches; every
 * answer also says which registry facts it depends on (`tags`), so the cache can invalidate exactly.
 *
 * Outcomes map to rcodes in exactly one place (`toAnswer`): data → NOERROR, no data → NOERROR + SOA,
 * no such name → NXDOMAIN + SOA (RFC 2308), outside our zones → REFUSED. Anything thrown becomes
 * SERVFAIL in the request handler.
 */
import { foldAscii } from '../ascii.js';
import { type DnsInstance, type DnsView } from './view.js';
import {
  type Name,
  nameKey,
  isSubdomain,
  namesEqual,
  nameFromLabels,
  joinNames,
  parseName,
} from './name.js';
import { type ResourceRecord, RRType, addressRecord, nameRecord, metadataToTxt } from './records.js';
import { type Zone, type ZoneData } from './zonefile.js';
import { Rcode } from './wire.js';
import { ADDR_LABEL, HostIndex, srvTarget } from './hosts.js';
import { type Protocol, type QueryKind, SUBTYPE_LABEL, classifyQuery } from './query-kind.js';
import { ENUM_TAG, SOA_TAG, instanceShapeTag, instanceTag, nameTag, serviceShapeTag, serviceTag, subtypeTag, subtypesTag, unheldTag } from './cache-tags.js';
import type { SerialSource } from './zone-serial.js';
import type { DynamicZone } from './dynamic-zone.js';
import { mergeRRsets, rrsetKeys } from './rrset.js';
import { durableCopy, durableLabel, durableName } from './durable.js';
import { GenerationalMemo } from './instance-memo.js';

/** What the authority needs to know besides the view. */
export interface AuthorityConfig {
  /** The DNS-SD domain the registry is published under. */
  readonly domain: Name;
  /** TTL of every registry-derived record. */
  readonly answerTtl: number;
  /** SOA minimum (negative-caching TTL, RFC 2308 §4) of generated SOA records. */
  readonly negativeTtl: number;
  /** Static zones; one whose apex is `domain` is merged with the registry. */
  readonly zones: ZoneData;
  /** Addresses for the generated `ns.<apex>` name server, when a zone file does not give NS. */
  readonly nameServerAddresses?: readonly string[];
  /**
   * SOA serial: a number for generated SOA records, fixed; or a source read at answer time, whose serial the
   * DNS-SD domain's SOA carries (generated or from a zone file) so that it follows every change (zone-serial.ts).
   */
  readonly serial?: number | SerialSource;
  /** Dynamic zone data (records UPDATE added that describe no instance), served at host names like static data. */
  readonly zoneData?: Pick<DynamicZone, 'records' | 'exists'>;
  /** Instances per generation of the listing parts memo (`Authority.parts`); default INSTANCE_PARTS_GENERATION. */
  readonly partsGeneration?: number;
}

/** One response's sections plus what the cache needs. */
export interface AuthorityAnswer {
  readonly rcode: number;
  readonly aa: boolean;
  readonly answer: readonly ResourceRecord[];
  readonly authority: readonly ResourceRecord[];
  readonly additional: readonly ResourceRecord[];
  /** How many distinct orders successive answers cycle through (the answer RRset's size, or 1). */
  readonly rotation: number;
  /** Cache dependencies (cache-tags.ts): service, instance, host name, enumeration. Empty = static data only. */
  readonly tags: readonly string[];
}

/** A plain service listing's instances and cache tag (`Authority.listing`). */
export interface ServiceListing {
  /** The service named (lower case). */
  readonly service: string;
  /** The eligible instances, in the order answers list them. */
  readonly instances: readonly DnsInstance[];
  /** The one tag the answer depends on (cache-tags.ts). */
  readonly tag: string;
}

/** Question types of a service name that list its instances. */
const LISTING_TYPES = new Set<number>([RRType.SRV, RRType.A, RRType.AAAA, RRType.PTR]);

type Outcome =
  | { readonly kind: 'data'; readonly answer: ResourceRecord[]; readonly additional: ResourceRecord[] }
  | { readonly kind: 'nodata' }
  | { readonly kind: 'nxdomain' }
  | { readonly kind: 'refused' };

interface StaticZone {
  readonly apex: Name;
  readonly soa: ResourceRecord;
  readonly byName: ReadonlyMap<string, ReadonlyMap<number, readonly ResourceRecord[]>>;
  /** Keys of every name that exists: owners and the empty non-terminals between them and the apex. */
  readonly existing: ReadonlySet<string>;
}

/** Dynamic lookup result inside the DNS-SD domain. */
interface DynamicResult {
  exists: boolean;
  answer: ResourceRecord[];
  additional: ResourceRecord[];
  tags: string[];
}

const NAME_MEMO_LIMIT = 200_000;
const ADDRESS_TYPES = new Set<number>([RRType.A, RRType.AAAA]);
/** HINFO RDATA (RFC 1035 §3.3.2): character-strings CPU "RFC8482" and OS "" (RFC 8482 §4.2). */
const RFC8482_HINFO_RDATA = Buffer.from([7, ...Buffer.from('RFC8482', 'ascii'), 0]);
/** The types that describe one instance (RFC 6763 §6): the registry's replace a zone's at the same name. */
const INSTANCE_TYPES = new Set<number>([RRType.SRV, RRType.TXT]);

/** The static data for a zone, with SOA and NS generated when the zone file gives none. */
function buildZone(zone: Zone, config: AuthorityConfig): StaticZone {
  // A zone file may repeat a record, or give one RRset two TTLs: served as one set (RFC 2181 §5).
  const records = mergeRRsets(zone.records);
  const apex = zone.apex;
  const at = (type: number): ResourceRecord | undefined =>
    records.find((r) => r.type === type && namesEqual(r.name, apex));
  const ns = joinNames(nameFromLabels(['ns']), apex);
  let soa = at(RRType.SOA);
  if (!soa) {
    soa = {
      name: apex,
      type: RRType.SOA,
      ttl: config.negativeTtl,
      data: {
        kind: 'SOA',
        mname: ns,
        rname: joinNames(nameFromLabels(['hostmaster']), apex),
        serial: typeof config.serial === 'number' ? config.serial : (config.serial?.observe() ?? 1),
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: config.negativeTtl,
      },
    };
    records.push(soa);
  }
  if (!at(RRType.NS)) {
    records.push(nameRecord(apex, 'NS', config.answerTtl, ns));
    if (!records.some((r) => namesEqual(r.name, ns))) {
      for (const a of config.nameServerAddresses ?? []) {
        const rr = addressRecord(ns, config.answerTtl, a);
        if (rr) records.push(rr);
      }
    }
  }
  const byName = new Map<string, Map<number, ResourceRecord[]>>();
  const existing = new Set<string>();
  for (const rr of records) {
    const key = nameKey(rr.name);
    const types = byName.get(key) ?? new Map<number, ResourceRecord[]>();
    types.set(rr.type, [...(types.get(rr.type) ?? []), rr]);
    byName.set(key, types);
    for (let i = 0; i <= rr.name.length - apex.length; i++) existing.add(nameKey(rr.name.slice(i)));
  }
  return { apex, soa, byName, existing };
}

/** TXT RDATA (records.ts builds it from metadata). */
type TxtData = { readonly kind: 'TXT'; readonly strings: ReturnType<typeof metadataToTxt> };

/** A or AAAA RDATA. */
type AddressData = Extract<ResourceRecord['data'], { readonly kind: 'A' | 'AAAA' }>;

/**
 * What every answer listing one instance builds from it (see `Authority.parts`): what costs to build (names,
 * keys, parsed address, TXT strings), not the records, which are small objects made per answer (keeping them
 * too doubled the memo's size). Never mutated.
 */
interface InstanceParts {
  /** `I._S._P.D`; undefined for an id that is no DNS label. */
  readonly name: Name | undefined;
  /** Its SRV target (hosts.ts). */
  readonly target: Name | undefined;
  /** The target's name key (name.ts), for grouping additional records without computing it per listing. */
  readonly targetKey: string | undefined;
  /** Whether the target is address-derived (`<label>.addr.<domain>`): its A/AAAA is the instance's address. */
  readonly derived: boolean;
  /** TXT RDATA from its metadata. */
  readonly txt: TxtData;
  /** Its address as A/AAAA RDATA; undefined for a host name. */
  readonly address: AddressData | undefined;
}

/** What `targetAddresses` reads of one SRV target: an instance's memoised parts, or the same built for one answer. */
type ListedTarget = Pick<InstanceParts, 'target' | 'targetKey' | 'derived' | 'address'>;

/** Owner of the throwaway record `addressData` reads the RDATA from. */
const ROOT_NAME: Name = [];

/** The A/AAAA RDATA of an IP literal; undefined for a host name. */
function addressData(address: string): AddressData | undefined {
  const data = addressRecord(ROOT_NAME, 0, address)?.data;
  return data?.kind === 'A' || data?.kind === 'AAAA' ? data : undefined;
}

/**
 * Instances per generation of the parts memo (`Authority.parts`) to start with: about 1.4 KB each, so ~23 MB
 * for two generations; room for every instance of a registry of thousands that clients browse. It grows
 * when more instances than that are listed over and over (instance-memo.ts), up to one entry per instance
 * listed that way (1.4 KB each, as many as rebuilding them on each listing would allocate).
 */
const INSTANCE_PARTS_GENERATION = 8192;

/** Resolves questions. Construct once per static configuration; `answer` is pure. */
export class Authority {
  private readonly zones: readonly StaticZone[];
  private readonly domainZone: StaticZone;
  private readonly domain: Name;
  private readonly ttl: number;
  /** TTL of every registry-derived record. */
  get answerTtl(): number {
    return this.ttl;
  }
  /** Memo of eligible instances by folded id, keyed by the array the view returned (unobservable). */
  private readonly byId = new WeakMap<readonly DnsInstance[], Map<string, DnsInstance>>();
  /** Memo of service names (bounded; cleared when full). Names are immutable, so sharing them is safe. */
  private readonly serviceNames = new Map<string, Name>();
  /** Where the DNS-SD domain's SOA serial comes from, when it follows changes. */
  private readonly serial: SerialSource | undefined;
  /** The DNS-SD domain's SOA as last served (rebuilt when the serial moves). */
  private liveSoa: ResourceRecord;
  /** `addr.<domain>`, under which address-derived SRV targets live (hosts.ts). */
  private readonly addrZone: Name;
  /**
   * What answers listing a service build from one of its instances, memoised per DnsInstance (the view
   * replaces the object when the instance changes, so an entry never goes stale). After a write, every answer
   * listing the service is dropped and rebuilt on the next query from all its instances: the memo makes a PTR
   * or A rebuild (and an SRV one after them) cost a lookup per instance instead of names, keys, parsed
   * addresses and TXT strings built again (and gives the encoder the same names, whose keys name.ts keeps).
   * Generations of WeakMaps (instance-memo.ts): an entry dies with its instance, and listings keep hitting
   * however they are read (a bounded FIFO thrashed once the registry listed more instances than it held;
   * the generations grow to the instances listed again and again). Only PTR and A listings build entries: SRV
   * listings and an instance's own questions use one when there, so neither asking many distinct instances nor
   * the service SRV of a whole large registry fills it (the cache's memory per question stays as it was).
   * Octets are durable (durable.ts): a long-lived entry pins no allocation pool.
   */
  private readonly parts: GenerationalMemo<DnsInstance, InstanceParts>;

  constructor(private readonly config: AuthorityConfig) {
    this.parts = new GenerationalMemo(config.partsGeneration ?? INSTANCE_PARTS_GENERATION);
    this.domain = config.domain;
    this.addrZone = joinNames(nameFromLabels([ADDR_LABEL]), config.domain);
    this.ttl = config.answerTtl;
    const zones = [...config.zones];
    if (!zones.some((z) => namesEqual(z.apex, config.domain))) zones.push({ apex: config.domain, records: [] });
    // Deepest apex first: the closest enclosing zone answers (RFC 1034 §4.3.2 step 2).
    this.zones = zones.map((z) => buildZone(z, config)).sort((a, b) => b.apex.length - a.apex.length);
    const domainZone = this.zones.find((z) => namesEqual(z.apex, config.domain));
    if (!domainZone) throw new Error('unreachable: the DNS-SD domain zone is always present');
    this.domainZone = domainZone;
    this.serial = typeof config.serial === 'object' ? config.serial : undefined;
    this.liveSoa = domainZone.soa;
  }

  /** A zone's SOA as served now: the DNS-SD domain's carries the current serial when it follows changes. */
  private soaOf(zone: StaticZone): ResourceRecord {
    if (zone !== this.domainZone || this.serial === undefined) return zone.soa;
    const serial = this.serial.observe();
    const soa = this.liveSoa;
    if (soa.data.kind === 'SOA' && soa.data.serial !== serial) this.liveSoa = { ...soa, data: { ...soa.data, serial } };
    return this.liveSoa;
  }

  /** The answer for `outcome`; answers that carry the DNS-SD domain's moving SOA depend on its serial too. */
  private finish(outcome: Outcome, zone: StaticZone | undefined, tags: string[]): AuthorityAnswer {
    const negative = outcome.kind === 'nodata' || outcome.kind === 'nxdomain';
    if (negative && zone === this.domainZone && this.serial !== undefined) tags.push(SOA_TAG);
    return toAnswer(outcome, zone ? this.soaOf(zone) : undefined, tags);
  }

  /**
   * When `qname` (folded) asks for a plain service listing, SRV, A, AAAA or PTR at `_S._P.<domain>` of a
   * registered service with nothing but registry data at that name: the eligible instances `answer` lists and
   * the answer's cache tag. Undefined for every other question. ListingReplies (listing-reply.ts) encodes the
   * reply from these without building records; `answer` gives the same reply.
   */
  listing(qname: Name, qtype: number, view: DnsView): ServiceListing | undefined {
    if (!LISTING_TYPES.has(qtype)) return undefined;
    const zone = this.zoneOf(qname);
    if (zone !== this.domainZone) return undefined;
    // Classified first: most misses asking these types (an instance's SRV, a target's A) are no service name,
    // and `answer` classifies them again; the name's key is built only for a service name.
    const kind = classifyQuery(qname, this.domain, zone.apex);
    if (kind.kind !== 'service' || zone.byName.has(nameKey(qname)) || !view.hasService(kind.service, kind.protocol)) return undefined;
    return {
      service: kind.service,
      instances: view.eligible(kind.service, kind.protocol),
      tag: qtype === RRType.PTR ? serviceTag(kind.service) : serviceShapeTag(kind.service),
    };
  }

  /** Answer `qtype` at `qname` (labels as asked; matching is case-insensitive). */
  answer(qname: Name, qtype: number, view: DnsView, hosts: HostIndex): AuthorityAnswer {
    const full = this.resolve(qname, qtype, view, hosts);
    if (qtype !== RRType.ANY || full.rcode !== Rcode.NOERROR || full.answer.length === 0) return full;
    // RFC 8482 §4.2: ANY at a name with data gets one synthesized HINFO "RFC8482" "", whatever the name
    // holds. Constant and small, so ANY is no amplifier and no way to pull a whole service in one query;
    // clients ask for the types they want. The name's existence and tags still come from the full lookup.
    return { ...full, answer: [this.rfc8482Hinfo(qname)], additional: [], rotation: 1 };
  }

  /** The RFC 8482 §4.2 answer to ANY: HINFO with CPU "RFC8482" and an empty OS, at the answer's owner. */
  private rfc8482Hinfo(name: Name): ResourceRecord {
    return { name, type: RRType.HINFO, ttl: this.ttl, data: { kind: 'RAW', bytes: RFC8482_HINFO_RDATA } };
  }

  private resolve(qname: Name, qtype: number, view: DnsView, hosts: HostIndex): AuthorityAnswer {
    const zone = this.zoneOf(qname);
    if (!zone) return this.finish({ kind: 'refused' }, undefined, []);
    const tags: string[] = [];
    const chain: ResourceRecord[] = [];
    let name = qname;
    let current = zone;
    // Follow in-zone CNAMEs (RFC 1034 §4.3.2 step 3a), at most 8 hops so a loop ends.
    for (let hop = 0; hop < 8; hop++) {
      const outcome = this.lookup(current, name, qtype, view, hosts, tags);
      const cname = outcome.kind === 'data' ? undefined : this.staticRecords(current, name, RRType.CNAME)[0];
      if (!cname || qtype === RRType.CNAME || qtype === RRType.ANY || cname.data.kind !== 'CNAME') {
        if (chain.length === 0) return this.finish(outcome, current, tags);
        if (outcome.kind === 'data') return this.finish({ ...outcome, answer: [...chain, ...outcome.answer] }, current, tags);
        return { ...this.finish(outcome, current, tags), answer: chain, rotation: 1 };
      }
      chain.push(cname);
      name = cname.data.target;
      const next = this.zoneOf(name);
      if (!next) return this.finish({ kind: 'data', answer: chain, additional: [] }, current, tags);
      current = next;
    }
    return this.finish({ kind: 'data', answer: chain, additional: [] }, current, tags);
  }

  /** The closest enclosing zone we serve (zones are sorted deepest apex first). */
  private zoneOf(name: Name): StaticZone | undefined {
    return this.zones.find((z) => isSubdomain(name, z.apex));
  }

  private staticRecords(zone: StaticZone, name: Name, qtype: number): readonly ResourceRecord[] {
    const types = zone.byName.get(nameKey(name));
    if (!types) return [];
    if (qtype === RRType.ANY) return [...types.values()].flat();
    return types.get(qtype) ?? [];
  }

  private lookup(zone: StaticZone, name: Name, qtype: number, view: DnsView, hosts: HostIndex, tags: string[]): Outcome {
    const key = nameKey(name);
    let fixed = this.staticRecords(zone, name, qtype);
    let exists = zone.existing.has(key);
    const answer: ResourceRecord[] = [];
    const additional: ResourceRecord[] = [];
    if (zone === this.domainZone) {
      if (this.serial !== undefined && fixed.some((r) => r.type === RRType.SOA)) {
        // The apex SOA carries the serial of now (zone-serial.ts); its answer is dropped when the serial moves.
        fixed = fixed.map((r) => (r.type === RRType.SOA ? this.soaOf(zone) : r));
        tags.push(SOA_TAG);
      }
      const kind = classifyQuery(name, this.domain, zone.apex);
      const zoneData = this.config.zoneData;
      if (zoneData !== undefined) {
        // Dynamic zone data lives at host names only; their answers are tagged with the name (hostData), and
        // a name that exists only above dynamic data changes negative answers alone (SOA-tagged).
        if (kind.kind === 'host') {
          const records = zoneData.records(name, qtype);
          if (records.length > 0) fixed = fixed.length === 0 ? records : [...fixed, ...records];
        }
        exists ||= zoneData.exists(name);
      }
      const dyn = this.dynamic(kind, name, qtype, view, hosts);
      tags.push(...dyn.tags);
      exists ||= dyn.exists;
      // A registered instance's SRV and TXT are the registry's: the zone's records of those types at the
      // same name are shadowed, so an instance has one SRV and one TXT record (RFC 6763 §6).
      const shadowed = new Set(dyn.answer.filter((r) => INSTANCE_TYPES.has(r.type)).map((r) => r.type));
      if (shadowed.size > 0) fixed = fixed.filter((r) => !shadowed.has(r.type));
      answer.push(...fixed, ...dyn.answer);
      additional.push(...dyn.additional);
    } else {
      answer.push(...fixed);
    }
    if (answer.length > 0) {
      additional.push(...this.staticAdditional(fixed));
      // Static records may name an RRset the registry also gives: one set each, one TTL (rrset.ts). Registry
      // data alone never repeats a record, so answers without static records skip the merge (it costs a
      // presentation string per record, several times the cost of a large answer's miss).
      if (fixed.length === 0) return { kind: 'data', answer, additional };
      const merged = mergeRRsets(answer);
      return { kind: 'data', answer: merged, additional: mergeRRsets(additional, rrsetKeys(merged)) };
    }
    return { kind: exists ? 'nodata' : 'nxdomain' };
  }

  /** Address records for in-zone targets of static SRV/MX/NS records (RFC 1035 §3.3.11, RFC 2782). */
  private staticAdditional(records: readonly ResourceRecord[]): ResourceRecord[] {
    const out: ResourceRecord[] = [];
    for (const rr of records) {
      const d = rr.data;
      const target = d.kind === 'SRV' ? d.target : d.kind === 'MX' ? d.exchange : d.kind === 'NS' ? d.target : undefined;
      if (!target) continue;
      const zone = this.zoneOf(target);
      if (zone) for (const t of [RRType.A, RRType.AAAA]) out.push(...this.staticRecords(zone, target, t));
    }
    return out;
  }

  // ---- the DNS-SD domain -------------------------------------------------------------------------

  /** Registry-derived data and existence for one classified name of the DNS-SD domain. */
  private dynamic(kind: QueryKind, name: Name, qtype: number, view: DnsView, hosts: HostIndex): DynamicResult {
    const result: DynamicResult = { exists: false, answer: [], additional: [], tags: [] };
    const any = qtype === RRType.ANY;
    switch (kind.kind) {
      case 'outside':
      case 'static':
      case 'nonexistent':
        return result;
      case 'empty-non-terminal':
        return this.emptyNonTerminal(kind, name, qtype, view, hosts, result);
      case 'browse-domain':
        result.tags.push(ENUM_TAG);
        result.exists = true;
        if (qtype === RRType.PTR || any) result.answer.push(nameRecord(name, 'PTR', this.ttl, this.domain));
        return result;
      case 'enumerate':
        result.tags.push(ENUM_TAG);
        result.exists = true;
        if (qtype === RRType.PTR || any) this.enumerate(name, view, result);
        return result;
      case 'service':
        // Only the PTR listing (and ANY) carries the instances' TXT (RFC 6763 §12.1); SRV and addresses do not.
        result.tags.push(qtype === RRType.PTR || any ? serviceTag(kind.service) : serviceShapeTag(kind.service));
        if (!view.hasService(kind.service, kind.protocol)) return result;
        // A registered service exists even with no eligible instance: NODATA, not NXDOMAIN.
        result.exists = true;
        this.serviceData(name, kind.service, view.eligible(kind.service, kind.protocol), qtype, hosts, result);
        return result;
      case 'instance':
        // No eligible instance holds the name: the answer (NXDOMAIN, or NODATA for an ineligible one) changes
        // only when the name is registered, deregistered or becomes eligible, all of which drop its instanceTag
        // (see DnsChange.registrations); whether the service exists does not change it. A sibling's change keeps it.
        result.tags.push(instanceTag(kind.service, kind.protocol, kind.foldedId), unheldTag(kind.service));
        if (!view.hasService(kind.service, kind.protocol)) return result;
        if (this.instanceData(name, kind, view, qtype, hosts, result)) return result;
        // A registered but ineligible instance: the name exists, without data.
        result.exists = view.hasInstance(kind.service, kind.protocol, kind.id);
        return result;
      case 'subtype': {
        // The answer reads only the instances carrying the tag: a change to an instance without it keeps it.
        result.tags.push(subtypeTag(kind.service, kind.protocol, kind.tag), subtypesTag(kind.service));
        if (!view.hasService(kind.service, kind.protocol)) return result;
        // Subtypes (RFC 6763 §7.1): the name is treated as existing for any tag of a registered service, so a
        // tag whose instances are all ineligible answers NODATA, like the service.
        result.exists = true;
        if (qtype === RRType.PTR || any) {
          const tagged = view.eligible(kind.service, kind.protocol).filter((i) => i.tags.some((t) => foldAscii(t) === kind.tag));
          this.browse(name, kind.service, tagged, hosts, result);
        }
        return result;
      }
      case 'address-name': {
        result.exists = true;
        const rr = addressRecord(name, this.ttl, kind.address);
        if (rr && (qtype === rr.type || any)) result.answer.push(rr);
        return result;
      }
      case 'host':
        this.hostData(name, qtype, hosts, result);
        return result;
      default:
        return unreachable(kind);
    }
  }

  /** `_services._dns-sd._udp.D` PTR: every registered `_S._P.D`, sorted so the bytes are stable (RFC 6763 §9). */
  private enumerate(name: Name, view: DnsView, result: DynamicResult): void {
    const services = [...view.services()].sort((a, b) =>
      a.service === b.service ? a.protocol.localeCompare(b.protocol) : a.service < b.service ? -1 : 1,
    );
    for (const s of services) result.answer.push(nameRecord(name, 'PTR', this.ttl, this.serviceName(s.service, s.protocol)));
  }

  /** A host name an instance claims, or an empty non-terminal above one (or a name with static data only). */
  private hostData(name: Name, qtype: number, hosts: HostIndex, result: DynamicResult): void {
    const key = nameKey(name);
    result.tags.push(nameTag(key));
    result.exists = hosts.exists(key);
    if (!ADDRESS_TYPES.has(qtype) && qtype !== RRType.ANY) return;
    for (const a of hosts.addresses(key) ?? []) {
      const rr = addressRecord(name, this.ttl, a);
      if (rr && (qtype === rr.type || qtype === RRType.ANY)) result.answer.push(rr);
    }
  }

  /** Names that exist only because names below them do (RFC 8020 §2 keeps them NOERROR). */
  private emptyNonTerminal(
    kind: Extract<QueryKind, { kind: 'empty-non-terminal' }>,
    name: Name,
    qtype: number,
    view: DnsView,
    hosts: HostIndex,
    result: DynamicResult,
  ): DynamicResult {
    switch (kind.node) {
      case 'protocol':
        // `_udp.D` always has `_dns-sd._udp.D` below it; `_tcp.D` only while a TCP service is registered.
        result.tags.push(ENUM_TAG);
        result.exists = kind.protocol === 'udp' || view.services().some((s) => s.protocol === 'tcp');
        return result;
      case 'dns-sd':
        result.tags.push(ENUM_TAG);
        result.exists = true;
        return result;
      case 'addr':
        result.exists = true;
        return result;
      case 'sub': {
        result.tags.push(serviceTag(kind.service));
        if (!view.hasService(kind.service, kind.protocol)) return result;
        // Instance ids are free UTF-8, so an instance may be called `_sub`: its own records are served here.
        const asInstance = { service: kind.service, protocol: kind.protocol, id: SUBTYPE_LABEL, foldedId: SUBTYPE_LABEL };
        this.instanceData(name, asInstance, view, qtype, hosts, result);
        result.exists = true;
        return result;
      }
      default:
        return unreachable(kind);
    }
  }

  /** `_S._P.D`: PTR to each eligible instance, SRV per instance, A/AAAA of their addresses (each once). */
  private serviceData(name: Name, service: string, eligible: readonly DnsInstance[], qtype: number, hosts: HostIndex, result: DynamicResult): void {
    const any = qtype === RRType.ANY;
    if (qtype === RRType.PTR || any) this.browse(name, service, eligible, hosts, result);
    if (qtype === RRType.SRV || any) {
      // The targets' addresses follow all the SRV records, each target once and A before AAAA, as for PTR.
      const targets: ListedTarget[] = [];
      for (const inst of eligible) {
        const parts = this.parts.get(inst) ?? this.srvTargetOf(inst);
        if (!parts?.target) continue;
        result.answer.push(this.srvRecord(name, inst, parts.target));
        targets.push(parts);
      }
      this.targetAddresses(targets, hosts, result);
    }
    if (ADDRESS_TYPES.has(qtype) || any) {
      const seen = new Set<string>();
      for (const inst of eligible) {
        const address = this.partsOf(inst, service).address;
        if (address && (qtype === (address.kind === 'A' ? RRType.A : RRType.AAAA) || any) && !seen.has(inst.address)) {
          seen.add(inst.address);
          result.answer.push(this.addressAt(name, address));
        }
      }
    }
  }

  /**
   * `I._S._P.D` of an eligible instance: its SRV and TXT. Returns false (and adds nothing) when no eligible
   * instance has that name.
   */
  private instanceData(
    name: Name,
    wanted: { readonly service: string; readonly protocol: Protocol; readonly foldedId: string },
    view: DnsView,
    qtype: number,
    hosts: HostIndex,
    result: DynamicResult,
  ): boolean {
    // The view's lookup when it has one: indexing a large service per cache miss would cost its size.
    const inst = view.instance ? view.instance(wanted.service, wanted.protocol, wanted.foldedId) : this.findInstance(view.eligible(wanted.service, wanted.protocol), wanted.foldedId);
    if (!inst) return false;
    // An eligible instance's own answers depend on that instance only (the cache invalidation diffs each
    // service on change), so a change to one instance leaves its siblings cached. (Negative answers: see the
    // 'instance' case of `dynamic`.)
    // Only TXT (and ANY) reads the metadata: other answers keep across a metadata-only change (serviceShapeTag).
    const reads = qtype === RRType.TXT || qtype === RRType.ANY ? instanceTag : instanceShapeTag;
    result.tags = [reads(wanted.service, wanted.protocol, wanted.foldedId)];
    result.exists = true;
    const any = qtype === RRType.ANY;
    if (qtype === RRType.SRV || any) this.addSrv(name, inst, hosts, result);
    if (qtype === RRType.TXT || any) {
      result.answer.push({ name, type: RRType.TXT, ttl: this.ttl, data: { kind: 'TXT', strings: metadataToTxt(inst.metadata) } });
    }
    return true;
  }

  private serviceName(service: string, protocol: Protocol): Name {
    const key = `${service}\0${protocol}`;
    let name = this.serviceNames.get(key);
    if (!name) {
      name = durableName([`_${service}`, `_${protocol}`], this.domain); // kept: durable labels (durable.ts)
      if (this.serviceNames.size >= NAME_MEMO_LIMIT) this.serviceNames.clear();
      this.serviceNames.set(key, name);
    }
    return name;
  }

  /** `I._S._P.D`, or undefined for an id that is no DNS label (over 63 octets; the registry prevents it). */
  private instanceName(inst: DnsInstance, service: string): Name | undefined {
    const length = Buffer.byteLength(inst.id, 'utf8');
    if (length === 0 || length > 63) return undefined;
    return [durableLabel(inst.id), ...this.serviceName(service, inst.protocol)];
  }

  /**
   * The memoised parts of `inst`, an instance of `service` (see `parts`), built on first use. An instance
   * object belongs to one service, so the memo keyed by the object alone stays right.
   */
  private partsOf(inst: DnsInstance, service: string): InstanceParts {
    let parts = this.parts.get(inst);
    if (parts !== undefined) return parts;
    const target = srvTarget(inst, this.domain);
    parts = {
      name: this.instanceName(inst, service),
      target,
      targetKey: target === undefined ? undefined : nameKey(target),
      derived: target !== undefined && this.isDerived(target),
      txt: { kind: 'TXT', strings: metadataToTxt(inst.metadata).map(durableCopy) },
      address: addressData(inst.address),
    };
    this.parts.set(inst, parts);
    return parts;
  }

  /** Whether `target` is an address-derived name, `<label>.addr.<domain>` (hosts.ts). */
  private isDerived(target: Name): boolean {
    return target.length === this.addrZone.length + 1 && isSubdomain(target, this.addrZone);
  }

  /** A or AAAA at `owner` with this RDATA. */
  private addressAt(owner: Name, data: AddressData): ResourceRecord {
    return { name: owner, type: data.kind === 'A' ? RRType.A : RRType.AAAA, ttl: this.ttl, data };
  }

  private findInstance(eligible: readonly DnsInstance[], foldedId: string): DnsInstance | undefined {
    let index = this.byId.get(eligible);
    if (!index) {
      index = new Map(eligible.map((i) => [foldAscii(i.id), i]));
      this.byId.set(eligible, index);
    }
    return index.get(foldedId);
  }

  /** PTR answers with the RFC 6763 §12.1 additional records: SRV, TXT, then target addresses. */
  private browse(owner: Name, service: string, instances: readonly DnsInstance[], hosts: HostIndex, result: DynamicResult): void {
    const targets: InstanceParts[] = [];
    for (const inst of instances) {
      const parts = this.partsOf(inst, service);
      const { name: instanceName, target } = parts;
      if (!instanceName) continue;
      result.answer.push(nameRecord(owner, 'PTR', this.ttl, instanceName));
      if (target) {
        result.additional.push(this.srvRecord(instanceName, inst, target));
        targets.push(parts);
      }
      result.additional.push({ name: instanceName, type: RRType.TXT, ttl: this.ttl, data: parts.txt });
    }
    this.targetAddresses(targets, hosts, result);
  }

  private srvRecord(owner: Name, inst: DnsInstance, target: Name): ResourceRecord {
    return { name: owner, type: RRType.SRV, ttl: this.ttl, data: { kind: 'SRV', priority: inst.priority, weight: inst.weight, port: inst.port, target } };
  }

  /** SRV at `owner` for `inst`, with its target's addresses: from its memoised parts when there (see `parts`). */
  private addSrv(owner: Name, inst: DnsInstance, hosts: HostIndex, result: DynamicResult): void {
    const parts = this.parts.get(inst) ?? this.srvTargetOf(inst);
    const target = parts?.target;
    if (!parts || !target) return;
    result.answer.push(this.srvRecord(owner, inst, target));
    this.targetAddresses([parts], hosts, result);
  }

  /** What `targetAddresses` needs of `inst`'s SRV target, built without the memo; undefined without a target. */
  private srvTargetOf(inst: DnsInstance): ListedTarget | undefined {
    const target = srvTarget(inst, this.domain);
    if (!target) return undefined;
    const derived = this.isDerived(target);
    return { target, targetKey: nameKey(target), derived, address: derived ? addressData(inst.address) : undefined };
  }

  /**
   * A/AAAA for SRV targets we are authoritative for (RFC 2782 "Usage rules", RFC 6763 §12.2): address-derived
   * names from the instance's own address, instance host names from the host index and the dynamic zone data,
   * static names from zones. Each target once; A records before AAAA, each RRset contiguous.
   * A target outside our zones gets nothing.
   */
  private targetAddresses(targets: readonly ListedTarget[], hosts: HostIndex, result: DynamicResult): void {
    // Address-derived targets only (the usual listing): one record per target and no RRset to merge or group,
    // so the A records in order, then the AAAA records, with no sort and no map per listing.
    let derivedOnly = true;
    for (const t of targets) {
      if (!t.derived) {
        derivedOnly = false;
        break;
      }
    }
    if (derivedOnly) {
      const first = targets[0];
      if (targets.length === 1 && first !== undefined) {
        if (first.target && first.address) result.additional.push(this.addressAt(first.target, first.address));
        return;
      }
      const done = new Set<string>();
      let aaaa: ResourceRecord[] | undefined;
      for (const t of targets) {
        const key = t.targetKey as string;
        if (done.has(key)) continue;
        done.add(key);
        const data = t.address;
        if (data === undefined || t.target === undefined) continue;
        if (data.kind === 'A') result.additional.push(this.addressAt(t.target, data));
        else (aaaa ??= []).push(this.addressAt(t.target, data));
      }
      if (aaaa !== undefined) for (const rr of aaaa) result.additional.push(rr);
      return;
    }
    const done = new Set<string>();
    // Each addition with its owner's key, computed once per target (it groups the RRsets below).
    const additions: { readonly rr: ResourceRecord; readonly key: string }[] = [];
    for (const { target, targetKey, derived, address } of targets) {
      if (target === undefined || targetKey === undefined) continue;
      const key = targetKey;
      if (done.has(key)) continue;
      done.add(key);
      if (derived) {
        if (address) additions.push({ rr: this.addressAt(target, address), key });
        continue;
      }
      const zone = this.zoneOf(target);
      if (!zone) continue;
      const own: ResourceRecord[] = [];
      for (const t of [RRType.A, RRType.AAAA]) own.push(...this.staticRecords(zone, target, t));
      if (zone === this.domainZone && this.config.zoneData !== undefined) {
        for (const t of [RRType.A, RRType.AAAA]) own.push(...this.config.zoneData.records(target, t));
      }
      const fromZone = own.length;
      if (zone === this.domainZone) {
        result.tags.push(nameTag(key));
        for (const a of hosts.addresses(key) ?? []) {
          const rr = addressRecord(target, this.ttl, a);
          if (rr) own.push(rr);
        }
      }
      // A host name that both a zone and instances give addresses to: one RRset per type (rrset.ts).
      for (const rr of fromZone > 0 && own.length > fromZone ? mergeRRsets(own) : own) additions.push({ rr, key });
    }
    // Group by owner and type so each RRset is contiguous (the encoder trims whole RRsets).
    additions.sort((a, b) => (a.rr.type - b.rr.type) || 0);
    const byKey = new Map<string, ResourceRecord[]>();
    for (const { rr, key } of additions) {
      const k = key + rr.type;
      const group = byKey.get(k);
      if (group === undefined) byKey.set(k, [rr]);
      else group.push(rr);
    }
    for (const group of byKey.values()) result.additional.push(...group);
  }
}

/** Compile-time exhaustiveness: a kind added to the union without a case here does not compile. */
function unreachable(kind: never): never {
  throw new Error(`unhandled query kind ${JSON.stringify(kind)}`);
}

/** The one place outcomes become rcodes and sections. */
function toAnswer(outcome: Outcome, soa: ResourceRecord | undefined, tags: readonly string[]): AuthorityAnswer {
  switch (outcome.kind) {
    case 'data': {
      const { answer, additional } = outcome;
      const first = answer[0];
      const single = first !== undefined && answer.every((r) => r.type === first.type && namesEqual(r.name, first.name));
      return {
        rcode: Rcode.NOERROR,
        aa: true,
        answer,
        authority: [],
        additional,
        rotation: single ? answer.length : 1,
        tags,
      };
    }
    case 'nodata':
    case 'nxdomain':
      return {
        rcode: outcome.kind === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR,
        aa: true,
        answer: [],
        authority: soa ? [negativeSoa(soa)] : [],
        additional: [],
        rotation: 1,
        tags,
      };
    case 'refused':
      return { rcode: Rcode.REFUSED, aa: false, answer: [], authority: [], additional: [], rotation: 1, tags };
  }
}

/** The SOA for a negative answer: TTL = min(SOA TTL, SOA minimum) (RFC 2308 §3). */
function negativeSoa(soa: ResourceRecord): ResourceRecord {
  const minimum = soa.data.kind === 'SOA' ? soa.data.minimum : soa.ttl;
  return { ...soa, ttl: Math.min(soa.ttl, minimum) };
}

/** Parse the DNS-SD domain option (`local`, `local.`, `example.com.`). */
export function parseDomain(domain: string): Name {
  return parseName(domain.endsWith('.') ? domain : domain + '.');
}
