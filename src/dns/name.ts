/**
 * Domain names as label lists (RFC 1035 §3.1), their presentation form (RFC 1035 §5.1 escapes) and
 * the case-folded lookup keys the authority and the response cache share.
 *
 * A label is raw octets (a Buffer), so a DNS-SD instance name such as `Kitchen Printer.2` or `Café`
 * (RFC 6763 §4.3: any UTF-8, dots included) is one label and never splits at its dot.
 */
import { foldAscii, foldOctet } from '../ascii.js';
import { InvalidArgumentError } from '../errors.js';
import { GenerationalMemo } from './instance-memo.js';

/** One label: 0..63 raw octets. */
export type Label = Buffer;
/** A domain name: labels from the leaf to the top, the root label implied. */
export type Name = readonly Label[];

/** Longest label, RFC 1035 §2.3.4. */
export const MAX_LABEL_OCTETS = 63;
/** Longest name in wire form including length octets and the root, RFC 1035 §2.3.4. */
export const MAX_NAME_OCTETS = 255;

/** The root name. */
export const ROOT: Name = Object.freeze([]) as Name;

/** A name from UTF-8 label strings (no escaping: each string is one label). Throws on over-long labels. */
export function nameFromLabels(labels: readonly string[]): Name {
  const out = labels.map((label) => Buffer.from(label, 'utf8'));
  assertNameLength(out);
  return out;
}

/** Throw InvalidArgumentError unless every label is 1..63 octets and the wire form fits 255 octets. */
export function assertNameLength(name: Name): void {
  let total = 1;
  for (const label of name) {
    if (label.length === 0 || label.length > MAX_LABEL_OCTETS) {
      throw new InvalidArgumentError(`DNS label of ${label.length} octets (allowed 1..63)`, 'name');
    }
    total += label.length + 1;
  }
  if (total > MAX_NAME_OCTETS) throw new InvalidArgumentError(`DNS name of ${total} octets (max 255)`, 'name');
}

/** Concatenate names: `child` labels under `parent`. */
export function joinNames(child: Name, parent: Name): Name {
  return [...child, ...parent];
}

// Labels and names are immutable and the authority shares them (the domain, service names), so their keys
// are computed once. Weak: nothing is kept alive by the memo. In generations (instance-memo.ts): every
// instance's own label and name pass through here as its records are built, and a WeakMap of them all grew
// with the registry, rehashed whole at each doubling (docs/ARCHITECTURE.md, 'Habits' 15); the shared ones
// are read again and again and stay.
const KEY_GENERATION = 4096;
const labelKeys = new GenerationalMemo<Label, string>(KEY_GENERATION);
const suffixKeyMemo = new GenerationalMemo<Name, string[]>(KEY_GENERATION);

/** The key of one label: its length char and its octets as latin1, A-Z folded (RFC 4343). */
function labelKey(label: Label): string {
  let key = labelKeys.get(label);
  if (key === undefined) {
    // latin1: one char per octet, so folding the string folds exactly the octets A-Z.
    key = foldAscii(String.fromCharCode(label.length) + label.toString('latin1'));
    labelKeys.set(label, key);
  }
  return key;
}

/** The lookup key of a name: its case-folded uncompressed wire form, as a latin1 string (one char per octet). */
export function nameKey(name: Name): string {
  const known = suffixKeyMemo.get(name);
  if (known !== undefined) return known[0] ?? '\0';
  let key = '';
  for (const label of name) key += labelKey(label);
  return key + '\0';
}

/** The keys of every suffix of a name (`[i]` = key of `name.slice(i)`), built in one pass from the root. */
export function suffixKeys(name: Name): string[] {
  const known = suffixKeyMemo.get(name);
  if (known) return known;
  const out = new Array<string>(name.length);
  let key = '\0';
  for (let i = name.length - 1; i >= 0; i--) {
    key = labelKey(name[i] as Label) + key;
    out[i] = key;
  }
  suffixKeyMemo.set(name, out);
  return out;
}

/**
 * The name held in `wire[0, folded.length)`, an uncompressed wire name already case-folded (the question of
 * a cache miss), with its keys taken from `folded`, the same octets as a latin1 string: a name key is exactly
 * that string, so a miss builds no per-label key and memoises none of its labels (they die with the request).
 */
export function foldedWireName(wire: Buffer, folded: string): Name {
  const labels: Label[] = [];
  const keys: string[] = [];
  let o = 0;
  for (let len = wire[0] ?? 0; len !== 0 && o + 1 + len < folded.length; len = wire[o] ?? 0) {
    labels.push(wire.subarray(o + 1, o + 1 + len));
    keys.push(folded.slice(o));
    o += len + 1;
  }
  suffixKeyMemo.set(labels, keys);
  return labels;
}

/** Whether `name` equals `ancestor` or lies below it (case-insensitive). */
export function isSubdomain(name: Name, ancestor: Name): boolean {
  if (ancestor.length > name.length) return false;
  const offset = name.length - ancestor.length;
  for (let i = 0; i < ancestor.length; i++) {
    const a = name[offset + i];
    const b = ancestor[i];
    if (a === undefined || b === undefined || !labelsEqual(a, b)) return false;
  }
  return true;
}

/** Case-insensitive label equality (RFC 4343). */
export function labelsEqual(a: Label, b: Label): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (foldOctet(a[i] ?? 0) !== foldOctet(b[i] ?? 0)) return false;
  return true;
}

/** Case-insensitive name equality. */
export function namesEqual(a: Name, b: Name): boolean {
  return a.length === b.length && isSubdomain(a, b);
}

// Octets written as \DDD in presentation form: controls, space, DEL (RFC 1035 §5.1).
function needsDecimalEscape(octet: number): boolean {
  return octet <= 0x20 || octet === 0x7f;
}
// Octets written as \X: the label separator, the escape itself, and the master-file specials (RFC 1035 §5.1).
const CHAR_ESCAPED = new Set([0x2e /* . */, 0x5c /* \ */, 0x22 /* " */, 0x3b /* ; */, 0x28 /* ( */, 0x29 /* ) */]);

/** One label in presentation form. UTF-8 stays readable unless `ascii` asks for \DDD (what dig prints). */
export function labelToPresentation(label: Label, ascii = false): string {
  const utf8 = !ascii && isValidUtf8(label);
  let out = '';
  let i = 0;
  while (i < label.length) {
    const o = label[i] ?? 0;
    if (o >= 0x80) {
      if (utf8) {
        const len = o >= 0xf0 ? 4 : o >= 0xe0 ? 3 : 2;
        out += label.toString('utf8', i, i + len);
        i += len;
        continue;
      }
      out += '\\' + String(o).padStart(3, '0');
    } else if (needsDecimalEscape(o)) {
      out += '\\' + String(o).padStart(3, '0');
    } else if (CHAR_ESCAPED.has(o)) {
      out += '\\' + String.fromCharCode(o);
    } else {
      out += String.fromCharCode(o);
    }
    i++;
  }
  return out;
}

/** A name in presentation form, absolute (trailing dot). The root is `.`. */
export function nameToPresentation(name: Name, ascii = false): string {
  if (name.length === 0) return '.';
  return name.map((l) => labelToPresentation(l, ascii)).join('.') + '.';
}

/** Whether the octets are well-formed UTF-8 (so they may be shown as text). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return false;
    for (let k = 1; k < len; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return false;
    // Reject overlong forms and surrogates the decoder would replace.
    const cp = Buffer.from(bytes.subarray(i, i + len)).toString('utf8').codePointAt(0) ?? 0xfffd;
    if (cp === 0xfffd) return false;
    i += len;
  }
  return true;
}

/**
 * Parse a name in presentation form (RFC 1035 §5.1): `\.`, `\\`, `\X` and `\DDD` escapes, UTF-8 text.
 * A name without a trailing dot is relative to `origin` (required then); `@` alone is the origin.
 * Throws InvalidArgumentError with the reason.
 */
export function parseName(text: string, origin?: Name): Name {
  if (text === '@') {
    if (!origin) throw new InvalidArgumentError('"@" used without an origin', 'name');
    return origin;
  }
  if (text === '.') return ROOT;
  if (text.length === 0) throw new InvalidArgumentError('empty name', 'name');
  const bytes = Buffer.from(text, 'utf8');
  const labels: Label[] = [];
  let current: number[] = [];
  let absolute = false;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b === 0x5c) {
      const d = bytes.subarray(i + 1, i + 4);
      if (d.length === 3 && d.every((x) => x >= 0x30 && x <= 0x39)) {
        const value = Number(d.toString('latin1'));
        if (value > 255) throw new InvalidArgumentError(`escape \\${d.toString('latin1')} is above 255 in "${text}"`, 'name');
        current.push(value);
        i += 4;
        continue;
      }
      if (i + 1 >= bytes.length) throw new InvalidArgumentError(`dangling backslash in "${text}"`, 'name');
      if ((bytes[i + 1] ?? 0) >= 0x30 && (bytes[i + 1] ?? 0) <= 0x39) {
        throw new InvalidArgumentError(`\\DDD escape needs three digits in "${text}"`, 'name');
      }
      current.push(bytes[i + 1] ?? 0);
      i += 2;
      continue;
    }
    if (b === 0x2e) {
      if (current.length === 0) throw new InvalidArgumentError(`empty label in "${text}"`, 'name');
      labels.push(Buffer.from(current));
      current = [];
      if (i === bytes.length - 1) absolute = true;
      i++;
      continue;
    }
    current.push(b);
    i++;
  }
  if (current.length > 0) labels.push(Buffer.from(current));
  let name: Name = labels;
  if (!absolute) {
    if (!origin) throw new InvalidArgumentError(`relative name "${text}" without an origin`, 'name');
    name = joinNames(labels, origin);
  }
  assertNameLength(name);
  return name;
}
