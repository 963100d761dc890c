/**
 * The DNS wire codec Beacon answers with: a question parser that reads straight from the request Buffer
 * (no full decode, no allocation beyond a reused scratch), and a response encoder that gets right what
 * dns2's encoder gets wrong: no compression inside SRV RDATA (RFC 2782, RFC 3597 §4), TXT string lengths
 * in one octet per ≤255-octet string (RFC 1035 §3.3.14), labels as raw octets (UTF-8 and dots intact),
 * EDNS(0) OPT (RFC 6891) and truncation that never leaves a partial answer section (RFC 2181 §9).
 */
import { foldAscii, foldOctet } from '../ascii.js';
import { FNV_OFFSET, FNV_PRIME, textHash } from '../text-hash.js';
import { type Name, type Label, foldedWireName, namesEqual, suffixKeys, MAX_NAME_OCTETS } from './name.js';
import { type ResourceRecord, RRType, CLASS_IN } from './records.js';
import type { RdataWriter } from './rr/codec.js';
import { encodeRdata } from './rr/index.js';

/** Size of the fixed header (RFC 1035 §4.1.1). */
export const HEADER_SIZE = 12;
/** UDP payload without EDNS (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_LIMIT = 512;
/** Largest UDP payload we accept or advertise: the DNS flag day 2020 figure, avoids IP fragmentation. */
export const EDNS_UDP_LIMIT = 1232;
/** Largest DNS message (TCP length prefix is 16 bits, RFC 7766 §8). */
export const MAX_MESSAGE = 65535;

/** Header flag bits (RFC 1035 §4.1.1, RFC 2535 §6.1 for AD/CD). */
export const Flags = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** Opcodes (RFC 1035 §4.1.1). */
export const OPCODE_QUERY = 0;

/** Response codes (values from RFC 1035 §4.1.1 and RFC 6891 §9). */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

/** What the parser concluded about a message. */
export const enum ParseStatus {
  /** A well-formed standard query with one question. */
  Ok = 0,
  /** Not answerable: shorter than a header, or a response (QR set). */
  Drop = 1,
  /** Malformed, but the header is readable: answer FORMERR (RFC 1035 §4.1.1). */
  FormErr = 2,
  /** Opcode other than QUERY: answer NOTIMP. */
  NotImp = 3,
}

/**
 * The parsed request, reused across requests (the server handles one message at a time, synchronously).
 * `key` holds the case-folded question name in wire form followed by the qtype: the cache key.
 */
export class ParsedQuery {
  id = 0;
  flags = 0;
  opcode = 0;
  /** Offset just past the question name's root octet, 0 when no question was parsed. */
  qnameEnd = 0;
  qtype = 0;
  qclass = 0;
  hasOpt = false;
  optPayload = 0;
  optVersion = 0;
  optDo = false;
  /** Scratch holding the folded question name and qtype; `keyLength` octets are valid. */
  readonly key = Buffer.alloc(MAX_NAME_OCTETS + 2);
  keyLength = 0;
  /** `questionKeyHash` of the key, computed while it is written. */
  keyHash = 0;

  /** Offset just past the question section, 0 when none was parsed. */
  get questionEnd(): number {
    return this.qnameEnd === 0 ? 0 : this.qnameEnd + 4;
  }
}

/**
 * The hash `parseQuery` leaves in `ParsedQuery.keyHash`, of a cache key held as a latin1 string (one char per
 * octet): lets the response cache find a question without making a string of its key on every request.
 * `parseQuery` computes the same FNV-1a over the question's octets as they are read.
 */
export function questionKeyHash(key: string): number {
  return textHash(key);
}

/**
 * The 16-bit big-endian number at `msg[o, o + 2)`, which the caller has checked lies inside the message.
 * Inlined where Buffer#readUInt16BE (argument validation, bounds check) is a call of its own per field.
 */
function u16(msg: Buffer, o: number): number {
  return ((msg[o] ?? 0) << 8) | (msg[o + 1] ?? 0);
}

/** Skip a (possibly compressed) name inside a record; returns the offset after it, or -1 if malformed. */
function skipName(msg: Buffer, offset: number, end: number): number {
  let o = offset;
  for (let guard = 0; guard < 128; guard++) {
    if (o >= end) return -1;
    const len = msg[o] ?? 0;
    if (len === 0) return o + 1;
    if ((len & 0xc0) === 0xc0) return o + 2 <= end ? o + 2 : -1;
    if ((len & 0xc0) !== 0) return -1; // 0x40 / 0x80: extended label types (RFC 6891 §5), unsupported
    o += len + 1;
  }
  return -1;
}

/**
 * Parse a request in place. Fills `q` and returns what to do. Only the header, the single question and
 * the record framing are read; the OPT record (RFC 6891 §6.1) is found and checked in the additional section.
 * The message is `msg[0, end)`: a batched transport's receive slot is longer than the datagram in it.
 */
export function parseQuery(msg: Buffer, q: ParsedQuery, end: number = msg.length): ParseStatus {
  q.qnameEnd = 0;
  q.hasOpt = false;
  q.keyLength = 0;
  if (end < HEADER_SIZE || end > msg.length) return ParseStatus.Drop;
  q.id = u16(msg, 0);
  q.flags = u16(msg, 2);
  if (q.flags & Flags.QR) return ParseStatus.Drop; // never answer a response (no reflection loops)
  q.opcode = (q.flags >> 11) & 0xf;
  const qdcount = u16(msg, 4);
  const ancount = u16(msg, 6);
  const nscount = u16(msg, 8);
  const arcount = u16(msg, 10);
  if (q.opcode !== OPCODE_QUERY) return ParseStatus.NotImp;
  if (qdcount !== 1) return ParseStatus.FormErr;

  // The question name: plain labels only (a pointer in the first name can only point at the header).
  let o = HEADER_SIZE;
  let k = 0;
  let h = FNV_OFFSET;
  const key = q.key;
  for (;;) {
    if (o >= end) return ParseStatus.FormErr;
    const len = msg[o] ?? 0;
    if (len === 0) break;
    if (len > 63) return ParseStatus.FormErr;
    if (o + 1 + len >= end || k + len + 2 > MAX_NAME_OCTETS) return ParseStatus.FormErr;
    key[k++] = len;
    h = Math.imul(h ^ len, FNV_PRIME);
    for (let i = 1; i <= len; i++) {
      const folded = foldOctet(msg[o + i] ?? 0);
      key[k++] = folded;
      h = Math.imul(h ^ folded, FNV_PRIME);
    }
    o += len + 1;
  }
  key[k++] = 0;
  o += 1;
  if (o + 4 > end) return ParseStatus.FormErr;
  q.qtype = u16(msg, o);
  q.qclass = u16(msg, o + 2);
  key[k++] = q.qtype >> 8;
  key[k++] = q.qtype & 0xff;
  h = Math.imul(h ^ 0, FNV_PRIME);
  h = Math.imul(h ^ (q.qtype >> 8), FNV_PRIME);
  h = Math.imul(h ^ (q.qtype & 0xff), FNV_PRIME);
  q.keyLength = k;
  q.keyHash = h;
  q.qnameEnd = o;
  o += 4;

  // Answer, authority and additional records: check framing, pick out the OPT.
  const records = ancount + nscount + arcount;
  for (let r = 0; r < records; r++) {
    const nameStart = o;
    o = skipName(msg, o, end);
    if (o < 0 || o + 10 > end) return ParseStatus.FormErr;
    const type = u16(msg, o);
    const rdlength = u16(msg, o + 8);
    const rdata = o + 10;
    if (rdata + rdlength > end) return ParseStatus.FormErr;
    if (type === RRType.OPT) {
      // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
      if (q.hasOpt || r < ancount + nscount || o !== nameStart + 1) return ParseStatus.FormErr;
      for (let p = rdata; p < rdata + rdlength; ) {
        if (p + 4 > rdata + rdlength) return ParseStatus.FormErr;
        p += 4 + u16(msg, p + 2);
        if (p > rdata + rdlength) return ParseStatus.FormErr;
      }
      q.hasOpt = true;
      q.optPayload = u16(msg, o + 2);
      q.optVersion = msg[o + 5] ?? 0;
      q.optDo = ((msg[o + 6] ?? 0) & 0x80) !== 0;
    }
    o = rdata + rdlength;
  }
  if (o !== end) return ParseStatus.FormErr; // trailing octets: not a message we understand
  if (q.qtype === RRType.OPT) return ParseStatus.FormErr; // OPT is a pseudo-RR, never a question (RFC 6891 §6.1.1)
  return ParseStatus.Ok;
}

/** Everything needed to encode a response. */
export interface ResponseParts {
  readonly id: number;
  readonly opcode: number;
  readonly aa: boolean;
  /** The request's RD and CD bits are copied for QUERY (RFC 1035 §4.1.1, RFC 6840 §5.9), never for other opcodes. */
  readonly requestFlags: number;
  /** Full 12-bit rcode: the upper 8 bits travel in the OPT (RFC 6891 §6.1.3). */
  readonly rcode: number;
  /** Raw question bytes (name as asked + type + class), echoed verbatim; empty for none. */
  readonly question: Buffer;
  readonly answer: readonly ResourceRecord[];
  readonly authority: readonly ResourceRecord[];
  readonly additional: readonly ResourceRecord[];
  /** Echo an OPT (the request had one); `do` copies the DO bit (RFC 3225 §3). */
  readonly opt?: { readonly do: boolean } | undefined;
  /** Largest message allowed (512, the client's EDNS size capped at 1232, or 65535 on TCP). */
  readonly limit: number;
  /**
   * Make the answer records position-independent: no later name points into the answer section, so the
   * cache can rotate the records by moving their bytes (pointers into the question stay valid).
   */
  readonly rotatable?: boolean;
  /**
   * The caller copies the bytes before anything else is encoded (the response cache does): they may then be a
   * view of the encoder's scratch, saving a Buffer of their own (an ArrayBuffer and its backing store each,
   * the largest part of encoding a small reply).
   */
  readonly transient?: boolean;
}

/** An encoded response and what had to be left out. */
export interface EncodedResponse {
  readonly bytes: Buffer;
  /** TC was set: the answer did not fit and the answer and authority sections were left empty. */
  readonly truncated: boolean;
  /** Some additional RRsets were left out to fit (no TC needed, RFC 2181 §9). */
  readonly trimmed: boolean;
  /** For a rotatable, untruncated answer: the offset of each answer record, then the section's end. */
  readonly answerOffsets?: readonly number[];
}

// One scratch for all encodes: responses are built synchronously, then copied out.
const scratch = Buffer.alloc(MAX_MESSAGE + 1024);

/**
 * Writes records into `scratch` with RFC 1035 §4.1.4 compression for owner names and RFC 1035 RDATA names;
 * each type's RDATA is written by its module (rr/).
 */
class Writer implements RdataWriter {
  offset = 0;
  private readonly pointers = new Map<string, number>();
  /** While set, names written are not offered as compression targets (see `rotatable`). */
  frozen = false;

  /** Would `n` more octets overflow the scratch? (The limit itself is checked by the caller.) */
  private room(n: number): void {
    if (this.offset + n > scratch.length) throw OVERFLOW;
  }

  u8(v: number): void {
    this.room(1);
    scratch[this.offset++] = v & 0xff;
  }
  u16(v: number): void {
    this.room(2);
    scratch.writeUInt16BE(v & 0xffff, this.offset);
    this.offset += 2;
  }
  u32(v: number): void {
    this.room(4);
    scratch.writeUInt32BE(v >>> 0, this.offset);
    this.offset += 4;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    scratch.set(b, this.offset);
    this.offset += b.length;
  }

  /** Remember where the first `upto` suffixes of a name written at `start` begin, so later names can point there. */
  remember(name: Name, start: number, upto = name.length, keys = suffixKeys(name)): void {
    if (this.frozen) return;
    let at = start;
    for (let i = 0; i < upto && at < 0x4000; i++) {
      const key = keys[i] as string;
      if (!this.pointers.has(key)) this.pointers.set(key, at);
      at += (name[i]?.length ?? 0) + 1;
    }
  }

  /**
   * Offer the question's name (raw bytes at HEADER_SIZE) as compression target. Its suffix keys are slices of
   * one folded latin1 string of the wire name: no label objects, no per-label key work.
   */
  rememberQuestion(question: Buffer, nameEnd: number): void {
    const folded = foldAscii(question.toString('latin1', 0, nameEnd));
    for (let o = 0; o < nameEnd - 1 && HEADER_SIZE + o < 0x4000; o += (question[o] ?? 0) + 1) {
      const key = folded.slice(o);
      if (!this.pointers.has(key)) this.pointers.set(key, HEADER_SIZE + o);
    }
  }

  /** Write a name, compressing against earlier names when `compress` (never inside SRV RDATA). */
  name(name: Name, compress: boolean): void {
    const start = this.offset;
    const keys = compress ? suffixKeys(name) : undefined;
    for (let i = 0; i < name.length; i++) {
      if (keys) {
        const at = this.pointers.get(keys[i] as string);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          this.remember(name, start, i, keys);
          return;
        }
      }
      const label = name[i] as Label;
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
    if (keys) this.remember(name, start, name.length, keys);
  }

  /** One resource record: owner, type, class, TTL, then RDATA and its length. */
  record(rr: ResourceRecord): void {
    this.name(rr.name, true);
    this.u16(rr.type);
    this.u16(CLASS_IN);
    this.u32(rr.ttl);
    const lengthAt = this.offset;
    this.u16(0);
    encodeRdata(rr.data, this);
    scratch.writeUInt16BE(this.offset - lengthAt - 2, lengthAt);
  }
}

/**
 * Copy the encoded message out of the scratch into its own memory. Not from Buffer's shared 8 KiB pool:
 * cached replies live long, and one of them would pin a whole pool slab that the short-lived reply copies
 * of the hot path also fill (measured: ~9 KiB of RSS per cached answer with the pool, ~1 KiB without).
 */
function copyOut(length: number, transient: boolean | undefined): Buffer {
  if (transient === true) return scratch.subarray(0, length);
  const out = Buffer.allocUnsafeSlow(length);
  scratch.copy(out, 0, 0, length);
  return out;
}

/** Thrown by the writer when a message would outgrow the scratch (only possible on TCP-sized answers). */
class MessageOverflow extends Error {}
const OVERFLOW = new MessageOverflow('DNS message exceeds the scratch buffer');

function writeHeader(w: Writer, p: ResponseParts, tc: boolean, counts: [number, number, number, number]): void {
  // RD and CD are QUERY's flags (RFC 1035 §4.1.1, RFC 4035 §3.2.2): a reply to any other opcode carries only
  // QR, the opcode and the rcode, so nothing a client set for an operation we do not implement is echoed.
  const echoed = (p.opcode & 0xf) === OPCODE_QUERY ? p.requestFlags & (Flags.RD | Flags.CD) : 0;
  let flags = Flags.QR | ((p.opcode & 0xf) << 11) | (p.rcode & 0xf) | echoed;
  if (p.aa) flags |= Flags.AA;
  if (tc) flags |= Flags.TC;
  w.u16(p.id);
  w.u16(flags);
  for (const c of counts) w.u16(c);
}

function writeOpt(w: Writer, p: ResponseParts): void {
  if (!p.opt) return;
  w.u8(0); // root owner
  w.u16(RRType.OPT);
  w.u16(EDNS_UDP_LIMIT); // our own receive size (RFC 6891 §6.2.5)
  w.u8(p.rcode >> 4); // extended rcode, upper 8 bits
  w.u8(0); // version 0: the only one we implement
  w.u16(p.opt.do ? 0x8000 : 0);
  w.u16(0); // no options
}

/** Offsets after each complete RRset of a section (same owner and type), for cutting at RRset boundaries. */
function sameRRset(a: ResourceRecord | undefined, b: ResourceRecord): boolean {
  return a !== undefined && a.type === b.type && namesEqual(a.name, b.name);
}

/**
 * Encode a response within `limit` octets. If it does not fit, whole additional RRsets are dropped
 * (no TC, RFC 2181 §9); if answer and authority still do not fit, the reply carries only the question
 * (and OPT) with TC set, so a client never takes a partial answer for the whole (RFC 2181 §9, RFC 7766 §3).
 */
export function encodeResponse(p: ResponseParts): EncodedResponse {
  const w = new Writer();
  const qd = p.question.length > 0 ? 1 : 0;
  writeHeader(w, p, false, [qd, p.answer.length, p.authority.length, p.additional.length + (p.opt ? 1 : 0)]);
  if (qd) {
    const nameEnd = p.question.length - 4;
    w.bytes(p.question);
    w.rememberQuestion(p.question, nameEnd);
  }
  const offsets = p.rotatable ? new Array<number>(p.answer.length + 1).fill(0) : undefined;
  try {
    w.frozen = offsets !== undefined;
    for (let i = 0; i < p.answer.length; i++) {
      if (offsets) offsets[i] = w.offset;
      w.record(p.answer[i] as ResourceRecord);
      // Past the limit the answer cannot fit: stop here rather than write the rest of a large RRset.
      if (w.offset > p.limit) return truncatedResponse(p);
    }
    if (offsets) offsets[p.answer.length] = w.offset;
    w.frozen = false;
    for (const rr of p.authority) w.record(rr);
    writeOpt(w, p);
  } catch (err) {
    if (err instanceof MessageOverflow) return truncatedResponse(p);
    throw err;
  }
  if (w.offset > p.limit) return truncatedResponse(p);
  let keptEnd = w.offset;
  let kept = 0;
  let trimmed = false;
  for (let i = 0; i < p.additional.length; i++) {
    const rr = p.additional[i] as ResourceRecord;
    try {
      w.record(rr);
    } catch (err) {
      if (!(err instanceof MessageOverflow)) throw err;
      trimmed = true;
      break;
    }
    const next = p.additional[i + 1];
    if (next === undefined || !sameRRset(rr, next)) {
      if (w.offset > p.limit) {
        trimmed = true;
        break;
      }
      keptEnd = w.offset;
      kept = i + 1;
    }
  }
  if (trimmed) scratch.writeUInt16BE(kept + (p.opt ? 1 : 0), 10);
  return { bytes: copyOut(keptEnd, p.transient), truncated: false, trimmed, ...(offsets ? { answerOffsets: offsets } : {}) };
}

function truncatedResponse(p: ResponseParts): EncodedResponse {
  const w = new Writer();
  const qd = p.question.length > 0 ? 1 : 0;
  writeHeader(w, p, true, [qd, 0, 0, p.opt ? 1 : 0]);
  w.bytes(p.question);
  writeOpt(w, p);
  return { bytes: copyOut(w.offset, p.transient), truncated: true, trimmed: false };
}

/** The labels of an uncompressed question name (as asked, case preserved). */
export function questionName(question: Buffer, nameEnd: number): Name {
  const labels: Label[] = [];
  let o = 0;
  while (o < nameEnd) {
    const len = question[o] ?? 0;
    if (len === 0) break;
    labels.push(question.subarray(o + 1, o + 1 + len));
    o += len + 1;
  }
  return labels;
}

/**
 * The labels of the parsed question's folded name, from the query's key scratch; `key` is that key as the
 * cache stores it (a latin1 string of the same octets: the folded name, then the type), which gives the
 * name's lookup keys for free (name.ts, `foldedWireName`).
 */
export function foldedQuestionName(q: ParsedQuery, key: string): Name {
  const nameEnd = q.keyLength - 2;
  return foldedWireName(Buffer.from(q.key.subarray(0, nameEnd)), key.slice(0, nameEnd));
}

/** Records encoded one block after another, each block movable anywhere after the question. */
export interface RecordBlocks {
  /** The blocks' bytes, back to back. */
  readonly bytes: Buffer;
  /** Where each block starts in `bytes`, then the end: blocks + 1 offsets. */
  readonly ends: Uint32Array;
}

/**
 * Encode groups of records as position-independent blocks for a reply that starts with `question` (name as
 * asked + type + class, at offset 12): names inside a block compress only against the question, never
 * against other records, so any selection of blocks can follow the question in any order and stay valid
 * (RFC 1035 §4.1.4 pointers only ever point backwards into the question). Sizes are unbounded: each block is
 * written at the same place of the scratch and copied out, so a 5,000-record RRset needs no 64 KiB message.
 */
export function encodeRecordBlocks(question: Buffer, blocks: readonly (readonly ResourceRecord[])[]): RecordBlocks {
  const w = new Writer();
  const base = HEADER_SIZE + question.length;
  scratch.fill(0, 0, HEADER_SIZE);
  w.offset = HEADER_SIZE;
  w.bytes(question);
  if (question.length > 0) w.rememberQuestion(question, question.length - 4);
  w.frozen = true;
  const ends = new Uint32Array(blocks.length + 1);
  const parts: Buffer[] = [];
  let total = 0;
  blocks.forEach((block, i) => {
    ends[i] = total;
    w.offset = base;
    for (const rr of block) w.record(rr);
    parts.push(Buffer.from(scratch.subarray(base, w.offset)));
    total += w.offset - base;
  });
  ends[blocks.length] = total;
  const bytes = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const part of parts) {
    part.copy(bytes, at);
    at += part.length;
  }
  return { bytes, ends };
}
