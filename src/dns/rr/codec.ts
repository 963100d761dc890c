/**
 * The shape every record type's module has (dns-packet's shape: one object per type): wire encoding,
 * presentation text and master-file parsing of its RDATA. rr/index.ts keys them by the Rdata kind, so a
 * kind without a module, or a module without one of these functions, does not compile.
 */
import type { Name } from '../name.js';

/** Where RDATA is written: the response writer of wire.ts, with its name compression (RFC 1035 §4.1.4). */
export interface RdataWriter {
  u8(value: number): void;
  u16(value: number): void;
  u32(value: number): void;
  bytes(bytes: Uint8Array): void;
  /** A domain name; `compress` only where the type's RFC allows it (RFC 3597 §4: the RFC 1035 types). */
  name(name: Name, compress: boolean): void;
}

/**
 * The RDATA fields of one master-file record (RFC 1035 §5.1), with readers that throw a message naming the
 * field; the zone-file parser adds the file and line.
 */
export interface RdataFields {
  /** The type as written, upper-cased (`SRV`, `TYPE65280`). */
  readonly typeText: string;
  /** Raw field texts (escapes not yet decoded) after the type. */
  readonly texts: readonly string[];
  /** Throw unless there are exactly `n` fields. */
  expect(n: number): void;
  /** Field `i` as an integer in 0..max. */
  uint(i: number, max: number, what: string): number;
  /** Field `i` as a time value (seconds, or BIND units such as `1h30m`). */
  ttl(i: number, what: string): number;
  /** Field `i` as a domain name, relative ones completed with the current origin. */
  name(i: number, what: string): Name;
  /** Field `i` as a character-string, escapes decoded (RFC 1035 §5.1). */
  characterString(i: number): Buffer;
  /** Throw a syntax error with this message. */
  fail(message: string): never;
}

/** One record type's RDATA: encode, presentation, zone-file parse (and decode when something reads it). */
export interface RdataCodec<D extends { readonly kind: string }> {
  /** The Rdata kind this module handles. */
  readonly kind: D['kind'];
  /** The record type number it is registered for; undefined for RFC 3597 generic data, which any type may carry. */
  readonly type: number | undefined;
  /** Write the RDATA (without its length, which the writer fills in). */
  encode(data: D, w: RdataWriter): void;
  /** Read the RDATA at `offset`, `length` octets long (only types Beacon reads from the wire have one). */
  decode?(message: Buffer, offset: number, length: number): D;
  /** The RDATA in presentation form (RFC 1035 §5.1). */
  toText(data: D): string;
  /** Parse the RDATA fields of a master-file line. */
  parse(fields: RdataFields): D;
}
