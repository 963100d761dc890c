/**
 * The DNS counters: the request pipeline and the transports (UDP, TCP) report what happened through
 * methods, and `snapshot` reads them out in the DnsStats shape the daemon and /metrics expose.
 */
import { Packet } from 'dns2';
import { AnswerLatencySampler } from './answer-latency.js';

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
  /** Messages not answered: too short for a header, responses (QR set), source port 0. */
  readonly dropped: number;
  /** Replies sent with TC set. */
  readonly truncated: number;
  /** Requests whose handling threw (answered SERVFAIL). */
  readonly internalErrors: number;
  /** TCP connections accepted since start, and open now. */
  readonly tcpConnections: number;
  readonly tcpOpen: number;
  /** TCP connections refused at accept: their client already held its share (per-client limit). */
  readonly tcpRejected: number;
  /** TCP connections closed to make room for a new one (global cap): idle ones, and ones mid-message or not reading. */
  readonly tcpEvictedIdle: number;
  readonly tcpEvictedStalled: number;
  /** TCP connections closed because a message was not complete within the message deadline. */
  readonly tcpDeadlineClosed: number;
  /** TCP connections closed by the idle timeout. */
  readonly tcpIdleClosed: number;
  /** TCP connections closed after a message that was dropped (a response, shorter than a header). */
  readonly tcpDropClosed: number;
  /** Sampled answer latency by transport and rcode, in the flat shape answer-latency.ts describes. */
  readonly answerLatency?: Readonly<Record<string, number>>;
  /** DNS UPDATEs by outcome (`accepted`, or why refused: `unsigned`, `badsig`, `nxrrset`, ...); absent when none came. */
  readonly updatesByOutcome?: Readonly<Record<string, number>>;
}

/** What the response cache contributes to a snapshot. */
export interface CacheFigures {
  readonly size: number;
  readonly bytes: number;
  readonly invalidated: number;
}

const RCODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Packet.RCODE).filter(([name]) => name !== 'BADSIG').map(([name, code]) => [code, name]),
);

function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/**
 * Counts by a small number (a qtype, an rcode): an array slot per number below `size` (the common ones), a Map
 * for the rest. Counted on every request, so no Map lookup and no boxed number on the common path.
 */
class CountsByNumber {
  private readonly low: Float64Array;
  private readonly high = new Map<number, number>();

  constructor(size: number) {
    this.low = new Float64Array(size);
  }

  add(n: number): void {
    if (n >= 0 && n < this.low.length) this.low[n] = (this.low[n] ?? 0) + 1;
    else this.high.set(n, (this.high.get(n) ?? 0) + 1);
  }

  /** The numbers counted at least once, with their counts. */
  named(name: (n: number) => string): Record<string, number> {
    const out: Record<string, number> = {};
    this.low.forEach((count, n) => {
      if (count > 0) out[name(n)] = count;
    });
    for (const [n, count] of this.high) out[name(n)] = count;
    return out;
  }
}

/** Mutable DNS counters; only their methods change them. */
export class DnsCounters {
  private queries = 0;
  /** Question types below 256 cover every common one (A 1 ... SRV 33, OPT 41, HTTPS 65, ANY 255). */
  private readonly byType = new CountsByNumber(256);
  /** Response codes below 32 cover every one the server sends (BADVERS is 16). */
  private readonly byRcode = new CountsByNumber(32);
  private hits = 0;
  private misses = 0;
  private droppedCount = 0;
  private truncatedCount = 0;
  private internalErrors = 0;
  private tcpAcceptedCount = 0;
  private tcpOpenCount = 0;
  private tcpRejectedCount = 0;
  private tcpEvictedIdleCount = 0;
  private tcpEvictedStalledCount = 0;
  private tcpDeadlineClosedCount = 0;
  private tcpIdleClosedCount = 0;
  private tcpDropClosedCount = 0;
  private readonly latency = new AnswerLatencySampler(rcodeName);
  private readonly updates = new Map<string, number>();

  /** A DNS UPDATE was answered with this outcome (`accepted` or the reason it was refused). */
  update(outcome: string): void {
    this.updates.set(outcome, (this.updates.get(outcome) ?? 0) + 1);
  }

  /** A request entered the handler over this transport (one in 64 is timed until its `response`). */
  started(transport: string): void {
    this.latency.started(transport);
  }

  /** A request was parsed far enough to be answered (FORMERR and NOTIMP included). */
  query(): void {
    this.queries++;
  }
  /** A well-formed question of this type. */
  questionType(qtype: number): void {
    this.byType.add(qtype);
  }
  /** A reply with this rcode is sent. */
  response(rcode: number): void {
    this.byRcode.add(rcode);
    this.latency.answered(rcode);
  }
  cacheHit(): void {
    this.hits++;
  }
  cacheMiss(): void {
    this.misses++;
  }
  /** Messages left unanswered (see DnsStats.dropped): one, or a batch transport's count. */
  dropped(count = 1): void {
    this.droppedCount += count;
  }
  /** A reply sent with TC set. */
  truncated(): void {
    this.truncatedCount++;
  }
  /** Handling a request threw (the reply is SERVFAIL). */
  internalError(): void {
    this.internalErrors++;
  }
  /** A TCP connection was accepted (and is open until `tcpClosed`). */
  tcpAccepted(): void {
    this.tcpAcceptedCount++;
    this.tcpOpenCount++;
  }
  /** An accepted TCP connection closed. */
  tcpClosed(): void {
    this.tcpOpenCount--;
  }
  /** A TCP connection was refused at accept (its client is at the per-client limit). */
  tcpRejected(): void {
    this.tcpRejectedCount++;
  }
  /** An idle TCP connection was closed to make room for a new one. */
  tcpEvictedIdle(): void {
    this.tcpEvictedIdleCount++;
  }
  /** A TCP connection mid-message or not reading its replies was closed to make room for a new one. */
  tcpEvictedStalled(): void {
    this.tcpEvictedStalledCount++;
  }
  /** A TCP connection was closed: no complete message within the message deadline. */
  tcpDeadlineClosed(): void {
    this.tcpDeadlineClosedCount++;
  }
  /** A TCP connection was closed by the idle timeout. */
  tcpIdleClosed(): void {
    this.tcpIdleClosedCount++;
  }
  /** A TCP connection was closed after a dropped message. */
  tcpDropClosed(): void {
    this.tcpDropClosedCount++;
  }

  /** The counters now, with the cache's figures. */
  snapshot(cache: CacheFigures): DnsStats {
    return {
      queries: this.queries,
      queriesByType: this.byType.named((t) => Packet.typeName(t)),
      responsesByRcode: this.byRcode.named(rcodeName),
      cacheHits: this.hits,
      cacheMisses: this.misses,
      cacheEntries: cache.size,
      cacheBytes: cache.bytes,
      cacheInvalidations: cache.invalidated,
      dropped: this.droppedCount,
      truncated: this.truncatedCount,
      internalErrors: this.internalErrors,
      tcpConnections: this.tcpAcceptedCount,
      tcpOpen: this.tcpOpenCount,
      tcpRejected: this.tcpRejectedCount,
      tcpEvictedIdle: this.tcpEvictedIdleCount,
      tcpEvictedStalled: this.tcpEvictedStalledCount,
      tcpDeadlineClosed: this.tcpDeadlineClosedCount,
      tcpIdleClosed: this.tcpIdleClosedCount,
      tcpDropClosed: this.tcpDropClosedCount,
      answerLatency: this.latency.snapshot(),
      ...(this.updates.size > 0 ? { updatesByOutcome: Object.fromEntries(this.updates) } : {}),
    };
  }
}
