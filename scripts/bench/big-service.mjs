// The big-service phase, three parts, each on its own daemon (`beacon serve`, SQLite):
//   writes   registration rate into a service of `bigInstances` vs one of `smallInstances`, sequential
//            (1 client) and concurrent (`writeClients`), replacing existing instances (sizes unchanged)
//            and adding new ones; ratio big / small within the run. Both services are written into the
//            database before the daemon starts (see daemon.mjs: seeding through the API is what is slow).
//   fill     `fillInstances` new instances into one empty service over the control socket with
//            `writeClients` clients, bounded by `fillSeconds`: time (or count reached), and the rate per
//            tenth of what was acknowledged, which shows whether writes slow down as the service grows.
//   answers  SRV, A and PTR of a service of `answerInstances` over UDP (EDNS 1232) and TCP: rcode, TC,
//            records, size, latency, and rotation coverage (successive queries until every instance has
//            appeared, up to `maxQueries`); the same for a 30-instance service over UDP, 10 queries.
import { countLost, register, registrationBody, runClients, seedId, summarizeRegistrations } from './control.mjs';
import { startDaemon } from './daemon.mjs';
import { instanceKey, queryDns } from './dns-query.mjs';

const DOMAIN = 'local.';

/** Registration rates into the big and the small service; see the file comment. */
async function measureWrites(o, log) {
  const big = { name: 'big', count: o.bigInstances, prefix: 'b', firstK: 0 };
  const small = { name: 'small', count: o.smallInstances, prefix: 's', firstK: o.bigInstances };
  const daemon = await startDaemon({ store: o.store, extraArgs: o.extraArgs, seed: [big, small] });
  const rows = [];
  let fresh = 0;
  try {
    for (const kind of ['replace', 'new']) {
      for (const [mode, clients, count] of [['sequential', 1, o.seqCount], ['concurrent', o.writeClients, o.concCount]]) {
        const row = { kind, mode, clients };
        for (const svc of [small, big]) {
          const jobs = Array.from({ length: count }, (_, n) => {
            if (kind === 'replace') {
              // Same instance, same address, new version metadata: a deploy re-registering what exists.
              const i = n % svc.count;
              return () => register(daemon.socketPath, svc.name, seedId(svc.prefix, i), registrationBody(svc.firstK + i, `v2-${mode}-${n}`));
            }
            const k = 110_000 + fresh++;
            return () => register(daemon.socketPath, svc.name, `new-${k}`, registrationBody(k));
          });
          const s = summarizeRegistrations(await runClients(jobs, { clients, maxSeconds: o.writeSeconds }));
          row[svc.name] = s;
          if (kind === 'new') svc.count += s.acknowledged;
        }
        row.ratio = row.big.perSecond / row.small.perSecond;
        rows.push(row);
        log(`  ${kind} ${mode} (${clients} client${clients > 1 ? 's' : ''}): into ${o.bigInstances} ${row.big.perSecond.toFixed(1)}/s (p50 ${row.big.p50Ms?.toFixed(1)} ms, p99 ${row.big.p99Ms?.toFixed(1)} ms, ${row.big.acknowledged} acked, ${row.big.errors} errors), into ${o.smallInstances} ${row.small.perSecond.toFixed(1)}/s (p50 ${row.small.p50Ms?.toFixed(1)} ms, p99 ${row.small.p99Ms?.toFixed(1)} ms): ratio ${row.ratio.toFixed(3)}`);
      }
    }
    return { command: daemon.command, rows };
  } finally {
    await daemon.stop();
  }
}

/** Fill one service over the control socket; see the file comment. */
async function measureFill(o, log) {
  const daemon = await startDaemon({ store: o.store, extraArgs: o.extraArgs });
  try {
    const jobs = Array.from({ length: o.fillInstances }, (_, i) => () => register(daemon.socketPath, 'fill', seedId('f', i), registrationBody(i)));
    const run = await runClients(jobs, { clients: o.writeClients, maxSeconds: o.fillSeconds });
    const summary = summarizeRegistrations(run);
    // Rate per tenth of what was acknowledged (the target may not be reached within the bound).
    const acks = run.results.filter((r) => r.ok).map((r) => r.at).sort((a, b) => a - b);
    const step = Math.max(1, Math.floor(acks.length / 10));
    const tenths = [];
    for (let from = 0; from + step <= acks.length; from += step) {
      const t0 = from === 0 ? run.startedAt : acks[from - 1];
      tenths.push({ upTo: from + step, perSecond: step / ((acks[from + step - 1] - t0) / 1000) });
    }
    const acknowledged = run.results.filter((r) => r.ok).map((r) => ['fill', seedId('f', r.job)]);
    const lost = await countLost(daemon.socketPath, acknowledged);
    const complete = summary.acknowledged === o.fillInstances;
    log(`  fill: ${summary.acknowledged}/${o.fillInstances} instances into one service in ${summary.seconds.toFixed(1)} s${complete ? '' : ` (stopped at the ${o.fillSeconds} s bound)`} = ${summary.perSecond.toFixed(0)}/s, p50 ${summary.p50Ms?.toFixed(1)} ms, p99 ${summary.p99Ms?.toFixed(1)} ms, errors ${summary.errors}, lost ${lost.lost}`);
    log(`  fill rate per ${step} acknowledged (up to N: rate/s): ${tenths.map((t) => `${t.upTo}: ${t.perSecond.toFixed(0)}`).join(', ')}`);
    return { command: daemon.command, target: o.fillInstances, complete, ...summary, tenths, lost: lost.lost };
  } finally {
    await daemon.stop();
  }
}

/**
 * Rotation coverage: ask the same question up to `maxQueries` times and count the distinct instances
 * answered, until all `expected` have appeared. Stops early after 3 answers with no record of the type.
 */
async function coverage(port, name, type, transport, expected, maxQueries) {
  const seen = new Map();
  let queries = 0;
  let empty = 0;
  let allAfter;
  while (queries < maxQueries && allAfter === undefined && empty < 3) {
    const r = await queryDns(port, name, type, { transport });
    queries += 1;
    const keys = r.answers.filter((a) => a.type === type).map(instanceKey);
    if (keys.length === 0) empty += 1;
    for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
    if (seen.size >= expected) allAfter = queries;
  }
  return { queries, distinct: seen.size, allAfter, maxTimesSeen: Math.max(0, ...seen.values()) };
}

/** One question answered 5 times: the first answer's shape, the median latency, and the rotation coverage. */
async function describeAnswers(port, name, type, transport, expected, maxQueries) {
  const replies = [];
  for (let i = 0; i < 5; i += 1) replies.push(await queryDns(port, name, type, { transport }));
  const first = replies[0];
  const records = first.answers.filter((a) => a.type === type).length;
  const ms = replies.map((r) => r.ms).sort((a, b) => a - b);
  const bound = records > 0 ? Math.ceil(expected / records) + 1 : undefined;
  const cover = await coverage(port, name, type, transport, expected, bound === undefined ? 3 : Math.min(maxQueries, Math.max(bound * 2, 10)));
  return { type, transport, rcode: first.rcode, truncated: first.truncated, records, bytes: first.bytes, medianMs: ms[2], maxMs: ms[4], expected, coverageBound: bound, ...cover };
}

/** Answers for a large service and a 30-instance one; see the file comment. */
async function measureAnswers(o, log) {
  const daemon = await startDaemon({ store: o.store, extraArgs: o.extraArgs, seed: [{ name: 'large', count: o.answerInstances, prefix: 'a' }, { name: 'thirty', count: 30, prefix: 't' }] });
  const rows = [];
  try {
    const cases = [];
    for (const transport of ['udp', 'tcp']) for (const type of ['SRV', 'A', 'PTR']) cases.push(['large', o.answerInstances, type, transport, o.maxQueries]);
    for (const type of ['SRV', 'A', 'PTR']) cases.push(['thirty', 30, type, 'udp', 10]);
    for (const [service, expected, type, transport, maxQueries] of cases) {
      const row = { service, ...(await describeAnswers(daemon.port, `_${service}._tcp.${DOMAIN}`, type, transport, expected, maxQueries)) };
      rows.push(row);
      const cover = row.allAfter !== undefined ? `all ${expected} after ${row.allAfter} queries (bound ${row.coverageBound})` : `${row.distinct}/${expected} seen in ${row.queries} queries`;
      log(`  ${service} (${expected}) ${type} ${transport.toUpperCase()}: rcode ${row.rcode}${row.truncated ? ' TC' : ''}, ${row.records} records, ${row.bytes} B, median ${row.medianMs.toFixed(2)} ms, max ${row.maxMs.toFixed(2)} ms; ${cover}, most seen ${row.maxTimesSeen}x`);
    }
    return { command: daemon.command, rows };
  } finally {
    await daemon.stop();
  }
}

/**
 * Run the phase. Options: `store`, `extraArgs`, `bigInstances`, `smallInstances`, `seqCount`, `concCount`,
 * `writeClients`, `writeSeconds`, `fillInstances`, `fillSeconds`, `answerInstances`, `maxQueries`, `log`.
 */
export async function runBigService(o) {
  const log = o.log ?? (() => {});
  const writes = await measureWrites(o, log);
  const fill = await measureFill(o, log);
  const answers = await measureAnswers(o, log);
  return { options: { ...o, log: undefined }, writes, fill, answers };
}
