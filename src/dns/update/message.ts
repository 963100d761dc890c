/**
 * Reading a DNS UPDATE message (RFC 2136 §2): the header, the zone section, the prerequisite, update and
 * additional sections, straight from the Buffer. Not the hot query path, so clarity wins over speed; names
 * are read as raw labels (so UTF-8 and dots inside instance labels survive), pointers only backwards and at
 * most MAX_POINTERS of them (no compression loops).
 */
import { foldOctet } from '../../ascii.js';
import type { Label, Name } from '../name.js';
import { HEADER_SIZE } from '../wire.js';

/** The UPDATE opcode (RFC 2136 §1.3). */
export const OPCODE_UPDATE = 5;
/** The classes RFC 2136 §2.4-2.5 give meaning to. */
export const CLASS_ANY = 255;
/** Class NONE (RFC 2136 §1.3). */
export const CLASS_NONE = 254;
/** The TSIG type (RFC 8945 §4.2). */
export const TYPE_TSIG = 250;
/** The OPT pseudo-record type (RFC 6891 §6.1.1). */
export const TYPE_OPT = 41;
/** Type ANY (RFC 1035 §3.2.3). */
export const TYPE_ANY = 255;

const MAX_POINTERS = 64;

/** A malformed message: the responder answers FORMERR. */
export class MalformedMessage extends Error {}

/** One resource record as it stands on the wire, RDATA kept raw (names in it decoded where needed). */
export interface WireRecord {
  readonly name: Name;
  readonly type: number;
  readonly klass: number;
  readonly ttl: number;
  /** The RDATA octets (a subarray of the message). */
  readonly rdata: Buffer;
  /** Where the RDATA starts in the message (compressed names in it point into the message). */
  readonly rdataOffset: number;
  /** Where the whole record starts (the TSIG MAC covers the message up to here, RFC 8945 §4.3.3). */
  readonly start: number;
}

/** An UPDATE message split into its sections. */
export interface UpdateMessage {
  /** The whole message (compressed names in RDATA point into it). */
  readonly message: Buffer;
  readonly id: number;
  readonly flags: number;
  readonly zone: { readonly name: Name; readonly type: number; readonly klass: number };
  /** The zone section as it stands on the wire (echoed in the reply, RFC 2136 §3.8). */
  readonly zoneWire: Buffer;
  readonly prerequisites: readonly WireRecord[];
  readonly updates: readonly WireRecord[];
  readonly additional: readonly WireRecord[];
}

/** Read a (possibly compressed) name at `offset`: the labels and the offset after it in the record. */
export function readName(msg: Buffer, offset: number): { name: Name; end: number } {
  const labels: Label[] = [];
  let o = offset;
  let end = -1;
  let jumps = 0;
  let total = 1;
  for (;;) {
    if (o >= msg.length) throw new MalformedMessage('name runs past the message');
    const len = msg[o] ?? 0;
    if (len === 0) {
      if (end < 0) end = o + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (o + 1 >= msg.length) throw new MalformedMessage('pointer runs past the message');
      const target = ((len & 0x3f) << 8) | (msg[o + 1] ?? 0);
      // Only backwards, and a bounded number of times: a pointer loop is malformed (RFC 1035 §4.1.4).
      if (target >= o || ++jumps > MAX_POINTERS) throw new MalformedMessage('compression loop');
      if (end < 0) end = o + 2;
      o = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new MalformedMessage('unknown label type');
    if (o + 1 + len > msg.length) throw new MalformedMessage('label runs past the message');
    total += len + 1;
    if (total > 255) throw new MalformedMessage('name longer than 255 octets');
    labels.push(msg.subarray(o + 1, o + 1 + len));
    o += len + 1;
  }
  return { name: labels, end };
}

function readRecord(msg: Buffer, offset: number): { record: WireRecord; end: number } {
  const { name, end } = readName(msg, offset);
  if (end + 10 > msg.length) throw new MalformedMessage('record header runs past the message');
  const rdlength = msg.readUInt16BE(end + 8);
  const rdataOffset = end + 10;
  if (rdataOffset + rdlength > msg.length) throw new MalformedMessage('RDATA runs past the message');
  return {
    record: {
      name,
      type: msg.readUInt16BE(end),
      klass: msg.readUInt16BE(end + 2),
      ttl: msg.readUInt32BE(end + 4),
      rdata: msg.subarray(rdataOffset, rdataOffset + rdlength),
      rdataOffset,
      start: offset,
    },
    end: rdataOffset + rdlength,
  };
}

/** Parse an UPDATE message; throws MalformedMessage when it is not well formed (RFC 2136 §3.1: FORMERR). */
export function parseUpdate(msg: Buffer): UpdateMessage {
  if (msg.length < HEADER_SIZE) throw new MalformedMessage('shorter than a header');
  const zocount = msg.readUInt16BE(4);
  // RFC 2136 §3.1.1: exactly one zone record.
  if (zocount !== 1) throw new MalformedMessage(`zone section holds ${zocount} records`);
  const zoneName = readName(msg, HEADER_SIZE);
  if (zoneName.end + 4 > msg.length) throw new MalformedMessage('zone section runs past the message');
  const zone = { name: zoneName.name, type: msg.readUInt16BE(zoneName.end), klass: msg.readUInt16BE(zoneName.end + 2) };
  let offset = zoneName.end + 4;
  const sections: WireRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    const count = msg.readUInt16BE(6 + s * 2);
    for (let i = 0; i < count; i++) {
      const { record, end } = readRecord(msg, offset);
      sections[s]?.push(record);
      offset = end;
    }
  }
  if (offset !== msg.length) throw new MalformedMessage('trailing octets after the last record');
  return {
    message: msg,
    id: msg.readUInt16BE(0),
    flags: msg.readUInt16BE(2),
    zone,
    zoneWire: msg.subarray(HEADER_SIZE, zoneName.end + 4),
    prerequisites: sections[0] ?? [],
    updates: sections[1] ?? [],
    additional: sections[2] ?? [],
  };
}

/** The name in canonical wire form: lower-case ASCII, uncompressed (RFC 4034 §6.2, RFC 8945 §4.3.3). */
export function canonicalName(name: Name): Buffer {
  const parts: Buffer[] = [];
  for (const label of name) {
    const folded = Buffer.allocUnsafe(label.length);
    for (let i = 0; i < label.length; i++) folded[i] = foldOctet(label[i] ?? 0);
    parts.push(Buffer.from([label.length]), folded);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** The labels as plain strings (UTF-8), for registry names. */
export function labelText(label: Label): string {
  return label.toString('utf8');
}
