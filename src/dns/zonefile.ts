/**
 * RFC 1035 §5 master files: $ORIGIN, $TTL (RFC 2308 §4), parentheses, comments, quoted strings, escapes
 * (`\.`, `\\`, `\032`), relative names and `@`, owner inheritance from the previous line, TTL units
 * (`1h30m`, BIND style) and RFC 3597 `TYPEnnn \# len hex`. This module reads the file's structure; each
 * type's RDATA syntax is its module's (rr/: SOA NS A AAAA PTR SRV TXT CNAME MX).
 * Errors are InvalidConfigurationError naming the file and line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Packet } from 'dns2';
import { foldAscii } from '../ascii.js';
import { InvalidConfigurationError } from '../errors.js';
import { type Name, parseName, nameToPresentation, isSubdomain, namesEqual } from './name.js';
import { type ResourceRecord, type Rdata, RRType } from './records.js';
import type { RdataFields } from './rr/codec.js';
import { codecForType } from './rr/index.js';
import { UNKNOWN } from './rr/unknown.js';

/** One static zone: its apex and its records (all at or below the apex). */
export interface Zone {
  readonly apex: Name;
  readonly records: readonly ResourceRecord[];
}

/** Static zones served next to the registry (a zone whose apex is the DNS-SD domain is merged with it). */
export type ZoneData = readonly Zone[];

/** Where the text came from, and the origin relative names start from until a $ORIGIN. */
export interface ZoneFileOptions {
  readonly origin?: string;
  readonly fileName?: string;
}

/** Largest TTL (RFC 2181 §8). */
const MAX_TTL = 0x7fffffff;

interface Token {
  readonly text: string;
  readonly quoted: boolean;
}
interface LogicalLine {
  readonly line: number;
  readonly indented: boolean;
  readonly tokens: Token[];
}

class ZoneSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

/** Split master-file text into logical lines (parentheses join physical lines, RFC 1035 §5.1). */
function tokenize(text: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let line = 1;
  let depth = 0;
  let parenLine = 0;
  let current: LogicalLine | undefined;
  let atLineStart = true;
  let i = 0;
  const flush = (): void => {
    if (current && current.tokens.length > 0) lines.push(current);
    current = undefined;
  };
  const push = (token: Token, tokenLine: number, indented: boolean): void => {
    current ??= { line: tokenLine, indented, tokens: [] };
    current.tokens.push(token);
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      i++;
      if (depth === 0) {
        flush();
        atLineStart = true;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    const indented = atLineStart && i > 0 && text[i - 1] !== '\n';
    atLineStart = false;
    if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '(') {
      if (depth === 0) parenLine = line;
      depth++;
      current ??= { line, indented, tokens: [] };
      i++;
      continue;
    }
    if (c === ')') {
      if (depth === 0) throw new ZoneSyntaxError(line, 'unbalanced ")"');
      depth--;
      i++;
      continue;
    }
    if (c === '"') {
      const startLine = line;
      let j = i + 1;
      let raw = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) {
          raw += text.slice(j, j + 2);
          j += 2;
          continue;
        }
        if (text[j] === '\n') throw new ZoneSyntaxError(startLine, 'unterminated quoted string');
        raw += text[j];
        j++;
      }
      if (j >= text.length) throw new ZoneSyntaxError(startLine, 'unterminated quoted string');
      push({ text: raw, quoted: true }, startLine, indented);
      i = j + 1;
      continue;
    }
    let j = i;
    let raw = '';
    while (j < text.length) {
      const d = text[j] as string;
      if (d === '\\' && j + 1 < text.length && text[j + 1] !== '\n') {
        raw += text.slice(j, j + 2);
        j += 2;
        continue;
      }
      if (d === ' ' || d === '\t' || d === '\r' || d === '\n' || d === ';' || d === '(' || d === ')' || d === '"') break;
      raw += d;
      j++;
    }
    push({ text: raw, quoted: false }, line, indented);
    i = j;
  }
  if (depth > 0) throw new ZoneSyntaxError(parenLine, 'unclosed "("');
  flush();
  return lines;
}

/** Parse a TTL: seconds, or BIND units (`1w2d3h4m5s`). */
function parseTtl(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= MAX_TTL ? n : undefined;
  }
  const re = /(\d+)([wdhms])/giy;
  const unit: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (unit[foldAscii(m[2] ?? 's')] ?? 1);
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || text.length === 0 || total > MAX_TTL) return undefined;
  return total;
}

/** Decode a character-string's escapes (RFC 1035 §5.1) to octets. */
function decodeCharacterString(raw: string, line: number): Buffer {
  const bytes = Buffer.from(raw, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b !== 0x5c) {
      out.push(b);
      continue;
    }
    const digits = bytes.subarray(i + 1, i + 4).toString('latin1');
    if (/^\d{3}$/.test(digits)) {
      const v = Number(digits);
      if (v > 255) throw new ZoneSyntaxError(line, `escape \\${digits} is above 255`);
      out.push(v);
      i += 3;
    } else if (i + 1 < bytes.length) {
      out.push(bytes[i + 1] ?? 0);
      i += 1;
    } else {
      throw new ZoneSyntaxError(line, 'dangling backslash');
    }
  }
  return Buffer.from(out);
}

function typeNumber(text: string): number | undefined {
  const upper = text.toUpperCase();
  const known = (Packet.TYPE as Record<string, number>)[upper];
  if (known !== undefined && upper !== 'EDNS') return known;
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  if (generic) {
    const n = Number(generic[1]);
    return n <= 0xffff ? n : undefined;
  }
  return undefined;
}

function uint(text: string | undefined, max: number, what: string, line: number): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max) {
    throw new ZoneSyntaxError(line, `${what}: expected an integer 0..${max}, got ${text === undefined ? 'nothing' : `"${text}"`}`);
  }
  return Number(text);
}

function ttlField(text: string | undefined, what: string, line: number): number {
  const v = text === undefined ? undefined : parseTtl(text);
  if (v === undefined) throw new ZoneSyntaxError(line, `${what}: expected a time value, got ${text === undefined ? 'nothing' : `"${text}"`}`);
  return v;
}

function nameField(text: string | undefined, origin: Name | undefined, what: string, line: number): Name {
  if (text === undefined) throw new ZoneSyntaxError(line, `${what}: missing name`);
  try {
    return parseName(text, origin);
  } catch (err) {
    throw new ZoneSyntaxError(line, `${what}: ${(err as Error).message}`);
  }
}

/** The RDATA fields of one record, read by the type's module; errors carry the line. */
function rdataFields(typeText: string, texts: readonly string[], origin: Name | undefined, line: number): RdataFields {
  return {
    typeText,
    texts,
    expect(n) {
      if (texts.length !== n) throw new ZoneSyntaxError(line, `${typeText} takes ${n} field(s), got ${texts.length}`);
    },
    uint: (i, max, what) => uint(texts[i], max, what, line),
    ttl: (i, what) => ttlField(texts[i], what, line),
    name: (i, what) => nameField(texts[i], origin, what, line),
    characterString: (i) => decodeCharacterString(texts[i] ?? '', line),
    fail(message) {
      throw new ZoneSyntaxError(line, message);
    },
  };
}

/** RDATA by the type's module, or in RFC 3597 generic form (`\# length hex`) for any type. */
function parseRdata(type: number, typeText: string, tokens: readonly Token[], origin: Name | undefined, line: number): Rdata {
  const fields = rdataFields(typeText, tokens.map((t) => t.text), origin, line);
  const first = tokens[0];
  if (first !== undefined && first.text === '\\#' && !first.quoted) return UNKNOWN.parse(fields);
  const codec = codecForType(type);
  if (!codec) throw new ZoneSyntaxError(line, `type ${typeText} needs RFC 3597 generic RDATA (\\# length hex)`);
  return codec.parse(fields);
}

/** Parse one master file. Throws InvalidConfigurationError("file:line: reason") on bad input. */
export function parseZoneFile(text: string, options: ZoneFileOptions = {}): Zone {
  const file = options.fileName ?? '<zone>';
  try {
    return parseLines(tokenize(text), options);
  } catch (err) {
    if (err instanceof ZoneSyntaxError) throw new InvalidConfigurationError(`${file}:${err.line}: ${err.message}`, 'zones');
    throw err;
  }
}

function parseLines(lines: LogicalLine[], options: ZoneFileOptions): Zone {
  let origin: Name | undefined = options.origin ? parseName(options.origin.endsWith('.') ? options.origin : options.origin + '.') : undefined;
  let defaultTtl: number | undefined;
  let lastTtl: number | undefined;
  let lastOwner: Name | undefined;
  let apex: Name | undefined;
  const records: ResourceRecord[] = [];
  const recordLines: number[] = [];
  let initialOrigin = origin;
  for (const { line, indented, tokens } of lines) {
    const words = tokens.map((t) => t.text);
    const head = tokens[0];
    if (!head) continue;
    if (!head.quoted && head.text.startsWith('$') && !indented) {
      const directive = head.text.toUpperCase();
      if (directive === '$ORIGIN') {
        if (words.length !== 2) throw new ZoneSyntaxError(line, '$ORIGIN takes one name');
        origin = nameField(words[1], origin, '$ORIGIN', line);
        // Before any record, $ORIGIN names the zone (overriding the file-name default).
        if (records.length === 0) initialOrigin = origin;
      } else if (directive === '$TTL') {
        if (words.length !== 2) throw new ZoneSyntaxError(line, '$TTL takes one value');
        defaultTtl = ttlField(words[1], '$TTL', line);
      } else {
        throw new ZoneSyntaxError(line, `unsupported directive ${head.text}`);
      }
      continue;
    }
    let i = 0;
    let owner: Name;
    if (indented) {
      if (!lastOwner) throw new ZoneSyntaxError(line, 'record without an owner name (line starts with blank)');
      owner = lastOwner;
    } else {
      owner = nameField(words[0], origin, 'owner', line);
      i = 1;
    }
    let ttl: number | undefined;
    for (let k = 0; k < 2 && i < words.length; k++) {
      const w = words[i] ?? '';
      if (/^(IN|CH|HS|CS|CLASS\d+)$/i.test(w)) {
        if (w.toUpperCase() !== 'IN') throw new ZoneSyntaxError(line, `class ${w} is not supported (only IN)`);
        i++;
      } else if (ttl === undefined && /^\d/.test(w)) {
        ttl = ttlField(w, 'TTL', line);
        i++;
      }
    }
    const typeText = words[i];
    if (typeText === undefined) throw new ZoneSyntaxError(line, 'missing record type');
    const type = typeNumber(typeText);
    if (type === undefined) throw new ZoneSyntaxError(line, `unknown record type "${typeText}"`);
    const data = parseRdata(type, typeText.toUpperCase(), tokens.slice(i + 1), origin, line);
    const effectiveTtl = ttl ?? defaultTtl ?? lastTtl ?? (data.kind === 'SOA' ? data.minimum : undefined);
    if (effectiveTtl === undefined) throw new ZoneSyntaxError(line, 'no TTL on the record and no $TTL before it');
    if (ttl !== undefined) lastTtl = ttl;
    if (type === RRType.SOA) {
      if (apex) throw new ZoneSyntaxError(line, 'a second SOA record');
      apex = owner;
    }
    records.push({ name: owner, type, ttl: effectiveTtl, data });
    recordLines.push(line);
    lastOwner = owner;
  }
  const zoneApex = apex ?? initialOrigin;
  if (!zoneApex) throw new ZoneSyntaxError(1, 'no SOA and no $ORIGIN: the zone apex is unknown');
  records.forEach((rr, k) => {
    if (!isSubdomain(rr.name, zoneApex)) {
      throw new ZoneSyntaxError(recordLines[k] ?? 1, `${nameToPresentation(rr.name)} is outside the zone ${nameToPresentation(zoneApex)}`);
    }
  });
  return { apex: zoneApex, records };
}

/**
 * Load every `*.zone` file of a directory (sorted by name). A file's initial origin is its name without
 * `.zone` (`local.zone` → `local.`); `$ORIGIN` or an SOA inside overrides it. Two files for one apex are an error.
 */
export function loadZoneDirectory(dir: string): ZoneData {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.zone')).sort();
  } catch (err) {
    throw new InvalidConfigurationError(`cannot read zone directory ${dir}: ${(err as Error).message}`, 'zones');
  }
  const zones: Zone[] = [];
  for (const n of names) {
    const path = join(dir, n);
    if (!statSync(path).isFile()) continue;
    const zone = parseZoneFile(readFileSync(path, 'utf8'), { fileName: path, origin: n.slice(0, -'.zone'.length) });
    if (zones.some((z) => namesEqual(z.apex, zone.apex))) {
      throw new InvalidConfigurationError(`${path}: a second zone file for ${nameToPresentation(zone.apex)}`, 'zones');
    }
    zones.push(zone);
  }
  return zones;
}
