/**
 * The multicast DNS policy core (RFC 6762) for the registry's eligible instances: it probes and announces
 * what the DnsView says is eligible, answers queries, defends and renames on conflict, and says goodbye the
 * moment an instance leaves. It owns no socket: messages come and go through an MdnsTransport (dns-packet
 * shapes), so tests drive it with a fake transport and fake timers.
 *
 * Units: each eligible instance (its SRV and TXT are unique records, its PTRs shared) and each host name
 * Beacon publishes A/AAAA for is one unit, probed and renamed on its own (RFC 6762 §8, §9).
 */
import type { Answer, Packet, Question, RecordType } from 'dns-packet';
import { foldAscii } from '../ascii.js';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import type { DnsInstance, DnsView } from '../dns/view.js';
import {
  MDNS_DOMAIN,
  hostLabel,
  hostRecords,
  instanceLabel,
  instanceRecords,
  publishableLabel,
  serviceTypeName,
  targetOf,
  type TargetRef,
} from './records.js';
import {
  MDNS_PORT,
  isQuestionIn,
  isQuestionQu,
  isUnder,
  nameKey,
  recordKey,
  rdataBytes,
  rrsetKey,
  tiebreak,
  type OwnedRecord,
} from './wire.js';

/** Where a message came from or goes to. */
export interface MdnsPeer {
  readonly address: string;
  readonly port: number;
}

/** A message as dns-packet decodes it (it also fills in the opcode and rcode names). */
export type MdnsPacket = Packet & { readonly opcode?: string; readonly rcode?: string };

/** Sends and receives mDNS messages; `send` without a peer multicasts on every interface in use. */
export interface MdnsTransport {
  /** Send a message to the group (no `to`) or to one peer (unicast replies). */
  send(packet: Packet, to?: MdnsPeer): void;
  /** Receive decoded messages; returns the unsubscribe function. */
  onMessage(listener: (packet: MdnsPacket, from: MdnsPeer) => void): () => void;
  /** Close the socket(s). */
  close(): Promise<void>;
}

/** A name the responder gave up because another host on the link holds it (RFC 6762 §9). */
export interface MdnsRename {
  readonly kind: 'instance' | 'host';
  readonly from: string;
  readonly to: string;
}

/** Counters and current state, for `stats()` and logs. */
export interface MdnsStats {
  /** Instances announced and answered for. */
  readonly announced: number;
  /** Instances and host names still probing. */
  readonly probing: number;
  /** Host names announced. */
  readonly hosts: number;
  readonly queriesAnswered: number;
  readonly legacyQueriesAnswered: number;
  readonly knownAnswersSuppressed: number;
  readonly conflicts: number;
  readonly renames: readonly MdnsRename[];
  readonly goodbyes: number;
}

/** Options of the policy core. */
export interface MdnsResponderOptions {
  readonly view: DnsView;
  readonly transport: MdnsTransport;
  readonly logger?: Logger;
  /** Time for rate limits (default: the system clock, which fake timers control). */
  readonly clock?: Clock;
  /** Random source in [0, 1) for the probe and response delays (RFC 6762 §6, §8.1). */
  readonly random?: () => number;
}

/** RFC 6762 §8.1: three probes... */
export const PROBE_COUNT = 3;
/** ...250 ms apart, the first after a random 0-250 ms delay. */
export const PROBE_INTERVAL_MS = 250;
/** RFC 6762 §8.2.1: the loser of a simultaneous probe waits one second and probes again. */
export const PROBE_DEFER_MS = 1000;
/** RFC 6762 §8.1: after 15 conflicts in ten seconds, probe no more than once every five seconds. */
const CONFLICT_BURST = 15;
const CONFLICT_WINDOW_MS = 10_000;
const CONFLICT_BACKOFF_MS = 5000;
/** RFC 6762 §8.3: the second announcement one second after the first. */
export const ANNOUNCE_INTERVAL_MS = 1000;
/** RFC 6762 §6: a record is multicast at most once per second (250 ms when defending a probe). */
export const MULTICAST_MIN_INTERVAL_MS = 1000;
const PROBE_DEFENSE_INTERVAL_MS = 250;
/** RFC 6762 §6: shared-record answers wait 20-120 ms so that answers from several responders aggregate. */
const RESPONSE_DELAY_MIN_MS = 20;
const RESPONSE_DELAY_SPREAD_MS = 100;
/** RFC 6762 §6.7: TTL cap of answers to legacy unicast queries. */
export const LEGACY_TTL_CAP = 10;
/** Payload budget per packet (RFC 6762 §17: stay within the link MTU, 1500 - IP - UDP headers). */
const MAX_PACKET_OCTETS = 1440;
const AUTHORITATIVE_ANSWER = 1 << 10;

type Timer = ReturnType<typeof setTimeout>;
/** QTYPE ANY (255), which dns-packet encodes by name though its types leave it out. */
const ANY = 'ANY' as RecordType;

interface Unit {
  readonly key: string;
  readonly kind: 'instance' | 'host';
  /** The first label as the registry gave it. */
  readonly base: string;
  /** The rest of the name (`_web._tcp.local`, `addr.local`). */
  readonly parent: string;
  /** 1 = the registry's own name; n = the n-th name tried after conflicts. */
  attempt: number;
  state: 'probing' | 'announced';
  probesSent: number;
  timer: Timer | undefined;
  /** What the link was last told (answers come from here; goodbyes withdraw it). */
  published: readonly OwnedRecord[];
  conflictTimes: number[];
  /** An instance unit's instance, and its service (the instance object does not name it). */
  instance?: DnsInstance;
  service?: string;
  target?: TargetRef | undefined;
  addresses?: Set<string>;
}

/** The responder's policy core; `start()` begins publishing, `close()` says goodbye. */
export class MdnsResponder {
  private readonly view: DnsView;
  private readonly transport: MdnsTransport;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly units = new Map<string, Unit>();
  private readonly lastMulticast = new Map<string, number>();
  private readonly pending = new Map<string, OwnedRecord>();
  private pendingTimer: Timer | undefined;
  private index: Map<string, OwnedRecord[]> | undefined;
  private readonly renameListeners = new Set<(rename: MdnsRename) => void>();
  private readonly skipped = new Set<string>();
  private unsubscribeView: (() => void) | undefined;
  private unsubscribeTransport: (() => void) | undefined;
  private closed = false;
  /** Goodbyes collected while one view change is applied; undefined outside `sync`. */
  private farewells: OwnedRecord[] | undefined;
  private counters = { queriesAnswered: 0, legacyQueriesAnswered: 0, knownAnswersSuppressed: 0, conflicts: 0, goodbyes: 0 };
  private readonly renames: MdnsRename[] = [];

  constructor(options: MdnsResponderOptions) {
    this.view = options.view;
    this.transport = options.transport;
    this.log = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** Subscribe to the view and the transport, and start probing every eligible instance. */
  start(): void {
    this.unsubscribeTransport = this.transport.onMessage((packet, from) => this.receive(packet, from));
    this.unsubscribeView = this.view.onChange((change) => this.sync(change.services));
    this.sync(this.view.services().map((s) => s.service));
  }

  /** Say goodbye for everything announced (RFC 6762 §10.1), stop timers and unsubscribe. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeView?.();
    this.unsubscribeTransport?.();
    if (this.pendingTimer !== undefined) clearTimeout(this.pendingTimer);
    const farewell: OwnedRecord[] = [];
    const seen = new Set<string>();
    for (const unit of this.units.values()) {
      if (unit.timer !== undefined) clearTimeout(unit.timer);
      for (const record of unit.published) {
        const key = recordKey(record.answer);
        if (!seen.has(key)) farewell.push(record);
        seen.add(key);
      }
    }
    this.units.clear();
    this.goodbye(farewell);
  }

  /** Current counters. */
  stats(): MdnsStats {
    let announced = 0;
    let probing = 0;
    let hosts = 0;
    for (const unit of this.units.values()) {
      if (unit.state === 'probing') probing++;
      else if (unit.kind === 'instance') announced++;
      else hosts++;
    }
    return { announced, probing, hosts, ...this.counters, renames: [...this.renames] };
  }

  /** The published (possibly renamed) instance names, by `service/protocol/id` of the registry. */
  instanceNames(): ReadonlyMap<string, { readonly name: string; readonly state: 'probing' | 'announced' }> {
    const out = new Map<string, { name: string; state: 'probing' | 'announced' }>();
    for (const unit of this.units.values()) {
      if (unit.kind === 'instance' && unit.instance !== undefined) {
        out.set(`${unit.service}/${unit.instance.protocol}/${unit.instance.id}`, { name: this.nameOf(unit), state: unit.state });
      }
    }
    return out;
  }

  /** Be told of every rename (RFC 6762 §9 asks that the user be informed); returns the unsubscribe function. */
  onRename(listener: (rename: MdnsRename) => void): () => void {
    this.renameListeners.add(listener);
    return () => this.renameListeners.delete(listener);
  }

  // ---- registry → units ----

  private sync(services: readonly string[]): void {
    if (this.closed) return;
    // Goodbyes of one change (an instance and its host name, say) go out together, in as few packets as fit.
    this.farewells = [];
    try {
      for (const service of services) this.syncService(service);
      this.syncHosts();
    } finally {
      const farewells = this.farewells;
      this.farewells = undefined;
      this.goodbye(farewells);
    }
  }

  private syncService(service: string): void {
    const wanted = new Map<string, DnsInstance>();
    for (const protocol of ['tcp', 'udp'] as const) {
      for (const instance of this.view.eligible(service, protocol)) {
        if (!publishableLabel(instance.id)) {
          this.skipOnce(service, instance, 'instance name has a dot or is too long for mDNS; answered by unicast DNS only');
          continue;
        }
        wanted.set(instanceKey(service, instance), instance);
      }
    }
    for (const unit of [...this.units.values()]) {
      if (unit.kind !== 'instance' || unit.service !== service) continue;
      const next = wanted.get(unit.key);
      if (next === undefined) {
        this.withdraw(unit);
        continue;
      }
      wanted.delete(unit.key);
      unit.instance = next;
      unit.target = targetOf(next);
      this.refresh(unit);
    }
    for (const [key, instance] of wanted) {
      const unit = this.newUnit(key, 'instance', instance.id, serviceTypeName(service, instance.protocol));
      unit.instance = instance;
      unit.service = service;
      unit.target = targetOf(instance);
      this.probe(unit);
    }
  }

  /** Host units follow the instance units: one per host name under `local.` with the addresses that claim it. */
  private syncHosts(): void {
    // Recomputed from every instance: mDNS serves one link, whose registries are small.
    const wanted = new Map<string, { name: string; addresses: Set<string> }>();
    for (const unit of this.units.values()) {
      const target = unit.target;
      if (unit.kind !== 'instance' || target?.kind !== 'host') continue;
      const entry = wanted.get(target.key) ?? { name: target.name, addresses: new Set<string>() };
      entry.addresses.add(target.address);
      wanted.set(target.key, entry);
    }
    for (const unit of [...this.units.values()]) {
      if (unit.kind !== 'host') continue;
      const next = wanted.get(unit.key);
      if (next === undefined) {
        this.withdraw(unit);
        continue;
      }
      wanted.delete(unit.key);
      unit.addresses = next.addresses;
      this.refresh(unit);
    }
    for (const [key, { name, addresses }] of wanted) {
      const dot = name.indexOf('.');
      const unit = this.newUnit('h:' + key, 'host', name.slice(0, dot), name.slice(dot + 1));
      unit.addresses = addresses;
      this.probe(unit);
    }
  }

  private newUnit(key: string, kind: Unit['kind'], base: string, parent: string): Unit {
    const unit: Unit = { key, kind, base, parent, attempt: 1, state: 'probing', probesSent: 0, timer: undefined, published: [], conflictTimes: [] };
    this.units.set(key, unit);
    return unit;
  }

  private nameOf(unit: Unit): string {
    const label = unit.kind === 'instance' ? instanceLabel(unit.base, unit.attempt) : hostLabel(unit.base, unit.attempt);
    return `${label}.${unit.parent}`;
  }

  /** What the unit would publish now (names follow renames of the unit and of its SRV target). */
  private recordsOf(unit: Unit): OwnedRecord[] {
    if (unit.kind === 'host') return hostRecords(this.nameOf(unit), unit.addresses ?? []);
    if (unit.instance === undefined || unit.service === undefined) return [];
    return instanceRecords(unit.instance, unit.service, this.nameOf(unit), this.targetName(unit.target));
  }

  private targetName(target: TargetRef | undefined): string | undefined {
    if (target === undefined) return undefined;
    if (target.kind === 'external') return target.name;
    const host = this.units.get('h:' + target.key);
    return host === undefined ? target.name : this.nameOf(host);
  }

  /** An announced unit whose data changed: withdraw what went, announce what is now (RFC 6762 §8.4). */
  private refresh(unit: Unit): void {
    if (unit.state !== 'announced') return; // a probing unit announces its current records when probing ends
    const next = this.recordsOf(unit);
    const nextKeys = new Set(next.map((r) => recordKey(r.answer)));
    const oldKeys = new Set(unit.published.map((r) => recordKey(r.answer)));
    if (nextKeys.size === oldKeys.size && [...nextKeys].every((k) => oldKeys.has(k))) return;
    // A unique RRset that still exists is replaced by the cache-flush bit; other records that went get a goodbye.
    const liveSets = new Set(next.filter((r) => r.unique).map((r) => rrsetKey(r.answer)));
    const gone = unit.published.filter((r) => !nextKeys.has(recordKey(r.answer)) && !liveSets.has(rrsetKey(r.answer)));
    unit.published = next;
    this.invalidate();
    this.goodbye(gone.filter((r) => !this.heldByOthers(r, unit)));
    this.announce(unit);
  }

  /** An instance left the eligible set (or a host lost its last instance): goodbye now (RFC 6762 §10.1). */
  private withdraw(unit: Unit): void {
    if (unit.timer !== undefined) clearTimeout(unit.timer);
    this.units.delete(unit.key);
    const gone = unit.published;
    unit.published = [];
    this.invalidate();
    this.goodbye(gone.filter((r) => !this.heldByOthers(r, unit)));
    if (unit.kind === 'instance') this.log.info({ instance: this.nameOf(unit) }, 'mdns: instance withdrawn');
  }

  private heldByOthers(record: OwnedRecord, except: Unit): boolean {
    const key = recordKey(record.answer);
    for (const unit of this.units.values()) {
      if (unit === except || unit.state !== 'announced') continue;
      if (unit.published.some((r) => recordKey(r.answer) === key)) return true;
    }
    return false;
  }

  // ---- probing and announcing (RFC 6762 §8) ----

  private probe(unit: Unit, delay = this.random() * PROBE_INTERVAL_MS): void {
    if (unit.timer !== undefined) clearTimeout(unit.timer);
    unit.state = 'probing';
    unit.probesSent = 0;
    this.invalidate();
    unit.timer = setTimeout(() => this.sendProbe(unit), delay);
  }

  private sendProbe(unit: Unit): void {
    unit.timer = undefined;
    if (unit.probesSent >= PROBE_COUNT) {
      this.finishProbing(unit);
      return;
    }
    const proposed = this.recordsOf(unit).filter((r) => r.unique).map((r) => toWire(r, r.answer.ttl, false));
    // The question asks for ANY at the name; the authority section carries what we intend to claim (§8.2).
    this.transport.send({ type: 'query', id: 0, flags: 0, questions: [{ name: this.nameOf(unit), type: ANY, class: 'IN' }], authorities: proposed });
    unit.probesSent++;
    unit.timer = setTimeout(() => this.sendProbe(unit), PROBE_INTERVAL_MS);
  }

  private finishProbing(unit: Unit): void {
    const previous = unit.published;
    unit.state = 'announced';
    unit.published = this.recordsOf(unit);
    this.invalidate();
    const nextKeys = new Set(unit.published.map((r) => recordKey(r.answer)));
    this.goodbye(previous.filter((r) => !nextKeys.has(recordKey(r.answer)) && !this.heldByOthers(r, unit)));
    this.log.info({ name: this.nameOf(unit), kind: unit.kind }, 'mdns: announced');
    this.announce(unit);
  }

  /** Two unsolicited responses, one second apart (RFC 6762 §8.3). */
  private announce(unit: Unit): void {
    if (unit.timer !== undefined) clearTimeout(unit.timer);
    this.multicast(unit.published, [], true);
    unit.timer = setTimeout(() => {
      unit.timer = undefined;
      if (unit.state === 'announced') this.multicast(unit.published, [], true);
    }, ANNOUNCE_INTERVAL_MS);
  }

  private goodbye(records: readonly OwnedRecord[]): void {
    if (records.length === 0) return;
    if (this.farewells !== undefined) {
      this.farewells.push(...records);
      return;
    }
    this.counters.goodbyes += records.length;
    // TTL 0 (§10.1); no cache-flush bit, so a goodbye never flushes another host's records of the same RRset.
    this.sendChunked({ type: 'response', id: 0, flags: AUTHORITATIVE_ANSWER }, records.map((r) => toWire(r, 0, false)), []);
    for (const record of records) this.lastMulticast.delete(recordKey(record.answer));
  }

  // ---- conflicts (RFC 6762 §8.1, §8.2, §9) ----

  private rename(unit: Unit, reason: string): void {
    const from = this.nameOf(unit);
    const now = this.clock.now();
    unit.conflictTimes = [...unit.conflictTimes.filter((t) => now - t < CONFLICT_WINDOW_MS), now];
    if (unit.published.length > 0) {
      this.goodbye(unit.published.filter((r) => !this.heldByOthers(r, unit)));
      unit.published = [];
    }
    unit.attempt++;
    const rename: MdnsRename = { kind: unit.kind, from, to: this.nameOf(unit) };
    this.renames.push(rename);
    this.log.warn({ ...rename, reason }, 'mdns: name in use on the link, renamed');
    for (const listener of this.renameListeners) listener(rename);
    // §8.1: after 15 conflicts in ten seconds, wait five seconds before probing again.
    const burst = unit.conflictTimes.length >= CONFLICT_BURST;
    this.probe(unit, burst ? CONFLICT_BACKOFF_MS : 0);
    if (unit.kind === 'host') {
      for (const other of this.units.values()) if (other.kind === 'instance' && other.target?.kind === 'host' && 'h:' + other.target.key === unit.key) this.refresh(other);
    }
  }

  private receive(packet: MdnsPacket, from: MdnsPeer): void {
    if (this.closed) return;
    try {
      // §18.3, §18.11: only standard queries and NOERROR responses are processed.
      if (packet.opcode !== undefined && packet.opcode !== 'QUERY') return;
      if (packet.type === 'response') this.onResponse(packet, from);
      else this.onQuery(packet, from);
    } catch (err) {
      this.log.warn({ err, from: from.address }, 'mdns: message dropped');
    }
  }

  private onResponse(packet: MdnsPacket, from: MdnsPeer): void {
    // §11: responses must come from port 5353; anything else is not a Multicast DNS response.
    if (from.port !== MDNS_PORT || (packet.rcode !== undefined && packet.rcode !== 'NOERROR')) return;
    const byName = new Map<string, Answer[]>();
    for (const record of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
      if (record.type === 'OPT' || !isUnder(record.name, MDNS_DOMAIN) || (record.ttl ?? 0) === 0) continue;
      const key = nameKey(record.name);
      byName.set(key, [...(byName.get(key) ?? []), record]);
    }
    if (byName.size === 0) return;
    for (const unit of [...this.units.values()]) {
      const theirs = byName.get(nameKey(this.nameOf(unit)));
      if (theirs === undefined || !this.units.has(unit.key)) continue;
      const mine = this.recordsOf(unit);
      const mineKeys = new Set(mine.map((r) => recordKey(r.answer)));
      const mySets = new Set(mine.filter((r) => r.unique).map((r) => rrsetKey(r.answer)));
      if (unit.state === 'probing') {
        // §8.1: any response with a record of the probed name that is not ours means the name is taken.
        if (theirs.some((r) => !mineKeys.has(recordKey(r)))) {
          this.counters.conflicts++;
          this.rename(unit, 'answer to our probe');
        }
      } else if (theirs.some((r) => mySets.has(rrsetKey(r)) && !mineKeys.has(recordKey(r)))) {
        // §9: another host answers one of our unique RRsets with different data: probe again; if it
        // defends the name, the probe finds the conflict and we rename.
        this.counters.conflicts++;
        this.log.warn({ name: this.nameOf(unit), from: from.address }, 'mdns: conflicting record on the link, probing again');
        this.probe(unit, 0);
      }
    }
  }

  private onQuery(packet: Packet, from: MdnsPeer): void {
    const questions = (packet.questions ?? []).filter((q) => isQuestionIn(q) && isUnder(q.name, MDNS_DOMAIN));
    const authorities = packet.authorities ?? [];
    const isProbe = authorities.length > 0;
    if (isProbe && from.port === MDNS_PORT) this.simultaneousProbe(authorities);
    if (questions.length === 0) return;
    const index = this.answerIndex();
    const known = new Map<string, number>();
    for (const k of packet.answers ?? []) if (k.type !== 'OPT') known.set(recordKey(k), k.ttl ?? 0);
    const answers = new Map<string, OwnedRecord>();
    let defend = false;
    for (const question of questions) {
      for (const record of index.get(nameKey(question.name)) ?? []) {
        if (question.type !== ANY && question.type !== record.answer.type) continue;
        const key = recordKey(record.answer);
        // §7.1: a known answer with at least half our TTL left suppresses ours.
        const knownTtl = known.get(key);
        if (knownTtl !== undefined && knownTtl >= record.answer.ttl / 2) {
          this.counters.knownAnswersSuppressed++;
          continue;
        }
        if (isProbe && record.unique) defend = true;
        answers.set(key, record);
      }
    }
    if (answers.size === 0) return;
    const legacy = from.port !== MDNS_PORT;
    if (legacy) {
      this.answerLegacy(packet, questions, [...answers.values()], from);
      return;
    }
    this.counters.queriesAnswered++;
    if (!defend && questions.every(isQuestionQu)) {
      // §5.4: QU questions get a direct (unicast) response.
      const list = [...answers.values()];
      this.sendChunked({ type: 'response', id: 0, flags: AUTHORITATIVE_ANSWER }, list.map((r) => toWire(r, r.answer.ttl, r.unique)), this.additionalsFor(list, known).map((r) => toWire(r, r.answer.ttl, r.unique)), { address: from.address, port: MDNS_PORT });
      return;
    }
    const now = this.clock.now();
    const interval = defend ? PROBE_DEFENSE_INTERVAL_MS : MULTICAST_MIN_INTERVAL_MS;
    const allowed = [...answers.values()].filter((r) => now - (this.lastMulticast.get(recordKey(r.answer)) ?? -Infinity) >= interval);
    if (allowed.length === 0) return;
    // §6: answers made only of unique records go at once; shared ones wait 20-120 ms to aggregate.
    if (defend || allowed.every((r) => r.unique)) {
      this.multicast(allowed, this.additionalsFor(allowed, known), false);
      return;
    }
    for (const record of allowed) this.pending.set(recordKey(record.answer), record);
    this.pendingTimer ??= setTimeout(() => this.flushPending(), RESPONSE_DELAY_MIN_MS + this.random() * RESPONSE_DELAY_SPREAD_MS);
  }

  /** §8.2: another host probes a name we are probing too; the lexicographically later set wins. */
  private simultaneousProbe(authorities: readonly Answer[]): void {
    for (const unit of this.units.values()) {
      if (unit.state !== 'probing') continue;
      const name = nameKey(this.nameOf(unit));
      const theirs = authorities.filter((r) => nameKey(r.name) === name);
      if (theirs.length === 0) continue;
      const ours = this.recordsOf(unit).filter((r) => r.unique).map((r) => r.answer);
      if (tiebreak(ours, theirs) >= 0) continue; // we win, or it is our own probe
      this.counters.conflicts++;
      this.log.info({ name: this.nameOf(unit) }, 'mdns: lost a simultaneous probe, probing again in one second');
      this.probe(unit, PROBE_DEFER_MS);
    }
  }

  /** §6.7: a one-shot query from a port other than 5353 gets a unicast reply like a DNS server's. */
  private answerLegacy(packet: Packet, questions: readonly Question[], answers: readonly OwnedRecord[], to: MdnsPeer): void {
    this.counters.legacyQueriesAnswered++;
    const ttl = (r: OwnedRecord): number => Math.min(r.answer.ttl, LEGACY_TTL_CAP);
    this.sendChunked(
      {
        type: 'response',
        id: packet.id ?? 0,
        flags: AUTHORITATIVE_ANSWER,
        // The question is echoed (§6.7), with a plain class IN.
        questions: questions.map((q) => ({ name: q.name, type: q.type, class: 'IN' as const })),
      },
      answers.map((r) => toWire(r, ttl(r), false)),
      this.additionalsFor(answers, new Map()).map((r) => toWire(r, ttl(r), false)),
      to,
    );
  }

  private flushPending(): void {
    this.pendingTimer = undefined;
    const now = this.clock.now();
    const records = [...this.pending.values()].filter((r) => now - (this.lastMulticast.get(recordKey(r.answer)) ?? -Infinity) >= MULTICAST_MIN_INTERVAL_MS);
    this.pending.clear();
    if (records.length > 0 && !this.closed) this.multicast(records, this.additionalsFor(records, new Map()), false);
  }

  /** RFC 6763 §12: PTR answers bring the instance's SRV, TXT and addresses; SRV answers bring addresses. */
  private additionalsFor(answers: readonly OwnedRecord[], known: ReadonlyMap<string, number>): OwnedRecord[] {
    const index = this.answerIndex();
    const inAnswer = new Set(answers.map((r) => recordKey(r.answer)));
    const out = new Map<string, OwnedRecord>();
    const add = (name: string, types: readonly string[]): void => {
      for (const record of index.get(nameKey(name)) ?? []) {
        const key = recordKey(record.answer);
        if (types.includes(record.answer.type) && !inAnswer.has(key) && !known.has(key)) out.set(key, record);
      }
    };
    for (const { answer } of answers) {
      if (answer.type === 'PTR') {
        add(answer.data, ['SRV', 'TXT']);
        for (const record of index.get(nameKey(answer.data)) ?? []) if (record.answer.type === 'SRV') add(record.answer.data.target, ['A', 'AAAA']);
      } else if (answer.type === 'SRV') {
        add(answer.data.target, ['A', 'AAAA']);
      }
    }
    return [...out.values()];
  }

  private answerIndex(): Map<string, OwnedRecord[]> {
    if (this.index !== undefined) return this.index;
    const index = new Map<string, OwnedRecord[]>();
    const seen = new Set<string>();
    for (const unit of this.units.values()) {
      if (unit.state !== 'announced') continue;
      for (const record of unit.published) {
        const key = recordKey(record.answer);
        if (seen.has(key)) continue;
        seen.add(key);
        const name = nameKey(record.answer.name);
        index.set(name, [...(index.get(name) ?? []), record]);
      }
    }
    this.index = index;
    return index;
  }

  private invalidate(): void {
    this.index = undefined;
  }

  private multicast(answers: readonly OwnedRecord[], additionals: readonly OwnedRecord[], announcement: boolean): void {
    if (answers.length === 0) return;
    const now = this.clock.now();
    for (const record of answers) this.lastMulticast.set(recordKey(record.answer), now);
    const wire = (r: OwnedRecord): Answer => toWire(r, r.answer.ttl, r.unique);
    this.sendChunked({ type: 'response', id: 0, flags: AUTHORITATIVE_ANSWER }, dedupe(answers).map(wire), announcement ? [] : additionals.map(wire));
  }

  /** Send answers in as many packets as the MTU budget needs; additionals ride along where they fit. */
  private sendChunked(header: Packet, answers: readonly Answer[], additionals: readonly Answer[], to?: MdnsPeer): void {
    const base = estimateLength({ ...header, answers: [], additionals: [] });
    let chunk: Answer[] = [];
    let size = base;
    const flush = (extra: readonly Answer[]): void => {
      if (chunk.length > 0) this.transport.send({ ...header, answers: chunk, additionals: [...extra] }, to);
      chunk = [];
      size = base;
    };
    for (const answer of answers) {
      const length = answerLength(answer);
      if (chunk.length > 0 && size + length > MAX_PACKET_OCTETS) flush([]);
      chunk.push(answer);
      size += length;
    }
    const extra: Answer[] = [];
    for (const answer of additionals) {
      const length = answerLength(answer);
      if (size + length > MAX_PACKET_OCTETS) break;
      extra.push(answer);
      size += length;
    }
    flush(extra);
  }

  private skipOnce(service: string, instance: DnsInstance, reason: string): void {
    const key = instanceKey(service, instance);
    if (this.skipped.has(key)) return;
    this.skipped.add(key);
    this.log.warn({ service, instance: instance.id }, `mdns: ${reason}`);
  }
}

function instanceKey(service: string, instance: DnsInstance): string {
  return `i:${service}/${instance.protocol}/${foldAscii(instance.id)}`;
}

function toWire(record: OwnedRecord, ttl: number, flush: boolean): Answer {
  return { ...record.answer, ttl, class: 'IN', flush } as Answer;
}

function dedupe(records: readonly OwnedRecord[]): OwnedRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = recordKey(r.answer);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Wire length of one uncompressed record: owner, fixed fields, RDATA. */
function answerLength(answer: Answer): number {
  return Buffer.byteLength(answer.name, 'utf8') + 2 + 10 + rdataBytes(answer).length;
}

function estimateLength(packet: Packet): number {
  let length = 12;
  for (const q of packet.questions ?? []) length += Buffer.byteLength(q.name, 'utf8') + 6;
  return length;
}
