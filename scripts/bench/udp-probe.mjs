// A fixed-rate UDP DNS prober, run as its own process (fork) so that the load driver's event loop cannot
// delay its sends or its receive timestamps. Every query carries an id; each reply's latency is measured.
// A client sees exactly this: how long its answers take while the server is busy.
//
//   fork('udp-probe.mjs', [port, rate, namesFile, timeoutMs])  ->  IPC { event: 'ready' }
//   send { op: 'stop' }  ->  stops sending, waits timeoutMs for late replies, then IPC
//   { event: 'done', sentAt: [...epoch ms], latencyMs: [... ms or -1 for no reply], repliedAt: [...epoch ms] }
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';

const [portArg, rateArg, namesFile, timeoutArg] = process.argv.slice(2);
const port = Number(portArg);
const rate = Number(rateArg);
const timeoutMs = Number(timeoutArg ?? 2000);
// Query file lines `NAME TYPE` (dnsperf's format), pre-encoded once with id 0; the id is patched per send.
const queries = readFileSync(namesFile, 'utf8').split('\n').filter(Boolean).slice(0, 5000).map((line) => {
  const [name, type] = line.trim().split(/\s+/);
  return dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
});

const now = () => performance.timeOrigin + performance.now();
const sentAt = [];
const latencyMs = [];
const repliedAt = [];
// id -> index into the arrays; ids wrap at 65,536, i.e. after 32 s at 2,000 qps, far beyond timeoutMs.
const inFlight = new Map();
let nextId = 0;
let sending = true;

const socket = dgram.createSocket('udp4');
socket.on('message', (msg) => {
  const t = now();
  if (msg.length < 12) return;
  const i = inFlight.get(msg.readUInt16BE(0));
  if (i === undefined) return;
  inFlight.delete(msg.readUInt16BE(0));
  latencyMs[i] = t - sentAt[i];
  repliedAt[i] = t;
});
socket.bind(0, '127.0.0.1', () => {
  const start = now();
  let sent = 0;
  // A 1 ms timer sends whatever the fixed rate owes since the start, so a late tick catches up.
  const timer = setInterval(() => {
    if (!sending) return;
    const owed = Math.floor(((now() - start) / 1000) * rate) - sent;
    for (let n = 0; n < owed; n += 1) {
      const id = nextId;
      nextId = (nextId + 1) & 0xffff;
      const buf = Buffer.from(queries[sent % queries.length]);
      buf.writeUInt16BE(id, 0);
      const i = sentAt.length;
      const old = inFlight.get(id);
      if (old !== undefined) inFlight.delete(id);
      inFlight.set(id, i);
      sentAt.push(now());
      latencyMs.push(-1);
      repliedAt.push(-1);
      socket.send(buf, port, '127.0.0.1');
      sent += 1;
    }
  }, 1);
  process.on('message', (m) => {
    if (m?.op !== 'stop') return;
    sending = false;
    clearInterval(timer);
    setTimeout(() => {
      process.send({ event: 'done', sentAt, latencyMs, repliedAt }, () => {
        socket.close();
        process.exit(0);
      });
    }, timeoutMs);
  });
  process.send({ event: 'ready' });
});
