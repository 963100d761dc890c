/**
 * The API's JSON form of dynamic zone data (the RRsets DNS UPDATE keeps that describe no instance), shared by
 * the zone routes, the client and the CLI's table; and the parsing of an RR type as people write it.
 */
import { Packet } from 'dns2';
import type { DynamicRRset } from '../dns/dynamic-zone.js';
import { parseName } from '../dns/name.js';
import type { ResourceRecord } from '../dns/records.js';
import { rdataToText } from '../dns/rr/index.js';
import { InvalidArgumentError } from '../errors.js';

/** One RRset as the API lists it: owner (presentation form, trailing dot), type mnemonic and number, TTL, RDATA. */
export interface ZoneRRsetView {
  readonly owner: string;
  readonly type: string;
  readonly typeCode: number;
  readonly ttl: number;
  /** Each record's RDATA in presentation form (RFC 1035 §5.1; RFC 3597 `\# n hex` for types without a module). */
  readonly rdata: readonly string[];
}

/** The mnemonic of a type number: dns2's name, or RFC 3597's `TYPEn` for types it has none for. */
export function typeMnemonic(type: number): string {
  // dns2 names OPT "EDNS"; RFC 6891 §6.1.1 names it OPT.
  return type === 41 ? 'OPT' : Packet.typeName(type);
}

/** The API's form of one held RRset. */
export function zoneRRsetView(set: DynamicRRset, records: readonly ResourceRecord[]): ZoneRRsetView {
  return { owner: set.owner, type: typeMnemonic(set.type), typeCode: set.type, ttl: set.ttl, rdata: records.map((r) => rdataToText(r.data)) };
}

/**
 * Listing order: owners in canonical DNS order (RFC 4034 §6.1: label by label from the root, each label's
 * octets compared unsigned, escapes decoded; stored owners are already lower case), then by type number.
 */
export function compareZoneRRsets(a: ZoneRRsetView, b: ZoneRRsetView): number {
  const la = parseName(a.owner);
  const lb = parseName(b.owner);
  for (let i = 1; i <= Math.min(la.length, lb.length); i++) {
    const order = Buffer.compare(la[la.length - i]!, lb[lb.length - i]!);
    if (order !== 0) return order;
  }
  return la.length - lb.length || a.typeCode - b.typeCode;
}

/**
 * An RR type as a person writes it: a mnemonic (`A`, `txt`), RFC 3597's `TYPE65280`, or a number;
 * INVALID_ARGUMENT for anything else, or a number outside 1..65535.
 */
export function parseRRType(text: string): number {
  const upper = text.trim().toUpperCase();
  const generic = /^(?:TYPE)?(\d{1,5})$/.exec(upper);
  let type: number | undefined;
  if (generic) type = Number(generic[1]);
  else if (upper === 'OPT') type = 41;
  else if (upper !== 'EDNS' && Object.hasOwn(Packet.TYPE, upper)) type = (Packet.TYPE as Record<string, number>)[upper];
  if (type === undefined || !Number.isInteger(type) || type < 1 || type > 0xffff) {
    throw new InvalidArgumentError(`not an RR type (a mnemonic such as A or TXT, TYPEn, or 1..65535): ${text}`, 'type');
  }
  return type;
}
