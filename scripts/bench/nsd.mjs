// NSD as the reference authoritative server: writes nsd.conf and the zone into a temp dir, checks the
// config, and runs `nsd -d` in the foreground on 127.0.0.1:PORT with one server process.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** NSD's version string, or undefined when it is not installed. */
export function nsdVersion() {
  const r = spawnSync('nsd', ['-v'], { encoding: 'utf8' });
  if (r.error) return undefined;
  return /NSD version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/**
 * nsd.conf for NSD 4.6 running as root in a scratch dir: no privilege drop (`username: ""`), no chroot,
 * no zone database (zones are read from text), no remote control, one server process.
 */
export function nsdConfig({ dir, port, zone, zoneFile, serverCount = 1 }) {
  return `server:
  ip-address: 127.0.0.1
  port: ${port}
  server-count: ${serverCount}
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  pidfile: "${join(dir, 'nsd.pid')}"
  database: ""
  zonelistfile: "${join(dir, 'zone.list')}"
  xfrdfile: "${join(dir, 'xfrd.state')}"
  xfrdir: "${dir}"
  logfile: "${join(dir, 'nsd.log')}"
  verbosity: 0
  hide-version: yes
  tcp-count: 200
  # Response rate limiting (on by default in Debian's build) would drop a benchmark's queries.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "${zone}"
  zonefile: "${zoneFile}"
`;
}

/**
 * Write the config and zone into `dir`, validate with nsd-checkconf and nsd-checkzone, start `nsd -d`.
 * Resolves with `{ child, pid, confPath }` once `isReady()` (a probe the caller supplies) answers.
 */
export async function startNsd({ dir, port, zone, zoneText, isReady, serverCount = 1, readyTimeoutMs = 120_000 }) {
  mkdirSync(dir, { recursive: true });
  const zoneFile = 'bench.zone';
  writeFileSync(join(dir, zoneFile), zoneText);
  const confPath = join(dir, 'nsd.conf');
  writeFileSync(confPath, nsdConfig({ dir, port, zone, zoneFile, serverCount }));
  const check = spawnSync('nsd-checkconf', [confPath], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nsd-checkconf failed: ${check.stderr || check.stdout}`);
  const zcheck = spawnSync('nsd-checkzone', [zone, join(dir, zoneFile)], { encoding: 'utf8' });
  if (zcheck.status !== 0) throw new Error(`nsd-checkzone failed: ${zcheck.stderr || zcheck.stdout}`);
  const child = spawn('nsd', ['-d', '-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nsd exited ${child.exitCode}: ${output}`);
    if (await isReady(port)) return { child, pid: child.pid, confPath };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`nsd not ready within ${readyTimeoutMs} ms: ${output}`);
}
