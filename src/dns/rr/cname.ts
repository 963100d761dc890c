/** CNAME: the canonical name of an alias (RFC 1035 §3.3.1). */
import { Packet } from 'dns2';
import type { Name } from '../name.js';
import type { RdataCodec } from './codec.js';
import { singleNameCodec } from './single-name.js';

/** CNAME RDATA: one name. */
export interface CnameData {
  readonly kind: 'CNAME';
  readonly target: Name;
}

/** The CNAME record module. */
export const CNAME: RdataCodec<CnameData> = singleNameCodec('CNAME', Packet.TYPE.CNAME);
