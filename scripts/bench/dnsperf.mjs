// Run dnsperf against one server and parse its statistics; also samples the load generator's own CPU,
// since on a 2-core machine dnsperf and the server share the cores.
import { spawn, spawnSync } from 'node:child_process';
import { cpuSeconds } from './proc.mjs';

/** Whether a command is on PATH. */
export function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** dnsperf's version string, or undefined when it is missing. */
export function dnsperfVersion() {
  const r = spawnSync('dnsperf', ['-h'], { encoding: 'utf8' });
  if (r.error) return undefined;
  return /Version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/**
 * Parse dnsperf's summary. Returns `{ sent, completed, lost, qps, avgLatencyMs, minLatencyMs, maxLatencyMs,
 * stddevLatencyMs, rcodes, requestBytes, responseBytes, runSeconds }`.
 */
export function parseDnsperf(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const rcodes = {};
  const rc = /Response codes:\s+(.*)/.exec(text);
  if (rc) {
    for (const m of rc[1].matchAll(/([A-Z]+)\s+(\d+)/g)) rcodes[m[1]] = Number(m[2]);
  }
  const lat = /Average Latency \(s\):\s+([\d.]+)\s+\(min\s+([\d.]+),\s+max\s+([\d.]+)\)/.exec(text);
  const size = /Average packet size:\s+request\s+(\d+),\s+response\s+(\d+)/.exec(text);
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: lat ? Number(lat[1]) * 1000 : undefined,
    minLatencyMs: lat ? Number(lat[2]) * 1000 : undefined,
    maxLatencyMs: lat ? Number(lat[3]) * 1000 : undefined,
    stddevLatencyMs: (num(/Latency StdDev \(s\):\s+([\d.]+)/) ?? NaN) * 1000,
    rcodes,
    requestBytes: size ? Number(size[1]) : undefined,
    responseBytes: size ? Number(size[2]) : undefined,
    runSeconds: num(/Run time \(s\):\s+([\d.]+)/),
  };
}

/**
 * Latency percentiles (ms) of the per-query latencies (seconds) dnsperf -v printed: p50, p99, p99.9, and
 * how many answered queries they cover.
 */
export function latencyPercentiles(latencies) {
  const s = Float64Array.from(latencies).sort();
  if (s.length === 0) return {};
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))] * 1000;
  return { p50LatencyMs: at(0.5), p99LatencyMs: at(0.99), p999LatencyMs: at(0.999), latencySamples: s.length };
}

/** The latency (seconds) of one dnsperf -v line, `> NOERROR name type 0.000123`; undefined for other lines. */
export function perQueryLatency(line) {
  if (!line.startsWith('> ')) return undefined;
  const seconds = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(seconds) ? seconds : undefined;
}

/**
 * Run dnsperf for `seconds` against 127.0.0.1:port. Options: `mode` ('udp'|'tcp'), `clients` (-c),
 * `maxQps` (-Q), `outstanding` (-q), `timeoutSeconds` (-t), `maxRuns` (-n: passes through the file), `cpu`
 * (run dnsperf pinned to that CPU), `percentiles` (dnsperf -v: every answered query's latency, read as it
 * streams, for p50/p99/p99.9; dnsperf 2.10 prints no percentiles itself). Resolves with the parsed summary
 * plus `dnsperfCpuSeconds` and the raw output; rejects if dnsperf fails or prints no summary.
 */
export function runDnsperf({ port, queryFile, seconds, mode = 'udp', clients = 10, maxQps, outstanding, timeoutSeconds = 2, maxRuns, cpu, percentiles = false }) {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-c', String(clients), '-l', String(seconds), '-t', String(timeoutSeconds)];
  if (percentiles) args.push('-v');
  if (mode !== 'udp') args.push('-m', mode);
  if (maxQps) args.push('-Q', String(maxQps));
  if (outstanding) args.push('-q', String(outstanding));
  if (maxRuns) args.push('-n', String(maxRuns));
  return new Promise((resolve, reject) => {
    // `cpu`: pin dnsperf to that CPU (taskset), so that it never shares a core with a pinned server.
    const child = cpu === undefined
      ? spawn('dnsperf', args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', String(cpu), 'dnsperf', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let lastCpu = 0;
    // With -v, one line per query: keep only the latencies (a 5 s run prints about 100,000 lines).
    const latencies = [];
    let partial = '';
    child.stdout.on('data', (d) => {
      if (!percentiles) {
        out += d;
        return;
      }
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const seconds = perQueryLatency(line);
        if (seconds === undefined) out += `${line}\n`;
        else latencies.push(seconds);
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    // The last sample before exit approximates dnsperf's total CPU (within the sampling period).
    const sampler = setInterval(() => { lastCpu = cpuSeconds([child.pid]) || lastCpu; }, 200);
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + timeoutSeconds + 30) * 1000);
    child.on('error', (e) => { clearInterval(sampler); clearTimeout(killer); reject(e); });
    child.on('close', (code) => {
      clearInterval(sampler);
      clearTimeout(killer);
      out += partial;
      const parsed = { ...parseDnsperf(out), ...(percentiles ? latencyPercentiles(latencies) : {}) };
      if (parsed.qps === undefined) {
        reject(new Error(`dnsperf ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`));
        return;
      }
      resolve({ ...parsed, dnsperfCpuSeconds: lastCpu, args: args.join(' '), warnings: err.trim().split('\n').filter(Boolean).slice(0, 5) });
    });
  });
}
