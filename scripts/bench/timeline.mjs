// Load over time, for phases that compare windows of one run (before / during a burst): dnsperf with
// per-second statistics (-S 1) stopped on demand, the fixed-rate UDP prober, and the statistics of either
// within a time window. All times are epoch milliseconds (performance.timeOrigin + performance.now()).
import { fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseDnsperf } from './dnsperf.mjs';
import { percentile } from './control.mjs';

const PROBE = fileURLToPath(new URL('./udp-probe.mjs', import.meta.url));

/** Epoch milliseconds with sub-millisecond resolution. */
export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * Start dnsperf against 127.0.0.1:port with per-second statistics, for at most `maxSeconds` (`maxQps`: -Q).
 * Returns `{ stop() }`; stop() interrupts it (SIGINT: dnsperf still prints its summary) and resolves with
 * the parsed summary plus `perSecond: [{ at, qps }]` (`at`: end of the one-second interval, epoch ms).
 */
export function startDnsperfTimeline({ port, queryFile, maxSeconds, clients = 10, maxQps, timeoutSeconds = 2 }) {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-c', String(clients), '-l', String(maxSeconds), '-t', String(timeoutSeconds), '-S', '1'];
  if (maxQps) args.push('-Q', String(maxQps));
  const child = spawn('dnsperf', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const killer = setTimeout(() => child.kill('SIGKILL'), (maxSeconds + timeoutSeconds + 30) * 1000);
  const closed = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      const summary = parseDnsperf(out);
      // dnsperf -S 1 prints `<epoch seconds>.<micros>: <queries per second>` once a second.
      const perSecond = [...out.matchAll(/^(\d{9,}\.\d+): ([\d.]+)$/gm)].map((m) => ({ at: Number(m[1]) * 1000, qps: Number(m[2]) }));
      if (summary.qps === undefined) reject(new Error(`dnsperf ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`));
      else resolve({ ...summary, perSecond, args: `dnsperf ${args.join(' ')}` });
    });
  });
  return {
    pid: child.pid,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return closed;
    },
  };
}

/**
 * Mean qps of dnsperf's per-second samples over [from, to]: each sample covers the second before its
 * timestamp and counts in proportion to its overlap with the window (a 0.4 s burst still gets a figure).
 */
export function qpsInWindow(perSecond, from, to) {
  let weighted = 0;
  let covered = 0;
  for (const { at, qps } of perSecond) {
    const overlap = Math.min(at, to) - Math.max(at - 1000, from);
    if (overlap <= 0) continue;
    weighted += qps * overlap;
    covered += overlap;
  }
  return covered > 0 ? weighted / covered : undefined;
}

/** Fork the fixed-rate prober (udp-probe.mjs); resolves `{ stop() }` once it sends. stop() resolves with its samples. */
export async function startProbe({ port, rate, queryFile, timeoutMs = 2000 }) {
  const child = fork(PROBE, [String(port), String(rate), queryFile, String(timeoutMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (event) => new Promise((resolve, reject) => {
    const onMessage = (m) => { if (m?.event === event) { child.off('exit', onExit); child.off('message', onMessage); resolve(m); } };
    const onExit = (code) => reject(new Error(`udp-probe exited (${code}) before '${event}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  await next('ready');
  return {
    pid: child.pid,
    async stop() {
      const done = next('done');
      child.send({ op: 'stop' });
      return done;
    },
  };
}

/**
 * Probe statistics for queries sent in [from, to]: sent, answered, lost (no reply within `timeoutMs`),
 * latency p50/p99/max of the answered, p99 counting the lost as `timeoutMs`, and the longest gap between
 * two successive replies (with queries every 0.5 ms, a gap that long means the server answered nothing:
 * an outside reading of its longest stall).
 */
export function probeWindow(samples, from, to, timeoutMs = 2000) {
  const { sentAt, latencyMs, repliedAt } = samples;
  const answered = [];
  const replies = [];
  let sent = 0;
  let lost = 0;
  for (let i = 0; i < sentAt.length; i += 1) {
    if (sentAt[i] < from || sentAt[i] > to) continue;
    sent += 1;
    if (latencyMs[i] < 0 || latencyMs[i] > timeoutMs) lost += 1;
    else {
      answered.push(latencyMs[i]);
      replies.push(repliedAt[i]);
    }
  }
  replies.sort((a, b) => a - b);
  let maxGapMs = 0;
  for (let i = 1; i < replies.length; i += 1) maxGapMs = Math.max(maxGapMs, replies[i] - replies[i - 1]);
  const withLost = answered.concat(Array.from({ length: lost }, () => timeoutMs));
  return {
    sent,
    answered: answered.length,
    lost,
    p50Ms: percentile(answered, 50),
    p99Ms: percentile(answered, 99),
    p99WithLostMs: percentile(withLost, 99),
    maxMs: percentile(answered, 100),
    maxReplyGapMs: maxGapMs,
  };
}
