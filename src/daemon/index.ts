/** The daemon: composition root and store selection. */
export { startBeacon, dnsMetricsFrom, BEACON_VERSION, type Beacon, type BeaconInfo } from './beacon.js';
export { openStore } from './store.js';
