/**
 * The one entry point per request (docs/ARCHITECTURE.md, 'Habits' 1): bytes in, bytes (or nothing) out, never a throw.
 *
 * Hot path (docs/ARCHITECTURE.md, 'The request path'): parse the header and question straight from the Buffer, look the folded question up
 * in the response cache, copy the pre-encoded bytes and patch the ID, the RD/CD bits and the question's
 * original case. Misses ask the authority once and encode once per (EDNS shape, rotation step).
 * A registry change invalidates only the cache entries that read what changed, before the next request.
 */
import { Packet } from 'dns2';
import { type Logger, silentLogger, moduleLogger } from '../log.js';
import { type DnsView, type DnsChange, type DnsInstance } from './view.js';
import { Authority, ENUM_TAG, foldAscii, instanceTag, nameTag, serviceTag, type AuthorityAnswer } from './authority.js';
import { ResponseCache, DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRIES, variantFor, type EncodedVariant } from './cache.js';
import { HostIndex } from './hosts.js';
import { type Name } from './name.js';
import { RRType, CLASS_IN } from './records.js';
import {
  CLASSIC_UDP_LIMIT,
  EDNS_UDP_LIMIT,
  Flags,
  HEADER_SIZE,
  MAX_MESSAGE,
  ParsedQuery,
  ParseStatus,
  Rcode,
  encodeResponse,
  foldedQuestionName,
  parseQuery,
} from './wire.js';

/** The transport a request came over: it sets the size limit (RFC 1035 §4.2, RFC 6891 §6.2.5, RFC 7766). */
export type Transport = 'udp' | 'tcp';

/** Counters the server exposes. */
export interface DnsStats {
  /** Requests answered or refused (not counting dropped ones). */
  readonly queries: number;
  /** By question type name (A, SRV, TYPE65280...). */
  readonly queriesByType: Readonly<Record<string, number>>;
  /** By response code name (NOERROR, NXDOMAIN, ...). */
  readonly responsesByRcode: Readonly<Record<string, number>>;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly cacheEntries: number;
  /** Encoded reply bytes held by the cache. */
  readonly cacheBytes: number;
  /** Cache entries dropped because something they depend on changed. */
  readonly cacheInvalidations: number;
  /** Messages not answered: too short for a header, responses (QR set), source port 0, TCP over the cap. */
  readonly dropped: number;
  /** Replies sent with TC set. */
  readonly truncated: number;
  /** Requests whose handling threw (answered SERVFAIL). */
  readonly internalErrors: number;
  /** TCP connections accepted since start, open now, and refused by the cap. */
  readonly tcpConnections: number;
  readonly tcpOpen: number;
  readonly tcpRejected: number;
}

/** What the handler needs. */
export interface RequestHandlerOptions {
  readonly authority: Authority;
  readonly view: DnsView;
  readonly domain: Name;
  readonly cacheEntries?: number;
  /** Encoded reply bytes kept at most. */
  readonly cacheBytes?: number;
  readonly logger?: Logger;
}

const RCODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Packet.RCODE).filter(([name]) => name !== 'BADSIG').map(([name, code]) => [code, name]),
);

/** Turns request bytes into reply bytes; owns the response cache and the host index. */
export class DnsRequestHandler {
  private readonly authority: Authority;
  private readonly view: DnsView;
  private readonly cache: ResponseCache;
  private readonly hosts: HostIndex;
  private readonly log: Logger;
  private readonly q = new ParsedQuery();
  private readonly unsubscribe: () => void;
  /** service → its eligible instances by folded id, as last read (to see which instances a change touched). */
  private readonly snapshots = new Map<string, { tcp: Map<string, DnsInstance>; udp: Map<string, DnsInstance> }>();

  private queries = 0;
  private readonly byType = new Map<number, number>();
  private readonly byRcode = new Map<number, number>();
  private hits = 0;
  private misses = 0;
  private truncatedCount = 0;
  private internalErrors = 0;
  /** Drops counted here and by the transports. */
  droppedCount = 0;
  /** TCP counters, kept by the server. */
  tcpAccepted = 0;
  tcpOpen = 0;
  tcpRejected = 0;

  constructor(options: RequestHandlerOptions) {
    this.authority = options.authority;
    this.view = options.view;
    this.cache = new ResponseCache(options.cacheEntries ?? DEFAULT_CACHE_ENTRIES, options.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.hosts = new HostIndex(options.domain);
    this.log = moduleLogger(options.logger ?? silentLogger, 'dns');
    this.unsubscribe = this.view.onChange((change) => this.onChange(change));
    const services = new Set(this.view.services().map((s) => s.service));
    for (const service of services) this.refresh(service);
  }

  /** Stop following the view. */
  close(): void {
    this.unsubscribe();
    this.cache.clear();
  }

  /** Handle one request: the reply to send, or undefined to send nothing. Never throws. */
  handle(msg: Buffer, transport: Transport): Buffer | undefined {
    try {
      return this.process(msg, transport);
    } catch (err) {
      this.internalErrors++;
      this.log.error({ err }, 'request handler failed; answering SERVFAIL');
      return this.servfail(msg);
    }
  }

  /** A snapshot of the counters. */
  stats(): DnsStats {
    const named = (m: Map<number, number>, name: (n: number) => string): Record<string, number> =>
      Object.fromEntries([...m].map(([k, v]) => [name(k), v]));
    return {
      queries: this.queries,
      queriesByType: named(this.byType, (t) => Packet.typeName(t)),
      responsesByRcode: named(this.byRcode, (r) => RCODE_NAMES[r] ?? `RCODE${r}`),
      cacheHits: this.hits,
      cacheMisses: this.misses,
      cacheEntries: this.cache.size,
      cacheBytes: this.cache.bytes,
      cacheInvalidations: this.cache.invalidated,
      dropped: this.droppedCount,
      truncated: this.truncatedCount,
      internalErrors: this.internalErrors,
      tcpConnections: this.tcpAccepted,
      tcpOpen: this.tcpOpen,
      tcpRejected: this.tcpRejected,
    };
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
  private diff(service: string, protocol: 'tcp' | 'udp', before: Map<string, DnsInstance> | undefined, now: readonly DnsInstance[]): Map<string, DnsInstance> {
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

  private count(rcode: number): void {
    this.byRcode.set(rcode, (this.byRcode.get(rcode) ?? 0) + 1);
  }

  private process(msg: Buffer, transport: Transport): Buffer | undefined {
    const q = this.q;
    const status = parseQuery(msg, q);
    if (status === ParseStatus.Drop) {
      this.droppedCount++;
      return undefined;
    }
    this.queries++;
    if (status !== ParseStatus.Ok) return this.errorReply(msg, status === ParseStatus.NotImp ? Rcode.NOTIMP : Rcode.FORMERR, transport);
    this.byType.set(q.qtype, (this.byType.get(q.qtype) ?? 0) + 1);
    if (q.hasOpt && q.optVersion > 0) return this.errorReply(msg, Rcode.BADVERS, transport); // RFC 6891 §6.1.3
    // Only class IN is served; zone transfers are not offered.
    if (q.qclass !== CLASS_IN || q.qtype === RRType.AXFR || q.qtype === RRType.IXFR) {
      return this.errorReply(msg, Rcode.REFUSED, transport);
    }
    const limit = this.limit(transport);
    const shape = limit * 4 + (q.hasOpt ? 2 : 0) + (q.optDo ? 1 : 0);
    const key = q.key.toString('latin1', 0, q.keyLength);
    let entry = this.cache.get(key);
    if (entry) {
      this.hits++;
    } else {
      this.misses++;
      const answer = this.authority.answer(foldedQuestionName(q), q.qtype, this.view, this.hosts);
      if (answer.rcode === Rcode.REFUSED) return this.errorReply(msg, Rcode.REFUSED, transport); // unbounded names: not cached
      entry = this.cache.set(key, answer);
    }
    let variant = variantFor(entry, shape);
    if (!variant) {
      let answer = entry.answer;
      if (!answer) {
        // A new EDNS shape for a known question: ask again (the records were dropped to save memory).
        answer = this.authority.answer(foldedQuestionName(q), q.qtype, this.view, this.hosts);
        // The view changed without telling us (it should not): start the question afresh.
        if (answer.rcode !== entry.rcode || answer.rotation !== entry.rotation) entry = this.cache.set(key, answer);
      }
      variant = this.encode(msg, answer, limit);
      this.cache.storeVariant(entry, shape, variant);
      entry.answer = undefined;
    }
    const step = entry.next;
    entry.next = step + 1 >= entry.rotation ? 0 : step + 1;
    const bytes = variant.bytes;
    this.count(entry.rcode);
    if ((bytes[2] ?? 0) & (Flags.TC >> 8)) this.truncatedCount++;
    // Copy, then patch what differs between askers: ID, RD and CD bits, the question as asked.
    const out = Buffer.allocUnsafe(bytes.length);
    out.set(bytes); // a whole-buffer set copies natively, without the view Buffer.copy makes for a range
    const offsets = variant.answerOffsets;
    if (step !== 0 && offsets !== undefined) {
      // Rotate by moving whole answer records: [step..n) then [0..step). Nothing points into them.
      const first = offsets[0] ?? 0;
      const cut = offsets[step] ?? first;
      const end = offsets[offsets.length - 1] ?? first;
      bytes.copy(out, first, cut, end);
      bytes.copy(out, first + end - cut, first, cut);
    }
    out[0] = msg[0] ?? 0;
    out[1] = msg[1] ?? 0;
    out[2] = ((bytes[2] ?? 0) & ~(Flags.RD >> 8)) | ((msg[2] ?? 0) & (Flags.RD >> 8));
    out[3] = ((bytes[3] ?? 0) & ~Flags.CD) | ((msg[3] ?? 0) & Flags.CD);
    // The question as asked (its case may differ from the cached asker's); a short loop beats a ranged copy.
    for (let i = HEADER_SIZE; i < q.qnameEnd; i++) out[i] = msg[i] ?? 0;
    return out;
  }

  /** Reply size limit: 65535 on TCP; else the client's EDNS size within [512, 1232], or 512 without EDNS. */
  private limit(transport: Transport): number {
    const q = this.q;
    if (transport === 'tcp') return MAX_MESSAGE;
    if (!q.hasOpt) return CLASSIC_UDP_LIMIT;
    return Math.min(Math.max(q.optPayload, CLASSIC_UDP_LIMIT), EDNS_UDP_LIMIT);
  }

  private encode(msg: Buffer, answer: AuthorityAnswer, limit: number): EncodedVariant {
    const encoded = encodeResponse({
      id: this.q.id,
      opcode: this.q.opcode,
      aa: answer.aa,
      requestFlags: this.q.flags,
      rcode: answer.rcode,
      question: msg.subarray(HEADER_SIZE, this.q.questionEnd),
      answer: answer.answer,
      authority: answer.authority,
      additional: answer.additional,
      opt: this.q.hasOpt ? { do: this.q.optDo } : undefined,
      limit,
      rotatable: answer.rotation > 1,
    });
    return { bytes: encoded.bytes, answerOffsets: encoded.answerOffsets ? Array.from(encoded.answerOffsets) : undefined };
  }

  /** A reply with no records: FORMERR, NOTIMP, REFUSED, BADVERS. The question is echoed when it was readable. */
  private errorReply(msg: Buffer, rcode: number, transport: Transport): Buffer {
    const q = this.q;
    this.count(rcode);
    return encodeResponse({
      id: q.id,
      opcode: q.opcode,
      aa: false,
      requestFlags: q.flags,
      rcode,
      question: q.questionEnd > 0 ? msg.subarray(HEADER_SIZE, q.questionEnd) : Buffer.alloc(0),
      answer: [],
      authority: [],
      additional: [],
      opt: q.hasOpt || rcode === Rcode.BADVERS ? { do: q.optDo } : undefined,
      limit: this.limit(transport),
    }).bytes;
  }

  private servfail(msg: Buffer): Buffer | undefined {
    try {
      if (msg.length < HEADER_SIZE || (msg.readUInt16BE(2) & Flags.QR) !== 0) return undefined;
      this.count(Rcode.SERVFAIL);
      const q = this.q;
      const questionOk = q.questionEnd > 0 && q.questionEnd <= msg.length && q.id === msg.readUInt16BE(0);
      return encodeResponse({
        id: msg.readUInt16BE(0),
        opcode: (msg.readUInt16BE(2) >> 11) & 0xf,
        aa: false,
        requestFlags: msg.readUInt16BE(2),
        rcode: Rcode.SERVFAIL,
        question: questionOk ? msg.subarray(HEADER_SIZE, q.questionEnd) : Buffer.alloc(0),
        answer: [],
        authority: [],
        additional: [],
        limit: CLASSIC_UDP_LIMIT,
      }).bytes;
    } catch {
      return undefined;
    }
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

function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}
