// The SRV target name Beacon derives for an instance without `host` (src/dns), mirrored here so that
// the zone file NSD serves holds the very same names. The answer cross-check in bench.mjs catches drift.
import { defaultDeriveTarget } from './dataset.mjs';

/** SRV target for an address in `domain`, as Beacon names it. */
export function deriveTarget(address, domain) {
  return defaultDeriveTarget(address, domain);
}
