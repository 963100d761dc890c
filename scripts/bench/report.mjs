// Medians over rounds and the printed results table.

/** Median of the finite numbers in `values` (undefined if none). */
export function median(values) {
  const s = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const FIELDS = ['qps', 'avgLatencyMs', 'p50LatencyMs', 'p99LatencyMs', 'p999LatencyMs', 'maxLatencyMs', 'lost', 'sent', 'cpuUsPerQuery', 'serverCpuShare', 'dnsperfCpuShare', 'otherCpuShare', 'responseBytes'];

/** Per-field medians of a list of dnsperf run results. */
export function medianRun(runs) {
  const out = { rounds: runs.length };
  for (const f of FIELDS) out[f] = median(runs.map((r) => r[f]));
  // Response-code mix of the first round (identical query file every round).
  out.rcodes = runs[0]?.rcodes;
  return out;
}

function fmt(v, digits = 0) {
  if (v === undefined || v === null || Number.isNaN(v)) return '-';
  return Number(v).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function pad(s, n, right = false) {
  s = String(s);
  return right ? s.padEnd(n) : s.padStart(n);
}

/**
 * Text table: one row per (phase, server) with qps, ratio to NSD and to the Node ceiling of the same phase,
 * average, p99 (phases run with per-query latencies) and max latency, lost queries, server CPU per query and its ratio to NSD's, response size, and
 * the CPU (in cores) that other processes used meanwhile ('noise').
 */
export function formatTable(phases) {
  const head = [pad('phase', 22, true), pad('server', 18, true), pad('qps', 9), pad('/NSD', 6), pad('/ceil', 6), pad('avg ms', 7), pad('p99 ms', 7), pad('max ms', 7), pad('lost', 7), pad('CPU us/q', 9), pad('cpu/NSD', 7), pad('resp B', 7), pad('noise', 6)];
  const lines = [head.join(' '), '-'.repeat(head.join(' ').length)];
  for (const phase of phases) {
    for (const [name, m] of Object.entries(phase.medians)) {
      // Ratios against NSD and the ceiling with the same process count (`beacon x2` vs `nsd x2`).
      const suffix = / x\d+$/.exec(name)?.[0] ?? '';
      // 'ceiling 180B' is a variant of the ceiling, compared to NSD only.
      const nsd = phase.medians[`nsd${suffix}`]?.qps;
      const nsdCpu = phase.medians[`nsd${suffix}`]?.cpuUsPerQuery;
      const ceil = phase.medians[`ceiling${suffix}`]?.qps;
      const isRef = name.startsWith('nsd') || name.startsWith('ceiling');
      lines.push([
        pad(phase.title, 22, true), pad(name, 18, true), pad(fmt(m.qps), 9),
        pad(nsd && !name.startsWith('nsd') ? (m.qps / nsd).toFixed(2) : '', 6),
        pad(ceil && !isRef ? (m.qps / ceil).toFixed(2) : '', 6),
        pad(fmt(m.avgLatencyMs, 3), 7), pad(fmt(m.p99LatencyMs, 3), 7), pad(fmt(m.maxLatencyMs, 1), 7), pad(fmt(m.lost), 7),
        pad(fmt(m.cpuUsPerQuery, 1), 9),
        // Efficiency: NSD's CPU per query over this server's (1.00 = as frugal as NSD). Robust to machine noise.
        pad(nsdCpu && !name.startsWith('nsd') ? (nsdCpu / m.cpuUsPerQuery).toFixed(2) : '', 7),
        pad(fmt(m.responseBytes), 7), pad(fmt(m.otherCpuShare, 2), 6),
      ].join(' '));
    }
  }
  return lines.join('\n');
}
