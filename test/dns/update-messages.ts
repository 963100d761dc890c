/**
 * Building DNS UPDATE messages for tests, by hand and independently of src/dns/update: records with raw RDATA
 * (class ANY/NONE deletes carry none, which dns-packet cannot encode), and TSIG signing per RFC 8945 §4.3.3.
 */
import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/** One record to put in a section. */
export interface TestRecord {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  rdata: Buffer;
}

export const T = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, TSIG: 250, ANY: 255 } as const;
export const C = { IN: 1, NONE: 254, ANY: 255 } as const;

/** A name in uncompressed wire form (labels split on unescaped dots). */
export function wireName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.replace(/\.$/, '').split('.').filter((l) => l.length > 0)) {
    const b = Buffer.from(label, 'utf8');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export const rdata = {
  a: (ip: string): Buffer => Buffer.from(ip.split('.').map(Number)),
  ptr: (target: string): Buffer => wireName(target),
  srv: (priority: number, weight: number, port: number, target: string): Buffer => {
    const b = Buffer.alloc(6);
    b.writeUInt16BE(priority, 0);
    b.writeUInt16BE(weight, 2);
    b.writeUInt16BE(port, 4);
    return Buffer.concat([b, wireName(target)]);
  },
  txt: (...strings: string[]): Buffer => Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]))),
};

/** An add (class IN). */
export const add = (name: string, type: number, data: Buffer, ttl = 60): TestRecord => ({ name, type, klass: C.IN, ttl, rdata: data });
/** Delete an RRset (class ANY, type T) or every RRset of a name (type ANY). */
export const deleteRRset = (name: string, type: number): TestRecord => ({ name, type, klass: C.ANY, ttl: 0, rdata: Buffer.alloc(0) });
/** Delete one RR (class NONE). */
export const deleteRR = (name: string, type: number, data: Buffer): TestRecord => ({ name, type, klass: C.NONE, ttl: 0, rdata: data });
/** Prerequisites (RFC 2136 §2.4). */
export const pre = {
  yxdomain: (name: string): TestRecord => ({ name, type: T.ANY, klass: C.ANY, ttl: 0, rdata: Buffer.alloc(0) }),
  nxdomain: (name: string): TestRecord => ({ name, type: T.ANY, klass: C.NONE, ttl: 0, rdata: Buffer.alloc(0) }),
  yxrrset: (name: string, type: number): TestRecord => ({ name, type, klass: C.ANY, ttl: 0, rdata: Buffer.alloc(0) }),
  nxrrset: (name: string, type: number): TestRecord => ({ name, type, klass: C.NONE, ttl: 0, rdata: Buffer.alloc(0) }),
  value: (name: string, type: number, data: Buffer): TestRecord => ({ name, type, klass: C.IN, ttl: 0, rdata: data }),
};

function encodeRecord(r: TestRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.klass, 2);
  fixed.writeUInt32BE(r.ttl, 4);
  fixed.writeUInt16BE(r.rdata.length, 8);
  return Buffer.concat([wireName(r.name), fixed, r.rdata]);
}

/** An OPT record carrying an update lease (RFC 9664 §4). */
export function leaseOpt(seconds: number): TestRecord {
  const option = Buffer.alloc(8);
  option.writeUInt16BE(2, 0);
  option.writeUInt16BE(4, 2);
  option.writeUInt32BE(seconds, 4);
  return { name: '.', type: T.OPT, klass: 1232, ttl: 0, rdata: option };
}

/** The UPDATE message: zone section, prerequisites, updates, additional. */
export function updateMessage(p: { id?: number; zone?: string; zoneType?: number; zoneClass?: number; prereq?: TestRecord[]; updates?: TestRecord[]; additional?: TestRecord[] }): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(p.id ?? 0x1234, 0);
  head.writeUInt16BE(5 << 11, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(p.prereq?.length ?? 0, 6);
  head.writeUInt16BE(p.updates?.length ?? 0, 8);
  head.writeUInt16BE(p.additional?.length ?? 0, 10);
  const zone = Buffer.alloc(4);
  zone.writeUInt16BE(p.zoneType ?? T.SOA, 0);
  zone.writeUInt16BE(p.zoneClass ?? C.IN, 2);
  return Buffer.concat([head, wireName(p.zone ?? 'local.'), zone, ...[...(p.prereq ?? []), ...(p.updates ?? []), ...(p.additional ?? [])].map(encodeRecord)]);
}

/** A shared key for tests. */
export interface TestKey {
  name: string;
  algorithm: 'hmac-sha256' | 'hmac-sha512';
  secret: Buffer;
}

/** Append a TSIG (RFC 8945 §4.3.3): MAC over the message, then the variables. */
export function sign(msg: Buffer, key: TestKey, timeSigned: number, fudge = 300): { signed: Buffer; mac: Buffer } {
  const keyName = wireName(key.name.toLowerCase());
  const alg = wireName(key.algorithm);
  const vars1 = Buffer.alloc(6);
  vars1.writeUInt16BE(255, 0);
  const times = Buffer.alloc(8);
  times.writeUIntBE(timeSigned, 0, 6);
  times.writeUInt16BE(fudge, 6);
  const errOther = Buffer.alloc(4);
  const mac = createHmac(key.algorithm === 'hmac-sha256' ? 'sha256' : 'sha512', key.secret).update(Buffer.concat([msg, keyName, vars1, alg, times, errOther])).digest();
  const macSize = Buffer.alloc(2);
  macSize.writeUInt16BE(mac.length, 0);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(msg.readUInt16BE(0), 0);
  const rdataBuf = Buffer.concat([alg, times, macSize, mac, tail]);
  const rr = encodeRecord({ name: key.name, type: T.TSIG, klass: 255, ttl: 0, rdata: rdataBuf });
  const signed = Buffer.concat([msg, rr]);
  signed.writeUInt16BE(signed.readUInt16BE(10) + 1, 10);
  return { signed, mac };
}

/** Check a reply's TSIG MAC (RFC 8945 §4.3.1): request MAC, reply without the TSIG, variables. */
export function replyMacValid(reply: Buffer, requestMac: Buffer, key: TestKey): boolean {
  // Find the TSIG start: the reply is ours, uncompressed; its owner name is the key name.
  const owner = wireName(key.name.toLowerCase());
  const start = reply.lastIndexOf(Buffer.concat([owner, Buffer.from([0, 250, 0, 255])]));
  if (start < 0) return false;
  const rd = reply.subarray(start + owner.length + 10);
  const alg = wireName(key.algorithm);
  const times = rd.subarray(alg.length, alg.length + 8);
  const macSize = rd.readUInt16BE(alg.length + 8);
  const mac = rd.subarray(alg.length + 10, alg.length + 10 + macSize);
  const after = rd.subarray(alg.length + 10 + macSize);
  const error = after.subarray(2, 4);
  const otherLen = after.readUInt16BE(4);
  const other = after.subarray(4, 6 + otherLen);
  const head = Buffer.from(reply.subarray(0, start));
  head.writeUInt16BE(head.readUInt16BE(10) - 1, 10);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(requestMac.length, 0);
  const vars1 = Buffer.alloc(6);
  vars1.writeUInt16BE(255, 0);
  const expected = createHmac(key.algorithm === 'hmac-sha256' ? 'sha256' : 'sha512', key.secret)
    .update(Buffer.concat([len, requestMac, head, owner, vars1, alg, times, error, other]))
    .digest();
  return expected.equals(mac);
}

/** The TSIG error field of a reply's last record, or undefined without a TSIG. */
export function tsigError(reply: Buffer, key: TestKey): number | undefined {
  const owner = wireName(key.name.toLowerCase());
  const start = reply.lastIndexOf(Buffer.concat([owner, Buffer.from([0, 250, 0, 255])]));
  if (start < 0) return undefined;
  const rd = reply.subarray(start + owner.length + 10);
  const alg = wireName(key.algorithm);
  const macSize = rd.readUInt16BE(alg.length + 8);
  return rd.readUInt16BE(alg.length + 10 + macSize + 2);
}

/** Send one message over UDP and wait for the reply (bounded). */
export function sendUdp(port: number, msg: Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no UDP reply'));
    }, timeoutMs);
    socket.once('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(msg, port, '127.0.0.1');
  });
}

/** Send one message over TCP and wait for the reply (bounded). */
export function sendTcp(port: number, msg: Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no TCP reply'));
    }, timeoutMs);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    socket.on('error', reject);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length, 0);
    socket.write(Buffer.concat([len, msg]));
  });
}

/** The rcode of a reply (header only). */
export const rcodeOf = (reply: Buffer): number => (reply.readUInt16BE(2) & 0xf);
