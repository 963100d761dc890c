/** Active health checks (HTTP, TCP) and TTL expiry. */
export { httpProbe, tcpProbe, type ProbeOptions, type ProbeResult } from './probes.js';
export { HealthChecker, defaultProbeRunner, type CheckResultEvent, type HealthCheckerOptions, type ProbeRunner } from './checker.js';
export { Reaper, type ReaperOptions } from './reaper.js';
