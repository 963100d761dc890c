/** PTR: a pointer to another name (RFC 1035 §3.3.12); DNS-SD browsing (RFC 6763 §4.1). */
import { Packet } from 'dns2';
import type { Name } from '../name.js';
import type { RdataCodec } from './codec.js';
import { singleNameCodec } from './single-name.js';

/** PTR RDATA: one name. */
export interface PtrData {
  readonly kind: 'PTR';
  readonly target: Name;
}

/** The PTR record module. */
export const PTR: RdataCodec<PtrData> = singleNameCodec('PTR', Packet.TYPE.PTR);
