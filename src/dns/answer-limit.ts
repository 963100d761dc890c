/**
 * Answers handed out in windows: a subset of one large RRset per reply, the subsets rotating so that every
 * record is handed out in turn. Two things ask for a window:
 * - `maxAnswers` (like Consul's `a_record_limit`): at most N SRV, A, AAAA or PTR records per reply, over UDP
 *   and TCP alike, so a client sees a few instances rather than a reply too big for UDP.
 * - TCP, when the whole RRset cannot fit in 65,535 octets (RFC 7766 §8): the largest window that fits, without
 *   TC. RFC 2181 §9 reserves TC for "the answer could not be sent in full, ask again over TCP"; over TCP there
 *   is no bigger transport to ask, so a reply that is complete as a subset is more useful than an empty one
 *   (the same policy as Consul and most load-balancing DNS servers). Over UDP a reply that does not fit still
 *   carries TC and an empty answer section, so a client never mistakes a partial UDP answer for the whole.
 *
 * The RRset is encoded once (per EDNS shape) into position-independent blocks (wire.ts `encodeRecordBlocks`),
 * and each reply is assembled from [header + question][a window of answer records][authority][OPT][the
 * additional RRsets that belong to those records], so a rotation step costs copies, not an encode. The
 * additional section comes last and is cut first when room is short: RFC 6763 §12 makes it optional.
 */
import { type Name, nameKey } from './name.js';
import { type ResourceRecord, RRType } from './records.js';
import { type AuthorityAnswer } from './authority.js';
import { Flags, HEADER_SIZE, encodeRecordBlocks, encodeResponse, type ResponseParts } from './wire.js';

/** Record types `maxAnswers` applies to: those that list instances or their addresses. */
const LIMITED_TYPES = new Set<number>([RRType.SRV, RRType.A, RRType.AAAA, RRType.PTR]);

/** The service enumeration name's first labels: a list of services, which `maxAnswers` does not cut. */
const ENUMERATION_LABELS = ['_services', '_dns-sd', '_udp'];

/** A reply whose answer RRset is handed out a window at a time; cached per EDNS shape. */
export interface WindowedReply {
  /** Header (counts patched per reply) and question. */
  readonly head: Buffer;
  /** The answer records, position-independent, back to back; `answerEnds[i]` is where record i starts. */
  readonly answers: Buffer;
  readonly answerEnds: Uint32Array;
  /** Authority records, then the OPT record when the request had one. */
  readonly tail: Buffer;
  readonly authorityCount: number;
  readonly hasOpt: boolean;
  /** Additional RRsets as blocks; `extraCounts[b]` records in block b. */
  readonly extras: Buffer;
  readonly extraEnds: Uint32Array;
  readonly extraCounts: Uint16Array;
  /** The additional blocks that belong to answer record i: `companions[companionStart[i] .. companionStart[i+1])`. */
  readonly companionStart: Uint32Array;
  readonly companions: Uint32Array;
  /** Scratch for de-duplicating blocks within one reply: the reply's serial per block. */
  readonly seen: Uint32Array;
  /** Largest reply allowed. */
  readonly limit: number;
  /** Most answer records per reply. */
  readonly perReply: number;
  /** Shrink the window until it fits (TCP); otherwise a window that does not fit gives `truncated`. */
  readonly shrinkToFit: boolean;
  /** Header, question and OPT with TC set: the reply when not even one window fits. */
  readonly truncated: Buffer;
  /** Octets held, for the cache's byte budget. */
  readonly byteLength: number;
}

/** One assembled reply and how many answer records it hands out (0: truncated). */
export interface WindowReply {
  readonly bytes: Buffer;
  readonly count: number;
}

/** Whether `maxAnswers` limits this answer: one RRset of SRV/A/AAAA/PTR records, longer than the limit. */
export function exceedsMaxAnswers(answer: AuthorityAnswer, maxAnswers: number | undefined): boolean {
  const first = answer.answer[0];
  if (!maxAnswers || maxAnswers <= 0 || answer.rotation <= maxAnswers || !first) return false;
  if (!LIMITED_TYPES.has(first.type)) return false;
  return !(first.type === RRType.PTR && isEnumeration(first.name));
}

function isEnumeration(name: Name): boolean {
  return ENUMERATION_LABELS.every((label, i) => name[i]?.toString('latin1').toLowerCase() === label);
}

/** The name an answer record leads a client to next (RFC 6763 §12, RFC 2782, RFC 1035 §3.3.9). */
function targetOf(rr: ResourceRecord): Name | undefined {
  const d = rr.data;
  if (d.kind === 'PTR' || d.kind === 'SRV' || d.kind === 'NS') return d.target;
  if (d.kind === 'MX') return d.exchange;
  return undefined;
}

/** Group additional records into RRsets (owner + type), first appearance order. */
function additionalRRsets(additional: readonly ResourceRecord[]): ResourceRecord[][] {
  const byKey = new Map<string, ResourceRecord[]>();
  for (const rr of additional) {
    const key = `${nameKey(rr.name)}/${rr.type}`;
    const set = byKey.get(key);
    if (set) set.push(rr);
    else byKey.set(key, [rr]);
  }
  return [...byKey.values()];
}

/**
 * Which additional RRsets belong to each answer record: those owned by its target, and those owned by their
 * targets in turn (PTR → SRV/TXT of the instance → addresses of the SRV target, RFC 6763 §12.1).
 */
function companionsOf(answer: readonly ResourceRecord[], sets: readonly ResourceRecord[][]): { start: Uint32Array; list: Uint32Array } {
  const byOwner = new Map<string, number[]>();
  sets.forEach((set, b) => {
    const key = nameKey((set[0] as ResourceRecord).name);
    const list = byOwner.get(key);
    if (list) list.push(b);
    else byOwner.set(key, [b]);
  });
  const start = new Uint32Array(answer.length + 1);
  const list: number[] = [];
  answer.forEach((rr, i) => {
    start[i] = list.length;
    const target = targetOf(rr);
    if (!target) return;
    const own = byOwner.get(nameKey(target)) ?? [];
    const chosen = new Set<number>(own);
    for (const b of own) {
      for (const member of sets[b] ?? []) {
        const next = targetOf(member);
        if (next) for (const c of byOwner.get(nameKey(next)) ?? []) chosen.add(c);
      }
    }
    list.push(...chosen);
  });
  start[answer.length] = list.length;
  return { start, list: Uint32Array.from(list) };
}

/** What `buildWindowedReply` needs besides the answer: the request's header fields and question. */
export interface WindowedReplyOptions {
  readonly parts: Omit<ResponseParts, 'answer' | 'authority' | 'additional' | 'rotatable'>;
  /** Most answer records per reply (`maxAnswers`), or 0 for no count limit. */
  readonly maxAnswers: number;
  /** Cut the window to fit (TCP) instead of answering TC. */
  readonly shrinkToFit: boolean;
}

/** Encode an answer (one RRset) once for windowed replies. */
export function buildWindowedReply(answer: AuthorityAnswer, options: WindowedReplyOptions): WindowedReply {
  const { parts } = options;
  const question = parts.question;
  const bare = encodeResponse({ ...parts, answer: [], authority: [], additional: [] }).bytes;
  const headLength = HEADER_SIZE + question.length;
  const head = Buffer.from(bare.subarray(0, headLength));
  const opt = bare.subarray(headLength);
  const authority = encodeRecordBlocks(question, [answer.authority]);
  const tail = Buffer.concat([authority.bytes, opt]);
  const answers = encodeRecordBlocks(question, answer.answer.map((rr) => [rr]));
  const sets = additionalRRsets(answer.additional);
  const extras = encodeRecordBlocks(question, sets);
  const { start, list } = companionsOf(answer.answer, sets);
  const truncated = Buffer.concat([head, opt]);
  truncated[2] = (truncated[2] ?? 0) | (Flags.TC >> 8);
  truncated.writeUInt16BE(parts.opt ? 1 : 0, 10);
  const n = answer.answer.length;
  return {
    head,
    answers: answers.bytes,
    answerEnds: answers.ends,
    tail,
    authorityCount: answer.authority.length,
    hasOpt: parts.opt !== undefined,
    extras: extras.bytes,
    extraEnds: extras.ends,
    extraCounts: Uint16Array.from(sets, (s) => s.length),
    companionStart: start,
    companions: list,
    seen: new Uint32Array(sets.length),
    limit: parts.limit,
    perReply: options.maxAnswers > 0 ? Math.min(options.maxAnswers, n) : n,
    shrinkToFit: options.shrinkToFit,
    truncated,
    byteLength: head.length + answers.bytes.length + tail.length + extras.bytes.length + truncated.length + 4 * (2 * n + list.length + 3 * sets.length),
  };
}

/** Octets of the `count` answer records starting at `step`, wrapping around the end. */
function windowLength(ends: Uint32Array, n: number, step: number, count: number): number {
  const stop = step + count;
  if (stop <= n) return (ends[stop] ?? 0) - (ends[step] ?? 0);
  return (ends[n] ?? 0) - (ends[step] ?? 0) + (ends[stop - n] ?? 0);
}

let replySerial = 0;

/**
 * The reply handing out the window that starts at answer record `step`: `perReply` records, or on TCP as many
 * as fit (a binary search over the window length, which grows with the count). ID, RD/CD and the question's
 * case are the caller's to patch, as for every cached reply.
 */
export function assembleWindow(reply: WindowedReply, step: number): WindowReply {
  const ends = reply.answerEnds;
  const n = ends.length - 1;
  const fixed = reply.head.length + reply.tail.length;
  let count = reply.perReply;
  if (fixed + windowLength(ends, n, step, count) > reply.limit) {
    if (!reply.shrinkToFit) return { bytes: Buffer.from(reply.truncated), count: 0 };
    let fits = 0;
    let over = count;
    while (over - fits > 1) {
      const mid = (fits + over) >>> 1;
      if (fixed + windowLength(ends, n, step, mid) <= reply.limit) fits = mid;
      else over = mid;
    }
    count = fits;
    if (count === 0) return { bytes: Buffer.from(reply.truncated), count: 0 };
  }
  let size = fixed + windowLength(ends, n, step, count);
  // The additional RRsets of the records in the window, each once, while they fit (RFC 2181 §9: no TC).
  const serial = (replySerial = (replySerial + 1) >>> 0 || 1);
  const chosen: number[] = [];
  let extraRecords = 0;
  for (let k = 0; k < count; k++) {
    const i = step + k < n ? step + k : step + k - n;
    for (let c = reply.companionStart[i] ?? 0; c < (reply.companionStart[i + 1] ?? 0); c++) {
      const b = reply.companions[c] ?? 0;
      if (reply.seen[b] === serial) continue;
      reply.seen[b] = serial;
      const length = (reply.extraEnds[b + 1] ?? 0) - (reply.extraEnds[b] ?? 0);
      if (size + length > reply.limit) continue;
      size += length;
      chosen.push(b);
      extraRecords += reply.extraCounts[b] ?? 0;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = reply.head.copy(out, 0);
  const stop = step + count;
  at += reply.answers.copy(out, at, ends[step], ends[Math.min(stop, n)]);
  if (stop > n) at += reply.answers.copy(out, at, 0, ends[stop - n]);
  at += reply.tail.copy(out, at);
  for (const b of chosen) at += reply.extras.copy(out, at, reply.extraEnds[b], reply.extraEnds[b + 1]);
  out.writeUInt16BE(count, 6);
  out.writeUInt16BE(reply.authorityCount, 8);
  out.writeUInt16BE(extraRecords + (reply.hasOpt ? 1 : 0), 10);
  return { bytes: out, count };
}
