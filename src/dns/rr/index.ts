/**
 * The record-type table: one module per Rdata kind (rr/*.ts), keyed by the kind. The mapped type makes it
 * exhaustive: an Rdata kind without a module, or a module lacking encode, toText or parse, does not compile.
 * Everything that encodes, prints or parses RDATA picks the module here.
 */
import { Packet } from 'dns2';
import { nameToPresentation } from '../name.js';
import type { Rdata, ResourceRecord } from '../records.js';
import type { RdataCodec, RdataWriter } from './codec.js';
import { A } from './a.js';
import { AAAA } from './aaaa.js';
import { CNAME } from './cname.js';
import { MX } from './mx.js';
import { NS } from './ns.js';
import { PTR } from './ptr.js';
import { SOA } from './soa.js';
import { SRV } from './srv.js';
import { TXT } from './txt.js';
import { UNKNOWN } from './unknown.js';

/** The discriminant of the Rdata union. */
export type RdataKind = Rdata['kind'];
/** The Rdata variant of one kind. */
export type RdataOf<K extends RdataKind> = Extract<Rdata, { readonly kind: K }>;
type CodecTable = { readonly [K in RdataKind]: RdataCodec<RdataOf<K>> };

/** Every record type's module, by Rdata kind. */
export const RDATA_CODECS: CodecTable = { A, AAAA, PTR, NS, CNAME, SOA, SRV, MX, TXT, RAW: UNKNOWN };

/** The module registered for a type number; undefined for types that only the generic form can carry. */
export const codecForType: (type: number) => RdataCodec<Rdata> | undefined = (() => {
  const byType = new Map<number, RdataCodec<Rdata>>();
  for (const codec of Object.values(RDATA_CODECS) as RdataCodec<Rdata>[]) {
    if (codec.type !== undefined) byType.set(codec.type, codec);
  }
  return (type: number) => byType.get(type);
})();

// Generic over the kind so that the module and the data are checked together (a correlated union).
function encodeAs<K extends RdataKind>(kind: K, data: RdataOf<K>, w: RdataWriter): void {
  RDATA_CODECS[kind].encode(data, w);
}
function textAs<K extends RdataKind>(kind: K, data: RdataOf<K>): string {
  return RDATA_CODECS[kind].toText(data);
}

/** Write RDATA with its type's module. */
export function encodeRdata(data: Rdata, w: RdataWriter): void {
  encodeAs(data.kind, data, w);
}

/** RDATA in presentation form. */
export function rdataToText(data: Rdata): string {
  return textAs(data.kind, data);
}

/** A record in master-file presentation form (for logs, tests and the zone README). */
export function recordToText(rr: ResourceRecord): string {
  return `${nameToPresentation(rr.name)} ${rr.ttl} IN ${Packet.typeName(rr.type)} ${rdataToText(rr.data)}`;
}
