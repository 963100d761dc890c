/** SRV: where a service runs (RFC 2782): priority, weight, port and target host. */
import { Packet } from 'dns2';
import { type Name, nameToPresentation } from '../name.js';
import type { RdataCodec } from './codec.js';

/** SRV RDATA. */
export interface SrvData {
  readonly kind: 'SRV';
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: Name;
}

/** The SRV record module. */
export const SRV: RdataCodec<SrvData> = {
  kind: 'SRV',
  type: Packet.TYPE.SRV,
  encode(d, w) {
    w.u16(d.priority);
    w.u16(d.weight);
    w.u16(d.port);
    w.name(d.target, false); // RFC 2782: "name compression is not to be used for this field"
  },
  toText: (d) => `${d.priority} ${d.weight} ${d.port} ${nameToPresentation(d.target)}`,
  parse(f) {
    f.expect(4);
    return {
      kind: 'SRV',
      priority: f.uint(0, 0xffff, 'SRV priority'),
      weight: f.uint(1, 0xffff, 'SRV weight'),
      port: f.uint(2, 0xffff, 'SRV port'),
      target: f.name(3, 'SRV target'),
    };
  },
};
