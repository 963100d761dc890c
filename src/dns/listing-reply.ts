/**
 * Service listings (SRV, A, AAAA and PTR at `_S._P.<domain>`) encoded straight from each instance's memoised
 * wire pieces, without building records or running the general encoder. Every registration drops the
 * listings of its service and the next query of each rebuilds it; for a service of dozens of instances the
 * general path built dozens of record objects and compressed each name through a map, most often only to
 * find that the answer does not fit a 512-octet UDP reply and send TC. Here the answer's size is known
 * from the pieces first, a reply that cannot fit costs no records at all, and one that fits is a series of
 * copies. What a listing draws on (each instance's wire, each address once per family) is gathered once per
 * instances array the view hands out, so the SRV, PTR, A and AAAA questions asked after a write, in every
 * size and shape, share it; and it is carried over from the service's previous array, so a write costs a
 * lookup of the instances it changed, not of every instance of the service (listing-facts.ts).
 *
 * The bytes are exactly those `encodeResponse` (wire.ts) writes for the records `Authority.answer` gives
 * (test/dns/listing-reply.test.ts compares the two over random services): rotatable answer records compressed
 * against the question only, OPT before the additional section, SRV targets uncompressed (RFC 2782), each
 * `<label>.addr.<domain>` owner compressed against the first one, additional RRsets trimmed whole (RFC 2181
 * §9). Anything this module does not cover exactly (a single record, a host-name target, a window of a large
 * RRset, a `--max-answers` cut, names past a pointer's reach, ids equal but for case) returns undefined and
 * the general path answers.
 */
import { foldAscii } from '../ascii.js';
import type { Name } from './name.js';
import { isSubdomain, nameKey } from './name.js';
import { CLASS_IN, RRType, metadataToTxt } from './records.js';
import { ADDR_LABEL, srvTarget } from './hosts.js';
import { parseAddress } from './ip.js';
import type { DnsInstance } from './view.js';
import type { RdataWriter } from './rr/codec.js';
import { encodeRdata } from './rr/index.js';
import { EDNS_UDP_LIMIT, Flags, HEADER_SIZE, MAX_MESSAGE, OPCODE_QUERY } from './wire.js';
import { GenerationalMemo } from './instance-memo.js';
import { durableCopy } from './durable.js';
import { type InstanceWire, ListingFactsMemo, type WireOf } from './listing-facts.js';

/** The question a listing answers, and what the reply must echo. */
export interface ListingRequest {
  readonly id: number;
  /** The request's flags word: RD and CD are echoed. */
  readonly requestFlags: number;
  /** The question as asked (name, type, class), at HEADER_SIZE in the reply. */
  readonly question: Buffer;
  readonly qtype: number;
  /** Echo an OPT; `do` copies the DO bit. */
  readonly opt: { readonly do: boolean } | undefined;
  /** Largest reply allowed (512, the EDNS size up to 1232, or 65535 on TCP). */
  readonly limit: number;
  /** `--max-answers` (0: none): a listing longer than this is the general path's. */
  readonly maxAnswers: number;
}

/** An encoded listing: the reply (a view of this module's scratch), its answer offsets and rotation. */
export interface EncodedListing {
  readonly bytes: Buffer;
  /** Offsets of each answer record then the section's end; undefined for a TC reply. */
  readonly answerOffsets: readonly number[] | undefined;
  /** Distinct orders the answer cycles through: its record count. */
  readonly rotation: number;
}

/** Address record types in the order the additional section lists them. */
const ADDRESS_FAMILIES = [RRType.A, RRType.AAAA] as const;
/** Instances per generation of the wire memo to start with (it grows to the instances listed again and again). */
const WIRE_GENERATION = 8192;
/** Type, class, TTL and RDATA length: the fixed part of a record after its owner. */
const RR_FIXED = 10;
/** An owner that is a pointer to the question name. */
const OWNER_POINTER = 2;
/** Offsets a compression pointer can reach (14 bits). */
const POINTER_LIMIT = 0x4000;
/** The OPT pseudo-record wire.ts writes (root owner, type, class, TTL, empty RDATA). */
const OPT_SIZE = 11;
// Worst case: 65535 of answers (larger goes to windows) plus one record more than the limit.
const scratch = Buffer.alloc(MAX_MESSAGE + 1024);

/** Collects RDATA octets written by the record modules (rr/): the same bytes as the response writer's. */
class OctetCollector implements RdataWriter {
  readonly parts: number[] = [];
  u8(v: number): void {
    this.parts.push(v & 0xff);
  }
  u16(v: number): void {
    this.parts.push((v >> 8) & 0xff, v & 0xff);
  }
  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  bytes(b: Uint8Array): void {
    for (const octet of b) this.parts.push(octet);
  }
  name(name: Name, compress: boolean): void {
    // Only SRV targets come here, which are never compressed (RFC 2782): labels as they are.
    if (compress) throw new Error('unreachable: listing RDATA names are not compressed');
    for (const label of name) {
      this.parts.push(label.length);
      this.bytes(label);
    }
    this.parts.push(0);
  }
}

/** Encodes service listings from memoised per-instance wire; see the module comment. */
export class ListingReplies {
  private readonly wire = new GenerationalMemo<DnsInstance, InstanceWire | null>(WIRE_GENERATION);
  /**
   * Listing facts per instances array (listing-facts.ts), each derived from its service's previous ones. The
   * facts it keeps (the arrays listed lately) keep their instances' wire alive, whatever the wire memo lets
   * go: one wire per instance of those services at most.
   */
  private readonly facts = new ListingFactsMemo();
  private readonly wireOfInstance: WireOf = (inst) => this.wireOf(inst);
  /** Labels of the domain, for the address-derived target shape `<label>.addr.<domain>`. */
  private readonly domainLabels: number;

  constructor(
    private readonly domain: Name,
    private readonly ttl: number,
  ) {
    this.domainLabels = domain.length;
  }

  /**
   * The reply listing `instances` (the eligible instances of `service`, which the question names) for
   * `request`, or undefined when the general path must answer it (see the module comment).
   */
  encode(service: string, instances: readonly DnsInstance[], request: ListingRequest): EncodedListing | undefined {
    const qtype = request.qtype;
    if (instances.length < 2) return undefined;
    const question = request.question;
    const optBytes = request.opt ? OPT_SIZE : 0;
    // Octets the reply may spend on answer records.
    const room = request.limit - HEADER_SIZE - question.length - optBytes;
    // TCP: an answer too large for one message goes to the general path's windows (answer-limit.ts).
    const udp = request.limit < MAX_MESSAGE;
    // One record per instance: a listing longer than --max-answers is the general path's (no wire built).
    const perInstance = qtype === RRType.SRV || qtype === RRType.PTR;
    if (perInstance && request.maxAnswers > 0 && instances.length > request.maxAnswers) return undefined;
    // What the answer could list, gathered once per instances array (listing-facts.ts).
    const facts = this.facts.get(service, instances, this.wireOfInstance);
    if (facts === null) return undefined;
    // The answer: which instances it lists (A/AAAA: each address once, of the asked family) and its size.
    const wires = facts.wires;
    let listed: readonly InstanceWire[] = wires;
    let answerBytes = 0;
    let rotation: number;
    if (perInstance) {
      // One record per instance. Every registration drops the listing of its service, and in a service of
      // hundreds of instances most UDP questions end in TC: the size is counted over a prefix of the wire and
      // one that already overflows settles TC, with no size or id bookkeeping for the rest. The rest only
      // adds records, so the general path sends the same TC reply: the facts say that every instance is of
      // the address-derived kind, since one the general path lists no record for (no SRV target, an id past
      // 63 octets: a store can hold what validation refuses) makes its rotation smaller than the instance
      // count, and every shape of one question shares a rotation.
      rotation = instances.length;
      // Ids that differ only in ASCII case (possible from a shared store) name one owner to the general
      // encoder's compression, which then points the second instance's SRV and TXT at the first: its path.
      const ids = qtype === RRType.PTR ? new Set<string>() : undefined;
      for (let i = 0; i < wires.length; i++) {
        const w = wires[i] as InstanceWire;
        if (ids === undefined) {
          answerBytes += OWNER_POINTER + RR_FIXED + w.srvEnd;
        } else {
          if (ids.has(w.idKey)) return undefined;
          ids.add(w.idKey);
          answerBytes += OWNER_POINTER + RR_FIXED + (w.idEnd - w.srvEnd) + OWNER_POINTER;
        }
        if (answerBytes > room && udp) return { bytes: this.truncated(request), answerOffsets: undefined, rotation };
      }
    } else {
      listed = facts.addresses(qtype);
      if (listed.length < 2) return undefined;
      answerBytes = listed.length * (OWNER_POINTER + RR_FIXED + (qtype === RRType.A ? 4 : 16));
      rotation = listed.length;
      if (request.maxAnswers > 0 && rotation > request.maxAnswers) return undefined;
    }
    if (answerBytes > room) {
      // TCP: the general path hands out windows of the RRset (answer-limit.ts). UDP: TC, no records.
      if (!udp) return undefined;
      return { bytes: this.truncated(request), answerOffsets: undefined, rotation };
    }
    const domainAt = domainOffset(question);
    if (domainAt < 0) return undefined;
    let o = writeHeader(request, false);
    scratch.set(question, o);
    o += question.length;
    const offsets = new Array<number>(rotation + 1);
    const ttl = this.ttl;
    for (let i = 0; i < rotation; i++) {
      const w = listed[i] as InstanceWire;
      offsets[i] = o;
      o = writeOwnerPointer(o, HEADER_SIZE);
      if (qtype === RRType.SRV) {
        o = writeFixed(o, RRType.SRV, ttl, w.srvEnd);
        o = copy(w.bytes, 0, w.srvEnd, o);
      } else if (qtype === RRType.PTR) {
        o = writeFixed(o, RRType.PTR, ttl, w.idEnd - w.srvEnd + OWNER_POINTER);
        o = copy(w.bytes, w.srvEnd, w.idEnd, o);
        o = writeOwnerPointer(o, HEADER_SIZE);
      } else {
        o = writeFixed(o, qtype, ttl, w.addressEnd - w.targetLabelEnd);
        o = copy(w.bytes, w.targetLabelEnd, w.addressEnd, o);
      }
    }
    offsets[rotation] = o;
    if (request.opt) o = writeOpt(o, request.opt.do);
    const additional = qtype === RRType.SRV ? wires : qtype === RRType.PTR ? wires : [];
    const end = this.writeAdditional(o, additional, qtype === RRType.PTR, domainAt, request.limit, optBytes > 0, rotation);
    if (end < 0) return undefined;
    return { bytes: scratch.subarray(0, end), answerOffsets: offsets, rotation };
  }

  /**
   * The additional section from `o`: for PTR each instance's SRV and TXT (RFC 6763 §12.1), then every target's
   * address record, A before AAAA (RFC 6763 §12.2), as many whole records as fit in `limit`; the header's
   * ARCOUNT is set here. Returns the reply's length, or -1 when a name the section points to would lie beyond
   * a pointer's reach (a large TCP reply: left to the general path).
   */
  private writeAdditional(o: number, wires: readonly InstanceWire[], ptr: boolean, domainAt: number, limit: number, opt: boolean, answers: number): number {
    // Every record here is an RRset of its own (one owner and type each), so trimming keeps the longest
    // prefix of whole records that fits; a record is written only once it is known to fit.
    let kept = 0;
    const ttl = this.ttl;
    let full = false;
    if (ptr) {
      for (const w of wires) {
        const owner = o;
        // A name past 0x3fff cannot be pointed to (RFC 1035 §4.1.4): the general encoder spells it out.
        if (owner >= POINTER_LIMIT) return -1;
        const idLength = w.idEnd - w.srvEnd;
        if (o + idLength + OWNER_POINTER + RR_FIXED + w.srvEnd > limit) {
          full = true;
          break;
        }
        o = copy(w.bytes, w.srvEnd, w.idEnd, o);
        o = writeOwnerPointer(o, HEADER_SIZE);
        o = writeFixed(o, RRType.SRV, ttl, w.srvEnd);
        o = copy(w.bytes, 0, w.srvEnd, o);
        kept++;
        const txtLength = w.txtEnd - w.addressEnd;
        if (o + OWNER_POINTER + RR_FIXED + txtLength > limit) {
          full = true;
          break;
        }
        o = writeOwnerPointer(o, owner);
        o = writeFixed(o, RRType.TXT, ttl, txtLength);
        o = copy(w.bytes, w.addressEnd, w.txtEnd, o);
        kept++;
      }
    }
    // Each target once, A records first (RFC 6763 §12.2). `addrAt`: where `addr.<domain>` was first written.
    let addrAt = 0;
    const targets = new Set<string>();
    for (const family of ADDRESS_FAMILIES) {
      if (full) break;
      for (const w of wires) {
        if (w.addressType !== family || targets.has(w.targetKey)) continue;
        const labelLength = w.targetLabelEnd - w.idEnd;
        const rdlength = w.addressEnd - w.targetLabelEnd;
        const ownerLength = labelLength + (addrAt === 0 ? 1 + ADDR_LABEL.length : 0) + OWNER_POINTER;
        if (o + ownerLength + RR_FIXED + rdlength > limit) {
          full = true;
          break;
        }
        targets.add(w.targetKey);
        o = copy(w.bytes, w.idEnd, w.targetLabelEnd, o);
        if (addrAt === 0) {
          if (o >= POINTER_LIMIT) return -1;
          addrAt = o;
          scratch[o++] = ADDR_LABEL.length;
          o += scratch.write(ADDR_LABEL, o, 'latin1');
          o = writeOwnerPointer(o, domainAt);
        } else {
          o = writeOwnerPointer(o, addrAt);
        }
        o = writeFixed(o, family, ttl, rdlength);
        o = copy(w.bytes, w.targetLabelEnd, w.addressEnd, o);
        kept++;
      }
    }
    scratch.writeUInt16BE(answers, 6);
    scratch.writeUInt16BE(kept + (opt ? 1 : 0), 10);
    return o;
  }

  /** The TC reply: header and question (and OPT), no records (RFC 2181 §9). */
  private truncated(request: ListingRequest): Buffer {
    let o = writeHeader(request, true);
    scratch.set(request.question, o);
    o += request.question.length;
    if (request.opt) o = writeOpt(o, request.opt.do);
    return scratch.subarray(0, o);
  }

  /** The memoised wire of `inst`; null when its listing records are not the address-derived kind. */
  private wireOf(inst: DnsInstance): InstanceWire | null {
    const known = this.wire.get(inst);
    if (known !== undefined) return known;
    const built = this.build(inst);
    this.wire.set(inst, built);
    return built;
  }

  private build(inst: DnsInstance): InstanceWire | null {
    const target = srvTarget(inst, this.domain);
    const parsed = parseAddress(inst.address);
    const idOctets = Buffer.from(inst.id, 'utf8');
    // The authority's shape test for an address-derived target (its address record is the instance's own), with
    // `addr` as this module writes it (a host name may spell it in another case: the general path keeps that).
    const derived = target !== undefined && target.length === this.domainLabels + 2 && isSubdomain(target, this.domain) &&
      (target[1] as Buffer).toString('latin1') === ADDR_LABEL;
    if (!derived || parsed === undefined || idOctets.length === 0 || idOctets.length > 63) return null;
    const srv = new OctetCollector();
    encodeRdata({ kind: 'SRV', priority: inst.priority, weight: inst.weight, port: inst.port, target }, srv);
    const txt = new OctetCollector();
    encodeRdata({ kind: 'TXT', strings: metadataToTxt(inst.metadata) }, txt);
    const label = target[0] as Buffer;
    const parts = [...srv.parts, idOctets.length, ...idOctets, label.length, ...label, ...parsed.octets, ...txt.parts];
    const srvEnd = srv.parts.length;
    const idEnd = srvEnd + 1 + idOctets.length;
    const targetLabelEnd = idEnd + 1 + label.length;
    const addressEnd = targetLabelEnd + parsed.octets.length;
    return {
      bytes: durableCopy(Uint8Array.from(parts)),
      srvEnd,
      idEnd,
      targetLabelEnd,
      addressEnd,
      txtEnd: addressEnd + txt.parts.length,
      addressType: parsed.family === 4 ? RRType.A : RRType.AAAA,
      address: inst.address,
      targetKey: nameKey(target),
      idKey: foldAscii(inst.id),
    };
  }
}

/** Where the domain starts in the reply: the question name is `_S._P.<domain>`, two labels before it. */
function domainOffset(question: Buffer): number {
  const first = question[0] ?? 0;
  const second = question[first + 1] ?? 0;
  const at = first + 1 + second + 1;
  return at < question.length - 4 && HEADER_SIZE + at < 0x4000 ? HEADER_SIZE + at : -1;
}

/** The header (wire.ts's writeHeader for a NOERROR, AA answer to QUERY); counts are set by the caller. */
function writeHeader(request: ListingRequest, tc: boolean): number {
  let flags = Flags.QR | Flags.AA | (OPCODE_QUERY << 11) | (request.requestFlags & (Flags.RD | Flags.CD));
  if (tc) flags |= Flags.TC;
  scratch.writeUInt16BE(request.id, 0);
  scratch.writeUInt16BE(flags, 2);
  scratch.writeUInt16BE(1, 4);
  scratch.writeUInt16BE(0, 6);
  scratch.writeUInt16BE(0, 8);
  scratch.writeUInt16BE(request.opt ? 1 : 0, 10);
  return HEADER_SIZE;
}

/** A compression pointer to `target` (RFC 1035 §4.1.4). */
function writeOwnerPointer(o: number, target: number): number {
  scratch[o] = 0xc0 | (target >> 8);
  scratch[o + 1] = target & 0xff;
  return o + 2;
}

/** Type, class IN, TTL and RDATA length. */
function writeFixed(o: number, type: number, ttl: number, rdlength: number): number {
  scratch.writeUInt16BE(type, o);
  scratch.writeUInt16BE(CLASS_IN, o + 2);
  scratch.writeUInt32BE(ttl >>> 0, o + 4);
  scratch.writeUInt16BE(rdlength, o + 8);
  return o + RR_FIXED;
}

/** The OPT record as wire.ts writes it: our UDP size, no extended rcode, version 0, DO echoed. */
function writeOpt(o: number, dnssecOk: boolean): number {
  scratch[o] = 0;
  scratch.writeUInt16BE(RRType.OPT, o + 1);
  scratch.writeUInt16BE(EDNS_UDP_LIMIT, o + 3);
  scratch[o + 5] = 0;
  scratch[o + 6] = 0;
  scratch.writeUInt16BE(dnssecOk ? 0x8000 : 0, o + 7);
  scratch.writeUInt16BE(0, o + 9);
  return o + OPT_SIZE;
}

/** Copy `from[start, end)` to the scratch at `o`. */
function copy(from: Buffer, start: number, end: number, o: number): number {
  from.copy(scratch, o, start, end);
  return o + end - start;
}
