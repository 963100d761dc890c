// The memory phase: the daemon's resident memory with a large registry and a full response cache, read from
// outside the way an operator reads it (/proc/PID/status), with no collection forced.
//   1. `beacon serve` (SQLite, one process, started with the node flags its build's `npm start` passes)
//      holds `services x instances` instances (default 10,000 x 10): seeded into its database before it
//      starts (`load: 'seed'`, the default), or registered over the control socket by 50 clients, one
//      connection each like the CLI (`load: 'api'`, how a registry fills in use);
//   2. RSS 3 s after that (ready, or the last registration acknowledged);
//   3. `questions` distinct questions over UDP (default 100,000: every service's SRV first, up to a tenth,
//      then instance SRV, instance TXT and SRV-target A in turn, as scripts/bench/cache-memory.mjs asks
//      them in process), at most `window` unanswered at a time;
//   4. RSS `settleSeconds` after the last answer, and the peak (VmHWM) over the whole run;
//   5. with `quietSeconds`, RSS once the daemon has been left alone that long (V8 shrinks an idle heap on
//      its own timer, about a minute after the last allocation burst).
// The in-process figure (cache-memory.mjs) collects garbage before it reads; this one is what the process
// holds, garbage included, which is what counts against a memory limit.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { controlRequest, loadAddress, register, registrationBody, runClients, seedId } from './control.mjs';
import { defaultDeriveTarget } from './dataset.mjs';
import { startDaemon } from './daemon.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const DOMAIN = 'local.';

/** VmRSS and VmHWM of a process, in MiB. */
function residentMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** A DNS query for (name, type), RD set, no EDNS (encoded by dns-packet, not by the server's codec). */
function query(name, type, id) {
  return dnsPacket.encode({ type: 'query', id: id & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
}

/** Service `s` of the seeded registry, and the id of its instance `i`. */
const serviceName = (s) => `mem${String(s).padStart(5, '0')}`;
const instanceId = (s, i) => seedId(`m${s}`, i);

/** A reply not come this long after the last one: what is still unanswered was lost. */
const LOST_AFTER_MS = 1000;

/**
 * Run the phase; resolves `{ rssReadyMiB, rssAfterMiB, peakMiB, rssQuietMiB?, answered, lost, cached }`.
 * Options: services, instances, questions, load ('seed' | 'api'), extraArgs (for `beacon serve`), window
 * (unanswered at a time), settleSeconds, quietSeconds (0: not measured), log.
 */
export async function runDaemonMemory({ services = 10_000, instances = 10, questions = 100_000, load = 'seed', extraArgs = [], window = 200, settleSeconds = 5, quietSeconds = 0, log = () => {} } = {}) {
  if (load !== 'seed' && load !== 'api') throw new Error(`memory load: 'seed' or 'api', not ${JSON.stringify(load)}`);
  const total = services * instances;
  const serviceQuestions = Math.min(services, Math.floor(questions / 10));
  // Three questions per instance after the services': more would ask some twice, and cache nothing new.
  if (questions - serviceQuestions > 3 * total) throw new Error(`${questions} distinct questions need at least ${Math.ceil((questions - serviceQuestions) / 3)} instances, not ${total}`);
  // Instance i of service s is number k = s * instances + i, with address loadAddress(k) (seedRecords numbers
  // them in that order, and the API load sends registrationBody(k)).
  const seed = Array.from({ length: services }, (_, s) => ({ name: serviceName(s), count: instances, prefix: `m${s}` }));
  const daemon = await startDaemon(load === 'seed' ? { seed, extraArgs } : { extraArgs });
  const socket = dgram.createSocket('udp4');
  try {
    if (load === 'api') {
      const jobs = Array.from({ length: total }, (_, k) => () => register(daemon.socketPath, serviceName(Math.floor(k / instances)), instanceId(Math.floor(k / instances), k % instances), registrationBody(k, 'v1')));
      const run = await runClients(jobs, { clients: 50 });
      const failed = run.results.filter((r) => !r.ok).length;
      if (failed > 0) throw new Error(`${failed} of ${jobs.length} registrations failed`);
      log(`  ${jobs.length} instances registered over the control socket in ${run.seconds.toFixed(1)} s`);
    }
    await sleep(3000);
    const ready = residentMiB(daemon.pid);
    log(`  ${total} instances ${load === 'seed' ? 'loaded' : 'registered'}: RSS ${ready.rss.toFixed(1)} MiB`);

    const question = (n) => {
      if (n < serviceQuestions) return [`_${serviceName(n)}._tcp.${DOMAIN}`, 'SRV'];
      const k = n - serviceQuestions;
      const at = Math.floor(k / 3);
      const s = Math.floor(at / instances);
      const instanceName = `${instanceId(s, at % instances)}._${serviceName(s)}._tcp.${DOMAIN}`;
      if (k % 3 === 0) return [instanceName, 'SRV'];
      if (k % 3 === 1) return [instanceName, 'TXT'];
      return [defaultDeriveTarget(loadAddress(at), DOMAIN), 'A'];
    };

    let replies = 0;
    let answered = 0;
    let lost = 0;
    let lastReplyAt = performance.now();
    let wake;
    socket.on('message', (m) => {
      replies += 1;
      if (m.readUInt16BE(6) > 0) answered += 1;
      lastReplyAt = performance.now();
      wake?.();
    });
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
    // Wait while more than `limit` are unanswered; a datagram lost (or a daemon gone) must not stall the run.
    const drainTo = async (sent, limit) => {
      while (sent - replies - lost > limit) {
        await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 50); });
        if (performance.now() - lastReplyAt < LOST_AFTER_MS) continue;
        process.kill(daemon.pid, 0); // throws once the daemon is gone
        lost = sent - replies;
        lastReplyAt = performance.now();
      }
    };
    for (let n = 0; n < questions; n += 1) {
      const [name, type] = question(n);
      socket.send(query(name, type, n), daemon.port, '127.0.0.1');
      await drainTo(n + 1, window);
    }
    await drainTo(questions, 0);
    await sleep(settleSeconds * 1000);
    const after = residentMiB(daemon.pid);
    const stats = await controlRequest(daemon.socketPath, 'GET', '/v1/stats');
    const cached = stats.body?.dns?.cacheEntries;
    log(`  after ${questions} distinct questions (${answered} answered, ${lost} lost, ${cached ?? '-'} cached): RSS ${after.rss.toFixed(1)} MiB ${settleSeconds} s after the last answer, peak ${after.peak.toFixed(1)} MiB`);
    if (answered < questions * 0.99) log(`  WARNING: only ${answered} of ${questions} questions answered with records: the cache holds fewer than asked`);
    let quiet;
    if (quietSeconds > 0) {
      await sleep(Math.max(0, quietSeconds - settleSeconds) * 1000);
      quiet = residentMiB(daemon.pid);
      log(`  left alone ${quietSeconds} s after the last question: RSS ${quiet.rss.toFixed(1)} MiB`);
    }
    return { services, instances, questions, load, answered, lost, cached, rssReadyMiB: ready.rss, rssAfterMiB: after.rss, peakMiB: after.peak, rssQuietMiB: quiet?.rss };
  } finally {
    socket.close();
    await daemon.stop();
  }
}
