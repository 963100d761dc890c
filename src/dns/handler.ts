/**
 * The request pipeline, the one entry point per request: bytes in, bytes (or nothing) out, never a throw
 * (docs/ARCHITECTURE.md, "Habits").
 *
 * Hot path (docs/ARCHITECTURE.md, "Request path"): parse the header and question straight from the Buffer,
 * look the folded question up in the response cache, copy the pre-encoded bytes and patch the ID, the RD/CD
 * bits and the question's original case. Misses ask the authority once and encode once per (EDNS shape,
 * rotation step). Keeping the cache true to the registry is cache-invalidation.ts's job; counting is
 * stats.ts's.
 */
import { type Logger, silentLogger, moduleLogger } from '../log.js';
import { type DnsView } from './view.js';
import { Authority, type AuthorityAnswer } from './authority.js';
import { ResponseCache, DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRIES, freshSerial, hasKey, variantFor, type EncodedVariant, type StoredVariant } from './cache.js';
import { HostIndex } from './hosts.js';
import { CacheInvalidation } from './cache-invalidation.js';
import { DnsCounters, type DnsStats } from './stats.js';
import { assembleWindow, buildWindowedReply, exceedsMaxAnswers } from './answer-limit.js';
import { type Name, namesEqual } from './name.js';
import { RRType, CLASS_IN, type ResourceRecord } from './records.js';
import { foldOctet } from '../ascii.js';
import { copyOctets } from './copy-octets.js';
import { ListingReplies } from './listing-reply.js';
import type { SerialFeed, SerialSource } from './zone-serial.js';
import type { DynamicZone } from './dynamic-zone.js';

/**
 * Whether the stored reply's question name and type are octet for octet the request's `msg[12, qnameEnd + 2)`:
 * then the reply answers this very question (the same octets parse as the same name) and already echoes it
 * as asked, case included.
 */
function askedAlike(msg: Buffer, qnameEnd: number, stored: StoredVariant): boolean {
  const memory = stored.memory;
  const base = stored.offset;
  if (qnameEnd + 2 > stored.length) return false;
  for (let i = HEADER_SIZE; i < qnameEnd + 2; i++) if (memory[base + i] !== msg[i]) return false;
  return true;
}

/**
 * Copy a stored reply of `length` octets at `from[base]` into `to` from offset 0, its answer records rotated
 * by `step` when `offsets` (the records' offsets, then the section end) are given: records [step..n), then
 * [0..step), by moving whole records (nothing points into them; see `rotatable` in wire.ts).
 */
function copyReply(from: DataView, base: number, to: DataView, length: number, step: number, offsets: readonly number[] | undefined): void {
  if (step === 0 || offsets === undefined) {
    copyOctets(from, base, to, 0, length);
    return;
  }
  const first = offsets[0] ?? 0;
  const cut = offsets[step] ?? first;
  const end = offsets[offsets.length - 1] ?? first;
  copyOctets(from, base, to, 0, first);
  copyOctets(from, base + cut, to, first, end - cut);
  copyOctets(from, base + first, to, first + end - cut, cut - first);
  if (end < length) copyOctets(from, base + end, to, end, length - end);
}

/** The UPDATE opcode (RFC 2136 §1.3). */
const OPCODE_UPDATE = 5;
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

export type { DnsStats } from './stats.js';

/** The transport a request came over: it sets the size limit (RFC 1035 §4.2, RFC 6891 §6.2.5, RFC 7766). */
export type Transport = 'udp' | 'tcp';

/** What the handler needs. */
export interface RequestHandlerOptions {
  readonly authority: Authority;
  readonly view: DnsView;
  readonly domain: Name;
  readonly cacheEntries?: number;
  /** Encoded reply bytes kept at most. */
  readonly cacheBytes?: number;
  readonly logger?: Logger;
  /** Where the pipeline reports what it did; the transports report to the same object. Default: its own. */
  readonly counters?: DnsCounters;
  /** At most this many SRV/A/AAAA/PTR records per answer, rotating through all (answer-limit.ts); 0 = no limit. */
  readonly maxAnswers?: number;
  /** The zone's SOA serial, when it moves: cached answers carrying the SOA are dropped on each move. */
  readonly serial?: SerialFeed & SerialSource;
  /** Dynamic zone data the authority serves: answers at the names it changes are dropped. */
  readonly zoneData?: Pick<DynamicZone, 'onChange'>;
}

/** Turns request bytes into reply bytes; owns the response cache and the host index. */
export class DnsRequestHandler {
  private readonly authority: Authority;
  private readonly view: DnsView;
  private readonly cache: ResponseCache;
  private readonly hosts: HostIndex;
  private readonly log: Logger;
  private readonly q = new ParsedQuery();
  private readonly invalidation: CacheInvalidation;
  private readonly maxAnswers: number;
  /** Service listings encoded without records (listing-reply.ts). */
  private readonly listings: ListingReplies;
  /** Length of the reply `process` last wrote into the caller's buffer. */
  private written = 0;
  private updater: ((msg: Buffer, remote: string) => Promise<Buffer | undefined>) | undefined;
  /** The counters this handler reports to (and the transports in front of it). */
  readonly counters: DnsCounters;

  constructor(options: RequestHandlerOptions) {
    this.authority = options.authority;
    this.view = options.view;
    this.cache = new ResponseCache(options.cacheEntries ?? DEFAULT_CACHE_ENTRIES, options.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.hosts = new HostIndex(options.domain);
    this.log = moduleLogger(options.logger ?? silentLogger, 'dns');
    this.counters = options.counters ?? new DnsCounters();
    this.invalidation = new CacheInvalidation(this.view, this.cache, this.hosts, options.serial, options.zoneData);
    this.maxAnswers = options.maxAnswers ?? 0;
    this.listings = new ListingReplies(options.domain, this.authority.answerTtl);
  }

  /** Stop following the view. */
  close(): void {
    this.invalidation.close();
    this.cache.clear();
  }

  /** Handle one request: the reply to send, or undefined to send nothing. Never throws. */
  handle(msg: Buffer, transport: Transport): Buffer | undefined {
    this.counters.started(transport);
    try {
      return this.process(msg, msg.length, transport, undefined, undefined);
    } catch (err) {
      return this.failed(err, msg);
    }
  }

  /**
   * Answer a UDP request held in `msg[0, length)` with the reply written into `out` from offset 0; returns the
   * reply's length, or -1 to send nothing (no reply, or one longer than `out`). Never throws. The batched
   * transport's entry: `msg` and `out` are its receive and send slots, so a cache hit copies the cached octets
   * once, straight into the outgoing slot. `outView`, a DataView of exactly `out` that the caller keeps, lets
   * that copy make no object at all (copy-octets.ts): then a cache hit allocates nothing.
   */
  answerInto(msg: Buffer, length: number, out: Buffer, outView?: DataView): number {
    this.counters.started('udp');
    let reply: Buffer | undefined;
    try {
      reply = this.process(msg, length, 'udp', out, outView);
    } catch (err) {
      reply = this.failed(err, msg.subarray(0, length));
    }
    if (reply === out) return this.written;
    if (reply === undefined || reply.length > out.length) return -1;
    out.set(reply);
    return reply.length;
  }

  /** Answer DNS UPDATE (opcode 5) through `updater` (dns/update/): until set, UPDATE gets NOTIMP. */
  setUpdater(updater: ((msg: Buffer, remote: string) => Promise<Buffer | undefined>) | undefined): void {
    this.updater = updater;
  }

  /**
   * When `msg` is an UPDATE request and updates are enabled: the reply to come (it waits for the write path, so
   * the transports send it when it resolves); otherwise undefined and the message goes to `handle`.
   */
  update(msg: Buffer, remote: string): Promise<Buffer | undefined> | undefined {
    const updater = this.updater;
    if (updater === undefined || msg.length < HEADER_SIZE) return undefined;
    const b2 = msg[2] ?? 0;
    if ((b2 & 0x80) !== 0 || ((b2 >> 3) & 0xf) !== OPCODE_UPDATE) return undefined;
    return updater(msg, remote);
  }

  /** The current answer for (name, type), as UPDATE prerequisites read it: whether the name exists, and its RRset. */
  lookup(name: Name, type: number): { readonly exists: boolean; readonly records: readonly ResourceRecord[] } {
    const folded = name.map((label) => Buffer.from(label.map(foldOctet)));
    // Existence alone (type ANY) is read from any type's rcode: NXDOMAIN or not.
    const answer = this.authority.answer(folded, type === 255 ? RRType.A : type, this.view, this.hosts);
    const exists = answer.rcode === Rcode.NOERROR;
    return { exists, records: exists ? answer.answer.filter((r) => r.type === type && namesEqual(r.name, folded)) : [] };
  }

  /** A snapshot of the counters. */
  stats(): DnsStats {
    return this.counters.snapshot(this.cache);
  }

  /** Handling threw: count it, log it, answer SERVFAIL when the request allows. */
  private failed(err: unknown, msg: Buffer): Buffer | undefined {
    this.counters.internalError();
    this.log.error({ err }, 'request handler failed; answering SERVFAIL');
    return this.servfail(msg);
  }

  /**
   * The reply to the request `msg[0, end)`. A cached reply is copied into `dest` when given and large enough
   * (then `dest` is returned and `written` holds the length; `destView`, when given, is a DataView of `dest`),
   * else into a new Buffer; other replies (errors, windows of a large RRset) are built on their own.
   */
  private process(msg: Buffer, end: number, transport: Transport, dest: Buffer | undefined, destView: DataView | undefined): Buffer | undefined {
    const q = this.q;
    const status = parseQuery(msg, q, end);
    const counters = this.counters;
    if (status === ParseStatus.Drop) {
      counters.dropped();
      return undefined;
    }
    counters.query();
    if (status !== ParseStatus.Ok) return this.errorReply(msg, status === ParseStatus.NotImp ? Rcode.NOTIMP : Rcode.FORMERR, transport);
    counters.questionType(q.qtype);
    if (q.hasOpt && q.optVersion > 0) return this.errorReply(msg, Rcode.BADVERS, transport); // RFC 6891 §6.1.3
    // Only class IN is served; zone transfers are not offered.
    if (q.qclass !== CLASS_IN || q.qtype === RRType.AXFR || q.qtype === RRType.IXFR) {
      return this.errorReply(msg, Rcode.REFUSED, transport);
    }
    const limit = this.limit(transport);
    const shape = limit * 4 + (q.hasOpt ? 2 : 0) + (q.optDo ? 1 : 0);
    // Hits find the question by its key's hash; the key becomes a string only to be stored (misses). An entry
    // is this question when its reply for this shape holds the question exactly as asked here (the common case:
    // one compare, and the reply's question needs no patching), or else when its key is this key.
    let entry = this.cache.hashed(q.keyHash);
    let variant: StoredVariant | undefined;
    let asAsked = false;
    for (; entry !== undefined; entry = entry.sameHash) {
      variant = variantFor(entry, shape);
      if (variant !== undefined && variant.window === undefined && askedAlike(msg, q.qnameEnd, variant)) {
        asAsked = true;
        break;
      }
      if (hasKey(entry, q.key, q.keyLength)) break;
    }
    if (entry) {
      counters.cacheHit();
    } else {
      counters.cacheMiss();
      const key = q.key.toString('latin1', 0, q.keyLength);
      const fresh = this.fresh(msg, foldedQuestionName(q, key), limit);
      if (fresh.answer.rcode === Rcode.REFUSED) return this.errorReply(msg, Rcode.REFUSED, transport); // unbounded names: not cached
      entry = this.cache.set(key, fresh.answer);
      variant = fresh.encoded === undefined ? undefined : this.cache.storeVariant(entry, shape, fresh.encoded);
      if (variant) entry.answer = undefined;
    }
    if (!variant) {
      let answer = entry.answer;
      if (!answer) {
        // A new EDNS shape for a known question: ask again (the records were dropped to save memory).
        const fresh = this.fresh(msg, foldedQuestionName(q, entry.key), limit);
        answer = fresh.answer;
        // The view changed without telling us (it should not): start the question afresh.
        if (answer.rcode !== entry.rcode || answer.rotation !== entry.rotation) entry = this.cache.set(entry.key, answer);
        if (fresh.encoded !== undefined) variant = this.cache.storeVariant(entry, shape, fresh.encoded);
      }
      variant ??= this.cache.storeVariant(entry, shape, this.encode(msg, answer, limit));
      entry.answer = undefined;
    }
    const step = entry.next;
    counters.response(entry.rcode);
    const window = variant.window;
    let out: Buffer;
    // The reply's octets are bytes[base, base + length).
    let bytes = variant.memory;
    let base = variant.offset;
    if (window !== undefined) {
      // A large RRset: this reply hands out the window starting where the rotation stands.
      const reply = assembleWindow(window, step);
      const next = step + Math.max(reply.count, 1);
      entry.next = next >= entry.rotation ? next - entry.rotation : next;
      out = bytes = reply.bytes;
      base = 0;
    } else {
      entry.next = step + 1 >= entry.rotation ? 0 : step + 1;
      if (variant.serialAt >= 0) freshSerial(variant);
      // Copy, then patch what differs between askers: ID, RD and CD bits, the question as asked.
      const length = variant.length;
      let into: DataView | undefined;
      if (dest !== undefined && length <= dest.length) {
        out = dest;
        into = destView;
        this.written = length;
      } else {
        out = Buffer.allocUnsafe(length);
      }
      const slab = variant.slab;
      const offsets = variant.answerOffsets;
      if (slab !== undefined && into !== undefined) {
        // Slab to kept view of the outgoing slot: no object made (copy-octets.ts).
        copyReply(slab.view, base, into, length, step, offsets);
        return this.patch(msg, out, bytes, base, asAsked);
      }
      // Copies go through plain Uint8Array views of the memory (Buffer#subarray and Buffer#copy make one each
      // at about twice the cost); a slab keeps its ArrayBuffer, saving the `buffer` getter on every hit.
      const memory = slab !== undefined ? slab.arrayBuffer : bytes.buffer;
      const start = slab !== undefined ? base : bytes.byteOffset + base;
      if (step === 0 || offsets === undefined) {
        out.set(new Uint8Array(memory, start, length));
      } else {
        // Rotate by moving whole answer records: [step..n) then [0..step). Nothing points into them.
        const first = offsets[0] ?? 0;
        const cut = offsets[step] ?? first;
        const end = offsets[offsets.length - 1] ?? first;
        out.set(new Uint8Array(memory, start, first));
        out.set(new Uint8Array(memory, start + cut, end - cut), first);
        out.set(new Uint8Array(memory, start + first, cut - first), first + end - cut);
        if (end < length) out.set(new Uint8Array(memory, start + end, length - end), end);
      }
    }
    return this.patch(msg, out, bytes, base, asAsked);
  }

  /**
   * Make the copied reply `out` answer this request: ID, RD and CD bits, the question as asked. `bytes[base]`
   * is the stored reply (its flags are read there).
   */
  private patch(msg: Buffer, out: Buffer, bytes: Buffer, base: number, asAsked: boolean): Buffer {
    const q = this.q;
    const counters = this.counters;
    const flags2 = bytes[base + 2] ?? 0;
    const flags3 = bytes[base + 3] ?? 0;
    if (flags2 & (Flags.TC >> 8)) counters.truncated();
    out[0] = msg[0] ?? 0;
    out[1] = msg[1] ?? 0;
    out[2] = (flags2 & ~(Flags.RD >> 8)) | ((msg[2] ?? 0) & (Flags.RD >> 8));
    out[3] = (flags3 & ~Flags.CD) | ((msg[3] ?? 0) & Flags.CD);
    // The question as asked (its case may differ from the cached asker's); a short loop beats a ranged copy.
    if (!asAsked) for (let i = HEADER_SIZE; i < q.qnameEnd; i++) out[i] = msg[i] ?? 0;
    return out;
  }

  /** Reply size limit: 65535 on TCP; else the client's EDNS size within [512, 1232], or 512 without EDNS. */
  private limit(transport: Transport): number {
    const q = this.q;
    if (transport === 'tcp') return MAX_MESSAGE;
    if (!q.hasOpt) return CLASSIC_UDP_LIMIT;
    return Math.min(Math.max(q.optPayload, CLASSIC_UDP_LIMIT), EDNS_UDP_LIMIT);
  }

  /**
   * The answer to the parsed question (`name` folded) as the cache takes it: a plain service listing encoded
   * at once by `listings` (its answer then only carries what the cache entry keeps: rcode, rotation, tag), or
   * else the authority's records, to be encoded by `encode`.
   */
  private fresh(msg: Buffer, name: Name, limit: number): { readonly answer: AuthorityAnswer; readonly encoded: EncodedVariant | undefined } {
    const q = this.q;
    const listing = this.authority.listing(name, q.qtype, this.view);
    if (listing !== undefined) {
      const encoded = this.listings.encode(listing.service, listing.instances, {
        id: q.id,
        requestFlags: q.flags,
        question: msg.subarray(HEADER_SIZE, q.questionEnd),
        qtype: q.qtype,
        opt: q.hasOpt ? { do: q.optDo } : undefined,
        limit,
        maxAnswers: this.maxAnswers,
      });
      if (encoded !== undefined) {
        const answer: AuthorityAnswer = { rcode: Rcode.NOERROR, aa: true, answer: [], authority: [], additional: [], rotation: encoded.rotation, tags: [listing.tag] };
        return { answer, encoded: { bytes: encoded.bytes, answerOffsets: encoded.answerOffsets } };
      }
    }
    return { answer: this.authority.answer(name, q.qtype, this.view, this.hosts), encoded: undefined };
  }

  private encode(msg: Buffer, answer: AuthorityAnswer, limit: number): EncodedVariant {
    const q = this.q;
    const question = msg.subarray(HEADER_SIZE, q.questionEnd);
    const opt = q.hasOpt ? { do: q.optDo } : undefined;
    // Over TCP there is no larger transport to retry on: a whole RRset that does not fit is handed out in the
    // largest windows that do (answer-limit.ts, RFC 7766 §8).
    const tcp = limit === MAX_MESSAGE;
    const limited = exceedsMaxAnswers(answer, this.maxAnswers);
    if (!limited) {
      // Transient: the cache copies the bytes into its arena at once (storeVariant). One object literal, not a
      // spread of shared parts: this runs on every miss.
      const encoded = encodeResponse({
        id: q.id,
        opcode: q.opcode,
        aa: answer.aa,
        requestFlags: q.flags,
        rcode: answer.rcode,
        question,
        opt,
        limit,
        answer: answer.answer,
        authority: answer.authority,
        additional: answer.additional,
        rotatable: answer.rotation > 1,
        transient: true,
      });
      if (!(encoded.truncated && tcp && answer.rotation > 1)) {
        return { bytes: encoded.bytes, answerOffsets: encoded.answerOffsets };
      }
    }
    const parts = { id: q.id, opcode: q.opcode, aa: answer.aa, requestFlags: q.flags, rcode: answer.rcode, question, opt, limit };
    const window = buildWindowedReply(answer, { parts, maxAnswers: limited ? this.maxAnswers : 0, shrinkToFit: tcp });
    return { bytes: window.head, answerOffsets: undefined, window };
  }

  /** A reply with no records: FORMERR, NOTIMP, REFUSED, BADVERS. The question is echoed when it was readable. */
  private errorReply(msg: Buffer, rcode: number, transport: Transport): Buffer {
    const q = this.q;
    this.counters.response(rcode);
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
      this.counters.response(Rcode.SERVFAIL);
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
