/**
 * DNS UPDATE (RFC 2136) for the DNS-SD zone: zone checks, TSIG (RFC 8945), prerequisites (§2.4, §3.2), the
 * update prescan (§3.4.1), the mapping of the update to registry writes (README, "Registration through DNS
 * UPDATE") and update leases (RFC 9664). Updates are answered one at a time (a queue), so a prerequisite
 * checked holds until the writes it guards are acknowledged.
 */
import { BlockList, isIP } from 'node:net';
import { parseCidr } from './cidr.js';
import type { WritePort } from '../../control/ports.js';
import { type Logger, moduleLogger, silentLogger } from '../../log.js';
import { type Name, isSubdomain, nameKey, namesEqual, nameToPresentation, parseName } from '../name.js';
import type { Rdata, ResourceRecord } from '../records.js';
import { encodeRdata } from '../rr/index.js';
import type { RdataWriter } from '../rr/codec.js';
import { ADDR_LABEL, addressFromLabel } from '../hosts.js';
import { formatIPv6 } from '../ip.js';
import { validateInstance, type InstanceInput } from '../../registry/validate.js';
import type { DnsView } from '../view.js';
import { type DynamicRRset, type DynamicZone, ownerText, txtStrings } from '../dynamic-zone.js';
import { classifyQuery } from '../query-kind.js';
import {
  CLASS_ANY,
  CLASS_NONE,
  MalformedMessage,
  TYPE_ANY,
  TYPE_OPT,
  TYPE_TSIG,
  canonicalName,
  labelText,
  parseUpdate,
  readName,
  type UpdateMessage,
  type WireRecord,
} from './message.js';
import { TsigError, TsigKeyring, appendTsig, findTsig, type KeyScope, type TsigKey, type TsigRecord } from './tsig.js';

/** The rcodes UPDATE answers with (RFC 2136 §2.2). */
export const UpdateRcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 } as const;

const RCODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(UpdateRcode).map(([name, code]) => [code, name.toLowerCase()]));

/** The update lease option code (RFC 9664 §4). */
export const LEASE_OPTION = 2;
/**
 * The lease granted when a request carries none: two hours, the default lease RFC 9664 §4.1 suggests for
 * clients, long enough that an `nsupdate` user who never renews is not surprised, short enough that a
 * forgotten registration leaves.
 */
export const DEFAULT_LEASE_SECONDS = 7200;
/** The shortest lease granted (a request for less gets this). */
export const MIN_LEASE_SECONDS = 1;
/** The longest lease granted (RFC 9664 §4.1 lets the server shorten what was asked for). */
export const MAX_LEASE_SECONDS = 7 * 24 * 3600;

const TYPE_A = 1;
const TYPE_NS = 2;
const TYPE_CNAME = 5;
const TYPE_SOA = 6;
const TYPE_PTR = 12;
const TYPE_TXT = 16;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
const CLASS_IN = 1;

/** What the responder reads the current answers through (the handler's authority: static zones + DnsView). */
export interface UpdateLookup {
  /** Whether `name` exists, and its records of type `type` (owner exactly `name`). */
  lookup(name: Name, type: number): { readonly exists: boolean; readonly records: readonly ResourceRecord[] };
}

/** How to build the responder. */
export interface UpdateResponderOptions {
  /** The DNS-SD zone (the only zone UPDATE applies to). */
  readonly domain: Name;
  readonly writer: WritePort;
  readonly view: DnsView;
  readonly keys?: readonly TsigKey[];
  /** CIDRs (`10.0.0.0/8`, `::1/128`) whose unsigned updates are accepted; none by default. */
  readonly allowFrom?: readonly string[];
  /** Lease when the request has none, seconds (default DEFAULT_LEASE_SECONDS). */
  readonly defaultLeaseSeconds?: number;
  /**
   * Where records that describe no instance are kept (dynamic zone data, at host names): read from
   * `zoneData`, written with `zoneWriter`, which resolves once they are durable and applied. Without both such
   * records are REFUSED.
   */
  readonly zoneData?: DynamicZone;
  readonly zoneWriter?: (sets: readonly DynamicRRset[]) => Promise<void>;
  /**
   * Runs an update's reads and writes of zone data alone among the zone's other writers (daemon/zone-data.ts,
   * `exclusive`: the control API's deletions and restores); default: no other writer.
   */
  readonly zoneExclusive?: <T>(task: () => Promise<T>) => Promise<T>;
  /** How much zone data updates may store (default DEFAULT_ZONE_DATA_LIMITS); an update over it is REFUSED. */
  readonly zoneDataLimits?: ZoneDataLimits;
  /** Told the outcome of every update: `accepted`, or why it was refused (metrics). */
  readonly onOutcome?: (outcome: string) => void;
  /** Unix time in seconds (tests pass their own). */
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** Caps on the dynamic zone data updates may store, so an update key cannot grow the daemon's memory and store without bound. */
export interface ZoneDataLimits {
  /** RRsets held in all. */
  readonly maxRRsets: number;
  /** Records in one RRset. */
  readonly maxRecordsPerRRset: number;
}

/** The default caps: far above a site's host records, far below what would strain memory or an answer. */
export const DEFAULT_ZONE_DATA_LIMITS: ZoneDataLimits = { maxRRsets: 10_000, maxRecordsPerRRset: 100 };

/** A failure answered with an rcode; `outcome` names it in metrics when the rcode alone would not. */
class UpdateFailure extends Error {
  constructor(readonly rcode: number, message: string, readonly outcome?: string) {
    super(message);
  }
}

/** A registry write one update turns into. */
type Write = { readonly op: 'register'; readonly service: string; readonly input: InstanceInput } | { readonly op: 'deregister'; readonly service: string; readonly id: string };

/** Answers UPDATE messages; one at a time. */
export class UpdateResponder {
  private readonly domain: Name;
  private readonly writer: WritePort;
  private readonly view: DnsView;
  private readonly keyring: TsigKeyring;
  private readonly allow = new BlockList();
  private readonly anyAllowed: boolean;
  private readonly defaultLease: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly onOutcome: (outcome: string) => void;
  private readonly zone: { readonly data: DynamicZone; readonly write: (sets: readonly DynamicRRset[]) => Promise<void> } | undefined;
  private readonly zoneLimits: ZoneDataLimits;
  private readonly zoneExclusive: <T>(task: () => Promise<T>) => Promise<T>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly lookup: UpdateLookup, options: UpdateResponderOptions) {
    this.domain = options.domain;
    this.writer = options.writer;
    this.view = options.view;
    this.keyring = new TsigKeyring(options.keys ?? []);
    for (const cidr of options.allowFrom ?? []) {
      const parsed = parseCidr(cidr);
      if (!parsed) throw new Error(`not a CIDR: ${cidr}`);
      this.allow.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    this.anyAllowed = (options.allowFrom ?? []).length > 0;
    this.defaultLease = options.defaultLeaseSeconds ?? DEFAULT_LEASE_SECONDS;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.log = moduleLogger(options.logger ?? silentLogger, 'dns-update');
    this.onOutcome = options.onOutcome ?? (() => undefined);
    this.zone = options.zoneData && options.zoneWriter ? { data: options.zoneData, write: options.zoneWriter } : undefined;
    this.zoneLimits = options.zoneDataLimits ?? DEFAULT_ZONE_DATA_LIMITS;
    this.zoneExclusive = options.zoneExclusive ?? ((task) => task());
  }

  /** Answer one UPDATE from `remote` (an IP literal): the reply bytes, or undefined to send nothing. Never rejects. */
  respond(msg: Buffer, remote: string): Promise<Buffer | undefined> {
    const run = this.queue.then(() => this.process(msg, remote));
    this.queue = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      this.log.error({ err }, 'update failed; answering SERVFAIL');
      this.onOutcome('servfail');
      return msg.length >= 12 ? header(msg.readUInt16BE(0), UpdateRcode.SERVFAIL) : undefined;
    });
  }

  private async process(msg: Buffer, remote: string): Promise<Buffer | undefined> {
    if (msg.length < 12) return undefined;
    let update: UpdateMessage;
    let tsig: TsigRecord | undefined;
    try {
      update = parseUpdate(msg);
      tsig = findTsig(msg, update);
    } catch (err) {
      if (!(err instanceof MalformedMessage)) throw err;
      this.log.info({ remote, reason: err.message }, 'update refused: FORMERR');
      this.onOutcome('formerr');
      return header(msg.readUInt16BE(0), UpdateRcode.FORMERR);
    }
    const now = this.now();
    let key: TsigKey | undefined;
    if (tsig) {
      const check = this.keyring.verify(msg, tsig, now);
      if (!check.ok) {
        this.log.info({ remote, tsigError: check.error }, 'update refused: TSIG');
        this.onOutcome(check.error === TsigError.BADKEY ? 'badkey' : check.error === TsigError.BADSIG ? 'badsig' : 'badtime');
        // RFC 8945 §5.3.2: BADKEY and BADSIG unsigned, BADTIME signed; rcode NOTAUTH with the TSIG error.
        const signer = check.error === TsigError.BADTIME ? check.key : undefined;
        return appendTsig(this.reply(update, UpdateRcode.NOTAUTH, undefined), tsig, signer, check.error, now);
      }
      key = check.key;
    } else if (!this.anyAllowed || !this.allowed(remote)) {
      this.log.info({ remote }, 'update refused: unsigned');
      this.onOutcome('unsigned');
      return this.reply(update, UpdateRcode.REFUSED, undefined);
    }
    const lease = this.lease(update);
    let rcode: number = UpdateRcode.NOERROR;
    try {
      this.checkZone(update);
      // Prerequisites and the plan read the zone data: no other writer may change it until this one wrote.
      const { writes, zoneSets } = await this.zoneExclusive(async () => {
        this.checkPrerequisites(update);
        if (key?.scope) this.checkScope(update, key.scope);
        const planned = this.plan(update, lease.granted);
        await this.apply(planned.writes, planned.zoneSets);
        return planned;
      });
      this.log.info({ remote, writes: writes.length, zoneRRsets: zoneSets.length, key: key ? nameToPresentation(key.name) : undefined }, 'update applied');
      this.onOutcome('accepted');
    } catch (err) {
      // A name inside RDATA that cannot be read is a malformed message (RFC 2136 §3.4.1.3: FORMERR).
      const failure = err instanceof MalformedMessage ? new UpdateFailure(UpdateRcode.FORMERR, err.message) : err;
      if (!(failure instanceof UpdateFailure)) throw err;
      rcode = failure.rcode;
      this.log.info({ remote, rcode, reason: failure.message }, 'update refused');
      this.onOutcome(failure.outcome ?? RCODE_NAMES[rcode] ?? String(rcode));
    }
    const reply = this.reply(update, rcode, rcode === UpdateRcode.NOERROR ? lease.echo : undefined);
    return tsig ? appendTsig(reply, tsig, key, TsigError.NOERROR, now) : reply;
  }

  private allowed(remote: string): boolean {
    const v = isIP(remote);
    if (v === 0) return false;
    // IPv4-mapped IPv6 sources (dual-stack sockets) are checked as IPv4.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
    if (mapped?.[1]) return this.allow.check(mapped[1], 'ipv4');
    return this.allow.check(remote, v === 4 ? 'ipv4' : 'ipv6');
  }

  /** The lease asked for (RFC 9664 §4: EDNS option 2, 4 or 8 octets) and what is granted. */
  private lease(update: UpdateMessage): { granted: number; echo: Buffer | undefined } {
    const opt = update.additional.find((r) => r.type === TYPE_OPT);
    let o = 0;
    const data = opt?.rdata ?? Buffer.alloc(0);
    while (o + 4 <= data.length) {
      const code = data.readUInt16BE(o);
      const length = data.readUInt16BE(o + 2);
      const value = data.subarray(o + 4, o + 4 + length);
      if (code === LEASE_OPTION && (length === 4 || length === 8)) {
        const granted = Math.min(Math.max(value.readUInt32BE(0), MIN_LEASE_SECONDS), MAX_LEASE_SECONDS);
        const echo = Buffer.from(value);
        echo.writeUInt32BE(granted, 0);
        return { granted, echo };
      }
      o += 4 + length;
    }
    return { granted: this.defaultLease, echo: undefined };
  }

  /** RFC 2136 §3.1: one zone record, type SOA, our zone in class IN. */
  private checkZone(update: UpdateMessage): void {
    if (update.zone.type !== TYPE_SOA) throw new UpdateFailure(UpdateRcode.FORMERR, 'zone type is not SOA');
    if (update.zone.klass !== CLASS_IN || !namesEqual(update.zone.name, this.domain)) {
      throw new UpdateFailure(UpdateRcode.NOTAUTH, `not authoritative for ${nameToPresentation(update.zone.name)}`);
    }
  }

  /** RFC 2136 §3.2: the prerequisite table, checked in order against the current answers. */
  private checkPrerequisites(update: UpdateMessage): void {
    const valueSets = new Map<string, { name: Name; type: number; rdata: Set<string> }>();
    for (const rr of update.prerequisites) {
      if (rr.ttl !== 0) throw new UpdateFailure(UpdateRcode.FORMERR, 'prerequisite TTL is not 0');
      if (!isSubdomain(rr.name, this.domain)) throw new UpdateFailure(UpdateRcode.NOTZONE, 'prerequisite outside the zone');
      if (rr.klass === CLASS_ANY || rr.klass === CLASS_NONE) {
        if (rr.rdata.length !== 0) throw new UpdateFailure(UpdateRcode.FORMERR, 'prerequisite with class ANY/NONE has RDATA');
        const exists = rr.type === TYPE_ANY ? this.lookup.lookup(rr.name, TYPE_ANY).exists : this.lookup.lookup(rr.name, rr.type).records.length > 0;
        if (rr.klass === CLASS_ANY && !exists) throw new UpdateFailure(rr.type === TYPE_ANY ? UpdateRcode.NXDOMAIN : UpdateRcode.NXRRSET, 'prerequisite failed');
        if (rr.klass === CLASS_NONE && exists) throw new UpdateFailure(rr.type === TYPE_ANY ? UpdateRcode.YXDOMAIN : UpdateRcode.YXRRSET, 'prerequisite failed');
      } else if (rr.klass === CLASS_IN) {
        if (rr.type === TYPE_ANY) throw new UpdateFailure(UpdateRcode.FORMERR, 'value-dependent prerequisite of type ANY');
        const key = nameKey(rr.name) + '/' + rr.type;
        let set = valueSets.get(key);
        if (!set) valueSets.set(key, (set = { name: rr.name, type: rr.type, rdata: new Set() }));
        set.rdata.add(canonicalWireRdata(rr, update.message));
      } else {
        throw new UpdateFailure(UpdateRcode.FORMERR, 'prerequisite class');
      }
    }
    // §3.2.3: each value-dependent RRset must match exactly (same set of RDATA; TTLs are not compared).
    for (const set of valueSets.values()) {
      const current = new Set(this.lookup.lookup(set.name, set.type).records.map((r) => canonicalRdata(r.data)));
      if (current.size !== set.rdata.size || [...set.rdata].some((r) => !current.has(r))) throw new UpdateFailure(UpdateRcode.NXRRSET, 'RRset differs');
    }
  }

  /**
   * RFC 2136 §3.3: a key limited to services may only touch names at or under `_S._P.D` of those services;
   * one record outside them refuses the whole update, before anything is planned.
   */
  private checkScope(update: UpdateMessage, scope: readonly KeyScope[]): void {
    for (const rr of update.updates) {
      const under = rr.name.length >= this.domain.length + 2 ? this.serviceName(rr.name.slice(rr.name.length - this.domain.length - 2)) : undefined;
      const allowed = under !== undefined && scope.some((s) => s.service === under.service && (s.protocol === undefined || s.protocol === under.protocol));
      if (!allowed) throw new UpdateFailure(UpdateRcode.REFUSED, `${nameToPresentation(rr.name)} is outside the services the key may update`, 'outofscope');
    }
  }

  /**
   * RFC 2136 §3.4.1 prescan, then the mapping to registry writes (README, "Registration through DNS UPDATE").
   * Everything is checked before anything is written (§3.4: all or nothing).
   */
  private plan(update: UpdateMessage, leaseSeconds: number): { writes: Write[]; zoneSets: DynamicRRset[] } {
    interface Pending { service: string; protocol: 'tcp' | 'udp'; id: string; srv?: { priority: number; weight: number; port: number; target: Name }; txt?: Record<string, string>; deleted: boolean; touched: boolean }
    const instances = new Map<string, Pending>();
    const addresses = new Map<string, string>();
    /** Records for dynamic zone data, in order; an A/AAAA add also offered as an SRV target's address. */
    const zoneRecords: { rr: WireRecord; address?: string }[] = [];
    const pendingFor = (parts: InstanceName): Pending => {
      const key = parts.service + '/' + parts.protocol + '/' + parts.id.toLowerCase();
      let p = instances.get(key);
      if (!p) instances.set(key, (p = { service: parts.service, protocol: parts.protocol, id: parts.id, deleted: false, touched: false }));
      return p;
    };
    const deleteInstance = (p: Pending): void => {
      p.srv = undefined;
      p.txt = undefined;
      p.deleted = true;
      p.touched = true;
    };
    for (const rr of update.updates) {
      this.prescan(rr);
      const msg = update.message;
      const instance = this.instanceName(rr.name);
      const service = this.serviceName(rr.name);
      const add = rr.klass === CLASS_IN;
      if (instance) {
        const p = pendingFor(instance);
        if (add && rr.type === TYPE_SRV) {
          p.srv = decodeSrv(rr, msg);
          p.deleted = false;
          p.touched = true;
        } else if (add && rr.type === TYPE_TXT) {
          p.txt = decodeTxtMetadata(rr.rdata);
          p.touched = true;
        } else if (!add && (rr.type === TYPE_SRV || rr.type === TYPE_ANY)) {
          deleteInstance(p);
        } else if (!add && rr.type === TYPE_TXT) {
          p.txt = {};
          p.touched = true;
        } else {
          throw new UpdateFailure(UpdateRcode.REFUSED, 'record type not kept at an instance name');
        }
      } else if (service && rr.type === TYPE_PTR) {
        if (rr.klass === CLASS_ANY) {
          // Deleting the service's PTR RRset: every instance of it leaves.
          for (const i of this.view.eligible(service.service, service.protocol)) deleteInstance(pendingFor({ ...service, id: i.id }));
          continue;
        }
        const ptr = readName(msg, rr.rdataOffset);
        if (ptr.end !== rr.rdataOffset + rr.rdata.length) throw new UpdateFailure(UpdateRcode.FORMERR, 'PTR RDATA length mismatch');
        const target = this.instanceName(ptr.name);
        if (!target || target.service !== service.service || target.protocol !== service.protocol) {
          throw new UpdateFailure(UpdateRcode.REFUSED, 'PTR does not point at an instance of its service');
        }
        const p = pendingFor(target);
        if (rr.klass === CLASS_NONE) deleteInstance(p);
        else p.touched = true;
      } else if (rr.klass === CLASS_IN && (rr.type === TYPE_A || rr.type === TYPE_AAAA)) {
        if (rr.rdata.length !== (rr.type === TYPE_A ? 4 : 16)) throw new UpdateFailure(UpdateRcode.FORMERR, 'address RDATA of the wrong length');
        const address = rr.type === TYPE_A ? [...rr.rdata].join('.') : formatIPv6(Buffer.from(rr.rdata));
        addresses.set(nameKey(rr.name), address);
        // Kept as zone data unless an SRV of this update takes it as its target's address (decided below).
        if (this.zone && this.zoneDataName(rr.name)) zoneRecords.push({ rr, address });
      } else if (this.zone && !instance && !service && this.zoneDataName(rr.name)) {
        this.checkZoneDataType(rr.type);
        zoneRecords.push({ rr });
      } else {
        throw new UpdateFailure(UpdateRcode.REFUSED, 'record does not map to a service instance');
      }
    }
    const writes: Write[] = [];
    const usedAddresses = new Set<string>();
    for (const p of instances.values()) {
      if (!p.touched) continue;
      if (p.srv) {
        const target = p.srv.target;
        const targetKey = nameKey(target);
        const derived = this.addressOf(target);
        const given = addresses.get(targetKey);
        if (given !== undefined) usedAddresses.add(targetKey);
        const targetText = nameToPresentation(target).replace(/\.$/, '');
        const input: InstanceInput = {
          id: p.id,
          address: given ?? derived ?? targetText,
          port: p.srv.port,
          protocol: p.protocol,
          priority: p.srv.priority,
          weight: p.srv.weight,
          metadata: p.txt ?? {},
          ttlMs: leaseSeconds * 1000,
          ...(derived === undefined ? { host: targetText } : {}),
        };
        try {
          validateInstance(input);
        } catch (err) {
          throw new UpdateFailure(UpdateRcode.REFUSED, err instanceof Error ? err.message : 'invalid instance');
        }
        writes.push({ op: 'register', service: p.service, input });
      } else if (p.deleted) {
        if (this.view.hasInstance(p.service, p.protocol, p.id)) writes.push({ op: 'deregister', service: p.service, id: p.id });
      } else {
        // TXT or PTR without the SRV: nothing to register yet.
        throw new UpdateFailure(UpdateRcode.REFUSED, 'an instance needs its SRV record in the same update');
      }
    }
    const keptAsZoneData = new Set(zoneRecords.filter((z) => z.address !== undefined).map((z) => nameKey(z.rr.name)));
    for (const key of addresses.keys()) {
      if (!usedAddresses.has(key) && !keptAsZoneData.has(key)) throw new UpdateFailure(UpdateRcode.REFUSED, 'address record is neither the target of an SRV in this update nor at a host name');
    }
    const kept = zoneRecords.filter(({ rr, address }) => address === undefined || !usedAddresses.has(nameKey(rr.name)));
    const zoneSets = kept.length > 0 ? this.planZoneData(kept.map((k) => k.rr), update.message) : [];
    this.checkZoneDataLimits(zoneSets);
    return { writes, zoneSets };
  }

  /** Whether dynamic zone data may live at `name`: a host name (query-kind.ts), not a DNS-SD or apex name. */
  private zoneDataName(name: Name): boolean {
    return classifyQuery(name, this.domain, this.domain).kind === 'host';
  }

  /** Types not kept as zone data: obsolete types with compressible names (RFC 3597 §4) and DNSSEC (the zone is unsigned). */
  private checkZoneDataType(type: number): void {
    if (ZONE_DATA_REFUSED_TYPES.has(type)) throw new UpdateFailure(UpdateRcode.REFUSED, `type ${type} is not kept as zone data`);
  }

  /**
   * RFC 2136 §3.4.2 over the dynamic RRsets: adds join their RRset (a record already there only updates the
   * TTL), RRset and name deletes empty them, single deletes remove the matching record (names compared
   * canonically). Returns the RRsets that end up different, in their new stored form.
   */
  private planZoneData(records: readonly WireRecord[], msg: Buffer): DynamicRRset[] {
    const zone = this.zone!;
    interface Draft { owner: string; type: number; ttl: number; rdata: Buffer[]; before: string }
    const drafts = new Map<string, Draft>();
    const draft = (name: Name, type: number): Draft => {
      const owner = ownerText(name);
      const key = owner + '\u0000' + type;
      let d = drafts.get(key);
      if (!d) {
        const current = zone.data.rrset(name, type);
        const rdata = (current?.rdata ?? []).map((r) => Buffer.from(r, 'base64'));
        d = { owner, type, ttl: current?.ttl ?? 0, rdata, before: JSON.stringify([current?.ttl ?? 0, current?.rdata ?? []]) };
        drafts.set(key, d);
      }
      return d;
    };
    for (const rr of records) {
      if (rr.klass === CLASS_IN) {
        const d = draft(rr.name, rr.type);
        const data = storedRdata(rr, msg);
        const key = comparableRdata(rr.type, data);
        if (!d.rdata.some((r) => comparableRdata(rr.type, r) === key)) d.rdata.push(data);
        d.ttl = rr.ttl;
      } else if (rr.klass === CLASS_ANY) {
        const types = rr.type === TYPE_ANY ? [...new Set([...zone.data.types(rr.name), ...[...drafts.values()].filter((d) => d.owner === ownerText(rr.name)).map((d) => d.type)])] : [rr.type];
        for (const type of types) draft(rr.name, type).rdata = [];
      } else {
        const d = draft(rr.name, rr.type);
        const key = comparableRdata(rr.type, storedRdata(rr, msg));
        d.rdata = d.rdata.filter((r) => comparableRdata(rr.type, r) !== key);
      }
    }
    const sets: DynamicRRset[] = [];
    for (const d of drafts.values()) {
      const rdata = d.rdata.map((r) => r.toString('base64'));
      const ttl = rdata.length === 0 ? 0 : d.ttl;
      if (JSON.stringify([ttl, rdata]) !== d.before) sets.push({ owner: d.owner, type: d.type, ttl, rdata });
    }
    return sets;
  }

  /**
   * REFUSED (RFC 2136 §3.4.2.2 leaves limits to the server) when the planned RRsets would take the zone data
   * over its caps. Only growth is refused: an update that shrinks what is already over a lowered cap passes.
   */
  private checkZoneDataLimits(sets: readonly DynamicRRset[]): void {
    const zone = this.zone;
    if (!zone || sets.length === 0) return;
    const { maxRRsets, maxRecordsPerRRset } = this.zoneLimits;
    let delta = 0;
    for (const set of sets) {
      const current = zone.data.rrset(parseName(set.owner), set.type);
      const before = current?.rdata.length ?? 0;
      if (set.rdata.length > maxRecordsPerRRset && set.rdata.length > before) {
        throw new UpdateFailure(UpdateRcode.REFUSED, `${set.owner} type ${set.type} would hold ${set.rdata.length} records; at most ${maxRecordsPerRRset} per RRset`, 'zonelimit');
      }
      delta += (set.rdata.length > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
    }
    const after = zone.data.size + delta;
    if (delta > 0 && after > maxRRsets) throw new UpdateFailure(UpdateRcode.REFUSED, `zone data would hold ${after} RRsets; at most ${maxRRsets}`, 'zonelimit');
  }

  /** RFC 2136 §3.4.1.3: the update section prescan. */
  private prescan(rr: WireRecord): void {
    if (!isSubdomain(rr.name, this.domain)) throw new UpdateFailure(UpdateRcode.NOTZONE, 'update outside the zone');
    const meta = rr.type === TYPE_ANY || rr.type === TYPE_TSIG || rr.type === TYPE_OPT || (rr.type >= 128 && rr.type <= 255);
    if (rr.klass === CLASS_IN) {
      if (meta) throw new UpdateFailure(UpdateRcode.FORMERR, 'meta type in an add');
    } else if (rr.klass === CLASS_ANY) {
      if (rr.ttl !== 0 || rr.rdata.length !== 0 || (meta && rr.type !== TYPE_ANY)) throw new UpdateFailure(UpdateRcode.FORMERR, 'malformed RRset delete');
    } else if (rr.klass === CLASS_NONE) {
      if (rr.ttl !== 0 || meta) throw new UpdateFailure(UpdateRcode.FORMERR, 'malformed RR delete');
    } else {
      throw new UpdateFailure(UpdateRcode.FORMERR, 'update class');
    }
    if (rr.type === TYPE_SOA || rr.type === TYPE_NS || rr.type === TYPE_CNAME) throw new UpdateFailure(UpdateRcode.REFUSED, 'zone apex and alias records are not updatable');
  }

  /** `I._S._P.D` -> its parts, when the name has that shape. */
  private instanceName(name: Name): InstanceName | undefined {
    if (name.length !== this.domain.length + 3 || !isSubdomain(name, this.domain)) return undefined;
    const service = this.serviceName(name.slice(1));
    const id = name[0];
    return service && id ? { ...service, id: labelText(id) } : undefined;
  }

  /** `_S._P.D` -> service and protocol. */
  private serviceName(name: Name): { service: string; protocol: 'tcp' | 'udp' } | undefined {
    if (name.length !== this.domain.length + 2 || !isSubdomain(name, this.domain)) return undefined;
    const s = labelText(name[0] ?? Buffer.alloc(0)).toLowerCase();
    const p = labelText(name[1] ?? Buffer.alloc(0)).toLowerCase();
    if (!s.startsWith('_') || s.length < 2 || (p !== '_tcp' && p !== '_udp')) return undefined;
    return { service: s.slice(1), protocol: p === '_tcp' ? 'tcp' : 'udp' };
  }

  /** The address an address-derived target (`10-0-0-1.addr.D`) stands for. */
  private addressOf(target: Name): string | undefined {
    if (target.length !== this.domain.length + 2 || !isSubdomain(target, this.domain)) return undefined;
    if (labelText(target[1] ?? Buffer.alloc(0)).toLowerCase() !== ADDR_LABEL) return undefined;
    return addressFromLabel(labelText(target[0] ?? Buffer.alloc(0)).toLowerCase());
  }

  private async apply(writes: readonly Write[], zoneSets: readonly DynamicRRset[]): Promise<void> {
    // Zone data first: one store write for all of it, so a failure there leaves everything unchanged.
    if (zoneSets.length > 0) {
      try {
        await this.zone!.write(zoneSets);
      } catch (err) {
        this.log.warn({ err }, 'zone data write failed');
        throw new UpdateFailure(UpdateRcode.SERVFAIL, 'zone data write failed');
      }
    }
    for (const w of writes) {
      try {
        if (w.op === 'register') await this.writer.register(w.service, w.input);
        else await this.writer.deregister(w.service, w.id);
      } catch (err) {
        this.log.warn({ err, op: w.op, service: w.service }, 'registry write failed');
        throw new UpdateFailure(UpdateRcode.SERVFAIL, 'registry write failed');
      }
    }
  }

  /** The reply: header, the zone section echoed, an OPT with the granted lease when one was asked for. */
  private reply(update: UpdateMessage, rcode: number, lease: Buffer | undefined): Buffer {
    const head = header(update.id, rcode, update.flags);
    head.writeUInt16BE(1, 4);
    const parts = [head, update.zoneWire];
    if (lease) {
      head.writeUInt16BE(1, 10);
      const opt = Buffer.alloc(11 + 4);
      opt.writeUInt8(0, 0); // root owner
      opt.writeUInt16BE(TYPE_OPT, 1);
      opt.writeUInt16BE(1232, 3);
      opt.writeUInt32BE(0, 5);
      opt.writeUInt16BE(4 + lease.length, 9);
      opt.writeUInt16BE(LEASE_OPTION, 11);
      opt.writeUInt16BE(lease.length, 13);
      parts.push(opt, lease);
    }
    return Buffer.concat(parts);
  }
}

interface InstanceName {
  readonly service: string;
  readonly protocol: 'tcp' | 'udp';
  readonly id: string;
}

/** Types never kept as dynamic zone data: MB, MG, MR, MINFO (compressible names, obsolete); DS, RRSIG, NSEC, DNSKEY, NSEC3, NSEC3PARAM. */
const ZONE_DATA_REFUSED_TYPES = new Set([7, 8, 9, 14, 43, 46, 47, 48, 50, 51]);
const TYPE_MX = 15;

/**
 * A request record's RDATA as stored: names in PTR, MX and SRV decompressed (the message's pointers mean
 * nothing outside it; RFC 3597 §4 lets only RFC 1035 types compress), A/AAAA and TXT checked for shape.
 */
function storedRdata(rr: WireRecord, msg: Buffer): Buffer {
  const nameFrom = (fixed: number): Buffer => {
    if (rr.rdata.length < fixed + 1) throw new UpdateFailure(UpdateRcode.FORMERR, 'RDATA too short');
    const read = readName(msg, rr.rdataOffset + fixed);
    if (read.end !== rr.rdataOffset + rr.rdata.length) throw new UpdateFailure(UpdateRcode.FORMERR, 'RDATA length mismatch');
    return Buffer.concat([rr.rdata.subarray(0, fixed), ...read.name.map((l) => Buffer.concat([Buffer.from([l.length]), l])), Buffer.from([0])]);
  };
  switch (rr.type) {
    case TYPE_PTR:
      return nameFrom(0);
    case TYPE_MX:
      return nameFrom(2);
    case TYPE_SRV:
      return nameFrom(6);
    case TYPE_A:
    case TYPE_AAAA:
      if (rr.rdata.length !== (rr.type === TYPE_A ? 4 : 16)) throw new UpdateFailure(UpdateRcode.FORMERR, 'address RDATA of the wrong length');
      return Buffer.from(rr.rdata);
    case TYPE_TXT:
      try {
        txtStrings(rr.rdata);
      } catch {
        throw new UpdateFailure(UpdateRcode.FORMERR, 'TXT string runs past its RDATA');
      }
      if (rr.rdata.length === 0 && rr.klass === CLASS_IN) throw new UpdateFailure(UpdateRcode.FORMERR, 'TXT without a string');
      return Buffer.from(rr.rdata);
    default:
      return Buffer.from(rr.rdata);
  }
}

/** Stored RDATA as compared (RFC 2136 §1.1.1: names case-insensitively): names folded, the rest as is. */
function comparableRdata(type: number, data: Buffer): string {
  const fixed = type === TYPE_PTR ? 0 : type === TYPE_MX ? 2 : type === TYPE_SRV ? 6 : -1;
  if (fixed < 0) return data.toString('latin1');
  try {
    return Buffer.concat([data.subarray(0, fixed), canonicalName(readName(data, fixed).name)]).toString('latin1');
  } catch {
    return data.toString('latin1');
  }
}

/** A bare header: QR, opcode UPDATE, the rcode, no records. */
function header(id: number, rcode: number, requestFlags = 5 << 11): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(0x8000 | (requestFlags & 0x7800) | (rcode & 0xf), 2);
  return out;
}

function decodeSrv(rr: WireRecord, msg: Buffer): { priority: number; weight: number; port: number; target: Name } {
  if (rr.rdata.length < 7) throw new UpdateFailure(UpdateRcode.FORMERR, 'SRV RDATA too short');
  const target = readName(msg, rr.rdataOffset + 6);
  if (target.end !== rr.rdataOffset + rr.rdata.length) throw new UpdateFailure(UpdateRcode.FORMERR, 'SRV RDATA length mismatch');
  return { priority: rr.rdata.readUInt16BE(0), weight: rr.rdata.readUInt16BE(2), port: rr.rdata.readUInt16BE(4), target: target.name };
}

/** TXT strings as DNS-SD `key=value` pairs (RFC 6763 §6.3-6.4: a key alone is an empty value; first key wins). */
function decodeTxtMetadata(rdata: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let o = 0;
  while (o < rdata.length) {
    const len = rdata[o] ?? 0;
    if (o + 1 + len > rdata.length) throw new UpdateFailure(UpdateRcode.FORMERR, 'TXT string runs past its RDATA');
    const text = rdata.toString('utf8', o + 1, o + 1 + len);
    o += 1 + len;
    if (text.length === 0) continue;
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    if (key.length > 0 && !(key in out)) out[key] = eq < 0 ? '' : text.slice(eq + 1);
  }
  return out;
}

/** A writer producing canonical RDATA (names uncompressed, lower case: RFC 4034 §6.2). */
class CanonicalWriter implements RdataWriter {
  readonly parts: Buffer[] = [];
  u8(v: number): void {
    this.parts.push(Buffer.from([v]));
  }
  u16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v, 0);
    this.parts.push(b);
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v, 0);
    this.parts.push(b);
  }
  bytes(bytes: Uint8Array): void {
    this.parts.push(Buffer.from(bytes));
  }
  name(name: Name): void {
    this.parts.push(canonicalName(name));
  }
}

/** Our record's RDATA in canonical form, as a comparable string. */
function canonicalRdata(data: Rdata): string {
  const w = new CanonicalWriter();
  encodeRdata(data, w);
  return Buffer.concat(w.parts).toString('latin1');
}

/** A request record's RDATA in canonical form: names in the RFC 1035 types and SRV decompressed and folded. */
function canonicalWireRdata(rr: WireRecord, msg: Buffer): string {
  const nameAt = (offset: number): Buffer => canonicalName(readName(msg, offset).name);
  try {
    switch (rr.type) {
      case TYPE_PTR:
      case TYPE_NS:
      case TYPE_CNAME:
        return nameAt(rr.rdataOffset).toString('latin1');
      case TYPE_SRV:
        return Buffer.concat([rr.rdata.subarray(0, 6), nameAt(rr.rdataOffset + 6)]).toString('latin1');
      case TYPE_MX:
        return Buffer.concat([rr.rdata.subarray(0, 2), nameAt(rr.rdataOffset + 2)]).toString('latin1');
      default:
        return rr.rdata.toString('latin1');
    }
  } catch (err) {
    if (err instanceof MalformedMessage) throw new UpdateFailure(UpdateRcode.FORMERR, err.message);
    throw err;
  }
}
