// The SRV target name Beacon derives for an instance without `host` (src/dns/hosts.ts: IPv4 dots become
// dashes under `addr.<domain>`, `10.0.0.1` -> `10-0-0-1.addr.local.`), mirrored here so that the zone file
// NSD serves holds the very same names. The answer cross-check in bench.mjs catches any drift.
import { defaultDeriveTarget } from './dataset.mjs';

/** SRV target for an IPv4 address in `domain`, as Beacon names it. */
export function deriveTarget(address, domain) {
  return defaultDeriveTarget(address, domain);
}
