// The Node ceiling: a bare node:dgram loop that answers every packet with a fixed 12-byte reply (the query's
// header with QR set and every count zeroed). No parsing, no lookup: what node itself costs per packet.
// Usage: node ceiling-server.mjs --port P [--workers N] [--size BYTES]. With N > 1, node:cluster workers share one UDP
// socket (Node 20's dgram has no working reusePort, so the kernel hands each datagram to one waiting worker).
// Reports `{ event: 'ready', port, pids }` over IPC (or stdout when run by hand).
import cluster from 'node:cluster';
import dgram from 'node:dgram';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const port = Number(arg('--port', '0'));
const workers = Number(arg('--workers', '1'));
// Reply size: 12 (the bare header) by default; `--size 180` pads with zeros to a typical Beacon answer's
// size, to show what the bytes alone cost in the kernel and copies.
const size = Math.max(12, Number(arg('--size', '12')));

function report(message) {
  if (process.send) process.send(message);
  else console.log(JSON.stringify(message));
}

/** Bind the answering socket; resolves with its port. */
function serve(bindPort) {
  const reply = Buffer.alloc(size);
  const socket = dgram.createSocket({ type: 'udp4' });
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12 || rinfo.port === 0) return;
    msg.copy(reply, 0, 0, 4);
    reply[2] |= 0x80; // QR: this is a response (RFC 1035 §4.1.1); counts stay zero.
    socket.send(reply, rinfo.port, rinfo.address);
  });
  return new Promise((resolve) => socket.bind(bindPort, '127.0.0.1', () => resolve(socket.address().port)));
}

if (workers <= 1) {
  const bound = await serve(port);
  report({ event: 'ready', port: bound, pids: [process.pid] });
} else if (cluster.isPrimary) {
  const pids = [];
  let bound;
  for (let i = 0; i < workers; i += 1) {
    const w = cluster.fork();
    w.on('message', (m) => {
      pids.push(w.process.pid);
      bound = m.port;
      if (pids.length === workers) report({ event: 'ready', port: bound, pids: [process.pid, ...pids] });
    });
  }
  process.on('message', (m) => {
    if (m?.op === 'exit') {
      for (const id in cluster.workers) cluster.workers[id]?.kill();
      process.exit(0);
    }
  });
} else {
  const bound = await serve(port);
  process.send({ port: bound });
}

if (!cluster.isWorker) {
  process.on('message', (m) => { if (m?.op === 'exit') process.exit(0); });
  process.on('disconnect', () => process.exit(0));
}
