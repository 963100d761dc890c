/**
 * Where an encoded reply holds its SOA serial, so the response cache can write a new serial into cached replies
 * in place when the zone's serial moves (cache-invalidation.ts) instead of dropping every negative answer on
 * every change and encoding it again (docs/ARCHITECTURE.md, "SOA serial"). Run once per stored reply, off the
 * hit path.
 */

const HEADER = 12;
const TYPE_SOA = 6;

/** The offset after the name at `o` (labels or a compression pointer), or -1 when it runs past `end`. */
function skipName(msg: Buffer, o: number, end: number): number {
  while (o < end) {
    const len = msg[o] ?? 0;
    if (len === 0) return o + 1;
    if ((len & 0xc0) === 0xc0) return o + 2 <= end ? o + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    o += 1 + len;
  }
  return -1;
}

/**
 * The offset of the serial of the one SOA record in `reply` (answer, authority or additional section), or -1
 * when it has none, more than one, or cannot be walked.
 */
export function soaSerialOffset(reply: Buffer): number {
  const end = reply.length;
  if (end < HEADER) return -1;
  const questions = reply.readUInt16BE(4);
  const records = reply.readUInt16BE(6) + reply.readUInt16BE(8) + reply.readUInt16BE(10);
  let o = HEADER;
  for (let i = 0; i < questions; i++) {
    o = skipName(reply, o, end);
    if (o < 0 || o + 4 > end) return -1;
    o += 4;
  }
  let found = -1;
  for (let i = 0; i < records; i++) {
    o = skipName(reply, o, end);
    if (o < 0 || o + 10 > end) return -1;
    const type = reply.readUInt16BE(o);
    const rdlength = reply.readUInt16BE(o + 8);
    const rdata = o + 10;
    if (rdata + rdlength > end) return -1;
    if (type === TYPE_SOA) {
      if (found >= 0) return -1;
      // MNAME and RNAME (possibly compressed), then SERIAL (RFC 1035 §3.3.13).
      const mname = skipName(reply, rdata, rdata + rdlength);
      const serial = mname < 0 ? -1 : skipName(reply, mname, rdata + rdlength);
      if (serial < 0 || serial + 20 !== rdata + rdlength) return -1;
      found = serial;
    }
    o = rdata + rdlength;
  }
  return found;
}
