/**
 * TSIG (RFC 8945): verifying a signed request and signing its reply with HMAC-SHA256 or HMAC-SHA512
 * (node:crypto). MD5 and SHA-1 are not offered: RFC 8945 §6 lists hmac-sha256 as the one mandatory algorithm
 * and nsupdate/knsupdate default to it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidConfigurationError } from '../../errors.js';
import { nameKey, parseName, type Name } from '../name.js';
import { CLASS_ANY, MalformedMessage, TYPE_TSIG, canonicalName, readName, type UpdateMessage, type WireRecord } from './message.js';

/** TSIG error codes (RFC 8945 §3). */
export const TsigError = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18 } as const;

/** The HMAC algorithms offered, by their TSIG algorithm name. */
const ALGORITHMS: Readonly<Record<string, 'sha256' | 'sha512'>> = { 'hmac-sha256': 'sha256', 'hmac-sha512': 'sha512' };

/** The default fudge (RFC 8945 §10: 300 seconds). */
export const DEFAULT_FUDGE = 300;

/** A service a key may update: names at or under `_service._protocol.D` (both protocols when none is given). */
export interface KeyScope {
  readonly service: string;
  readonly protocol?: 'tcp' | 'udp';
}

/** One shared key. */
export interface TsigKey {
  readonly name: Name;
  readonly algorithm: 'hmac-sha256' | 'hmac-sha512';
  readonly secret: Buffer;
  /** When present, the only names updates signed with this key may touch (README, "Registration through DNS UPDATE"). */
  readonly scope?: readonly KeyScope[];
}

/** One `--tsig-key-services` entry: a key's name and a service it is limited to. */
export interface KeyScopeEntry {
  readonly keyName: Name;
  readonly scope: KeyScope;
}

/**
 * Parse `key=service` (`printer`: both protocols; `_printer._tcp`: one) as `--tsig-key-services` takes it;
 * throws InvalidConfigurationError naming the problem.
 */
export function parseKeyScope(text: string): KeyScopeEntry {
  const eq = text.indexOf('=');
  const keyText = text.slice(0, Math.max(eq, 0));
  const serviceText = text.slice(eq + 1).toLowerCase();
  if (eq <= 0 || serviceText === '') throw new InvalidConfigurationError(`${JSON.stringify(text)} is not key=service`, 'tsigKeyServices');
  let keyName: Name;
  try {
    keyName = parseName(keyText.endsWith('.') ? keyText : keyText + '.');
  } catch {
    throw new InvalidConfigurationError(`TSIG key name ${JSON.stringify(keyText)} is not a domain name`, 'tsigKeyServices');
  }
  const labelled = /^_([a-z0-9-]{1,62})\._(tcp|udp)$/.exec(serviceText);
  if (labelled?.[1] && labelled[2]) return { keyName, scope: { service: labelled[1], protocol: labelled[2] as 'tcp' | 'udp' } };
  if (!/^[a-z0-9-]{1,62}$/.test(serviceText)) {
    throw new InvalidConfigurationError(`${JSON.stringify(text.slice(eq + 1))} is not a service name (printer) or service and protocol (_printer._tcp)`, 'tsigKeyServices');
  }
  return { keyName, scope: { service: serviceText } };
}

/** Parse `name:algorithm:base64` (the `--tsig-key` form); throws InvalidConfigurationError naming the problem. */
export function parseTsigKey(text: string): TsigKey {
  const parts = text.split(':');
  if (parts.length !== 3) throw new InvalidConfigurationError(`TSIG key ${JSON.stringify(text)} is not name:algorithm:base64`, 'tsigKey');
  const [name = '', algorithm = '', secret = ''] = parts;
  if (ALGORITHMS[algorithm.toLowerCase()] === undefined) {
    throw new InvalidConfigurationError(`TSIG algorithm ${JSON.stringify(algorithm)} is not one of ${Object.keys(ALGORITHMS).join(', ')}`, 'tsigKey');
  }
  if (!/^[A-Za-z0-9+/]+=*$/.test(secret)) throw new InvalidConfigurationError(`TSIG secret of key ${JSON.stringify(name)} is not base64`, 'tsigKey');
  let keyName: Name;
  try {
    keyName = parseName(name.endsWith('.') ? name : name + '.');
  } catch {
    throw new InvalidConfigurationError(`TSIG key name ${JSON.stringify(name)} is not a domain name`, 'tsigKey');
  }
  if (keyName.length === 0) throw new InvalidConfigurationError('TSIG key name is empty', 'tsigKey');
  return { name: keyName, algorithm: algorithm.toLowerCase() as TsigKey['algorithm'], secret: Buffer.from(secret, 'base64') };
}

/** The TSIG record's fields (RFC 8945 §4.2). */
export interface TsigRecord {
  readonly keyName: Name;
  readonly algorithm: Name;
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  readonly other: Buffer;
  /** Where the TSIG record starts in the request. */
  readonly start: number;
}

/** The TSIG of a request: absent, or the last additional record (RFC 8945 §5.1: anywhere else is FORMERR). */
export function findTsig(msg: Buffer, update: UpdateMessage): TsigRecord | undefined {
  const records = update.additional;
  const index = records.findIndex((r) => r.type === TYPE_TSIG);
  if (index < 0) return undefined;
  if (index !== records.length - 1) throw new MalformedMessage('TSIG is not the last record');
  return readTsig(msg, records[index] as WireRecord);
}

function readTsig(msg: Buffer, record: WireRecord): TsigRecord {
  if (record.klass !== CLASS_ANY || record.ttl !== 0) throw new MalformedMessage('TSIG class must be ANY and TTL 0');
  const end = record.rdataOffset + record.rdata.length;
  const alg = readName(msg, record.rdataOffset);
  let o = alg.end;
  const need = (n: number): void => {
    if (o + n > end) throw new MalformedMessage('TSIG RDATA too short');
  };
  need(10);
  const timeSigned = msg.readUIntBE(o, 6);
  const fudge = msg.readUInt16BE(o + 6);
  const macSize = msg.readUInt16BE(o + 8);
  o += 10;
  need(macSize);
  const mac = msg.subarray(o, o + macSize);
  o += macSize;
  need(6);
  const originalId = msg.readUInt16BE(o);
  const error = msg.readUInt16BE(o + 2);
  const otherLen = msg.readUInt16BE(o + 4);
  o += 6;
  need(otherLen);
  const other = msg.subarray(o, o + otherLen);
  if (o + otherLen !== end) throw new MalformedMessage('TSIG RDATA length mismatch');
  return { keyName: record.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, other, start: record.start };
}

/** The outcome of checking a request's TSIG. */
export type TsigCheck =
  | { readonly ok: true; readonly key: TsigKey; readonly tsig: TsigRecord }
  | { readonly ok: false; readonly error: number; readonly tsig: TsigRecord; readonly key?: TsigKey };

/** The TSIG variables (RFC 8945 §4.3.3). */
function variables(keyName: Name, algorithm: Name, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(CLASS_ANY, 0);
  fixed.writeUInt32BE(0, 2);
  const times = Buffer.alloc(8);
  times.writeUIntBE(timeSigned, 0, 6);
  times.writeUInt16BE(fudge, 6);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(error, 0);
  tail.writeUInt16BE(other.length, 2);
  return Buffer.concat([canonicalName(keyName), fixed, canonicalName(algorithm), times, tail, other]);
}

function hmac(key: TsigKey, parts: readonly Buffer[]): Buffer {
  const h = createHmac(ALGORITHMS[key.algorithm] ?? 'sha256', key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Keys by their folded name. */
export class TsigKeyring {
  private readonly keys = new Map<string, TsigKey>();

  constructor(keys: readonly TsigKey[]) {
    for (const k of keys) this.keys.set(nameKey(k.name), k);
  }

  /** Whether any key is configured. */
  get size(): number {
    return this.keys.size;
  }

  /** Check a request's TSIG in the order of RFC 8945 §5.2: key, then MAC, then time. */
  verify(msg: Buffer, tsig: TsigRecord, nowSeconds: number): TsigCheck {
    const key = this.keys.get(nameKey(tsig.keyName));
    if (!key || nameKey(tsig.algorithm) !== nameKey(parseName(key.algorithm + '.'))) return { ok: false, error: TsigError.BADKEY, tsig };
    // The MAC covers the request as it was before the TSIG was added: ARCOUNT one less, the original ID.
    const head = Buffer.from(msg.subarray(0, tsig.start));
    head.writeUInt16BE(tsig.originalId, 0);
    head.writeUInt16BE(head.readUInt16BE(10) - 1, 10);
    const expected = hmac(key, [head, variables(tsig.keyName, tsig.algorithm, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other)]);
    if (tsig.mac.length !== expected.length || !timingSafeEqual(tsig.mac, expected)) return { ok: false, error: TsigError.BADSIG, tsig, key };
    if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) return { ok: false, error: TsigError.BADTIME, tsig, key };
    return { ok: true, key, tsig };
  }
}

/**
 * Append a TSIG to `reply` (a complete message without one). With a key the reply is signed over the request
 * MAC, the reply and the variables (RFC 8945 §4.3.1); without one (BADKEY, BADSIG: §5.3.2) the MAC is empty.
 * BADTIME carries the server's time in Other Data (§5.2.3).
 */
export function appendTsig(reply: Buffer, request: TsigRecord, key: TsigKey | undefined, error: number, nowSeconds: number): Buffer {
  const other = error === TsigError.BADTIME ? Buffer.alloc(6) : Buffer.alloc(0);
  if (error === TsigError.BADTIME) other.writeUIntBE(nowSeconds, 0, 6);
  // BADTIME replies carry the request's time signed (RFC 8945 §5.2.3); otherwise our time.
  const timeSigned = error === TsigError.BADTIME ? request.timeSigned : nowSeconds;
  let mac: Buffer = Buffer.alloc(0);
  if (key) {
    const macLength = Buffer.alloc(2);
    macLength.writeUInt16BE(request.mac.length, 0);
    mac = hmac(key, [macLength, request.mac, reply, variables(request.keyName, request.algorithm, timeSigned, request.fudge, error, other)]);
  }
  const fields = Buffer.alloc(10);
  fields.writeUIntBE(timeSigned, 0, 6);
  fields.writeUInt16BE(request.fudge, 6);
  fields.writeUInt16BE(mac.length, 8);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(request.originalId, 0);
  tail.writeUInt16BE(error, 2);
  tail.writeUInt16BE(other.length, 4);
  const rdata = Buffer.concat([canonicalName(request.algorithm), fields, mac, tail, other]);
  const header = Buffer.alloc(10);
  header.writeUInt16BE(TYPE_TSIG, 0);
  header.writeUInt16BE(CLASS_ANY, 2);
  header.writeUInt32BE(0, 4);
  header.writeUInt16BE(rdata.length, 8);
  const out = Buffer.concat([reply, canonicalName(request.keyName), header, rdata]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}
