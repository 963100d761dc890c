/** SOA: the start of a zone of authority (RFC 1035 §3.3.13); `minimum` is the negative-caching TTL (RFC 2308 §4). */
import { Packet } from 'dns2';
import { type Name, nameToPresentation } from '../name.js';
import type { RdataCodec } from './codec.js';

/** SOA RDATA. */
export interface SoaData {
  readonly kind: 'SOA';
  readonly mname: Name;
  readonly rname: Name;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

/** The SOA record module. */
export const SOA: RdataCodec<SoaData> = {
  kind: 'SOA',
  type: Packet.TYPE.SOA,
  encode(d, w) {
    w.name(d.mname, true);
    w.name(d.rname, true);
    w.u32(d.serial);
    w.u32(d.refresh);
    w.u32(d.retry);
    w.u32(d.expire);
    w.u32(d.minimum);
  },
  toText: (d) =>
    `${nameToPresentation(d.mname)} ${nameToPresentation(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`,
  parse(f) {
    f.expect(7);
    return {
      kind: 'SOA',
      mname: f.name(0, 'SOA mname'),
      rname: f.name(1, 'SOA rname'),
      serial: f.uint(2, 0xffffffff, 'SOA serial'),
      refresh: f.ttl(3, 'SOA refresh'),
      retry: f.ttl(4, 'SOA retry'),
      expire: f.ttl(5, 'SOA expire'),
      minimum: f.ttl(6, 'SOA minimum'),
    };
  },
};
