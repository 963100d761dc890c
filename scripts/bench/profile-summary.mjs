// Summarise a V8 .cpuprofile (node --cpu-prof): self time per function and per source file, busy time only.
// Usage: node scripts/bench/profile-summary.mjs FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Short location of a call frame: file path relative to the repo's dist/ or node: internals. */
function where(frame) {
  const url = frame.url || '';
  if (!url) return '';
  const short = url.replace(/^file:\/\/.*?\/(dist|scripts|node_modules)\//, '$1/').replace(/^node:/, 'node:');
  return `${short}:${frame.lineNumber + 1}`;
}

/**
 * Self time per function in milliseconds, from samples and time deltas. Returns
 * `{ totalMs, idleMs, busyMs, functions: [{ name, where, selfMs, share }], files: [{ file, selfMs, share }] }`
 * where shares are fractions of busy (non-idle) time.
 */
export function summarizeProfile(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfById = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i += 1) {
    // timeDeltas[i] is the time since the previous sample; it is charged to the sample that follows it.
    const dt = (timeDeltas[i] ?? 0) / 1000;
    selfById.set(samples[i], (selfById.get(samples[i]) ?? 0) + dt);
  }
  const fnMap = new Map();
  const fileMap = new Map();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of selfById) {
    const node = byId.get(id);
    if (!node) continue;
    totalMs += ms;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') { idleMs += ms; continue; }
    const loc = where(node.callFrame);
    const key = `${name} ${loc}`;
    const e = fnMap.get(key) ?? { name, where: loc, selfMs: 0 };
    e.selfMs += ms;
    fnMap.set(key, e);
    const file = loc ? loc.replace(/:\d+$/, '') : name;
    fileMap.set(file, (fileMap.get(file) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  // Inclusive time: a node's self time plus its subtree's; per function, each stack counts a function once.
  const inclusive = new Map();
  const walk = (id, onStack) => {
    const node = byId.get(id);
    if (!node) return 0;
    const name = node.callFrame.functionName || '(anonymous)';
    const key = `${name} ${where(node.callFrame)}`;
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    let total = selfById.get(id) ?? 0;
    for (const c of node.children ?? []) total += walk(c, onStack);
    if (fresh) {
      onStack.delete(key);
      if (name !== '(idle)' && name !== '(root)') {
        const e = inclusive.get(key) ?? { name, where: where(node.callFrame), totalMs: 0 };
        e.totalMs += total;
        inclusive.set(key, e);
      }
    }
    return total;
  };
  if (profile.nodes[0]) walk(profile.nodes[0].id, new Set());
  const functions = [...fnMap.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)
    .map((f) => ({ ...f, share: busyMs ? f.selfMs / busyMs : 0 }));
  const files = [...fileMap.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([file, selfMs]) => ({ file, selfMs, share: busyMs ? selfMs / busyMs : 0 }));
  const inclusiveTop = [...inclusive.values()].sort((a, b) => b.totalMs - a.totalMs).slice(0, top)
    .map((f) => ({ ...f, share: busyMs ? f.totalMs / busyMs : 0 }));
  return { totalMs, idleMs, busyMs, functions, files, inclusive: inclusiveTop };
}

/** Human-readable table of a summary. */
export function formatProfile(summary) {
  const pct = (x) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [`profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy (${summary.idleMs.toFixed(0)} ms idle)`, '', 'top self time (share of busy):'];
  for (const f of summary.functions) lines.push(`  ${pct(f.share)}  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
  if (summary.inclusive) {
    lines.push('', 'top inclusive time (self + callees, share of busy):');
    for (const f of summary.inclusive) lines.push(`  ${pct(f.share)}  ${f.totalMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
  }
  lines.push('', 'by file:');
  for (const f of summary.files) lines.push(`  ${pct(f.share)}  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.file}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node scripts/bench/profile-summary.mjs FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const ti = process.argv.indexOf('--top');
  const top = ti >= 0 ? Number(process.argv[ti + 1]) : 25;
  console.log(formatProfile(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), top)));
}
