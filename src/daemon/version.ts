/** Beacon's version, in a module of its own so that client commands need not load the daemon to print it. */
export const BEACON_VERSION = '0.1.0';
