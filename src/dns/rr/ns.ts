/** NS: an authoritative name server of the zone (RFC 1035 §3.3.11). */
import { Packet } from 'dns2';
import type { Name } from '../name.js';
import type { RdataCodec } from './codec.js';
import { singleNameCodec } from './single-name.js';

/** NS RDATA: one name. */
export interface NsData {
  readonly kind: 'NS';
  readonly target: Name;
}

/** The NS record module. */
export const NS: RdataCodec<NsData> = singleNameCodec('NS', Packet.TYPE.NS);
