// The control-API ceiling of the burst phase, run as a child process: node:http on a Unix socket that reads
// each request's body and answers 200 with a small JSON body, registering nothing. The burst sends its
// registrations here instead of to the daemon (which still answers DNS under dnsperf), so the DNS figures
// show what the machine keeps for DNS when the control API costs only the HTTP exchange itself, in a process
// of its own: the best any registration path on this machine and node's HTTP server could do.
// Usage: node control-ceiling.mjs SOCKET_PATH; sends { event: 'ready' } over IPC, exits on { op: 'exit' }.
import http from 'node:http';
import { rmSync } from 'node:fs';

const socketPath = process.argv[2];
if (!socketPath) {
  console.error('usage: control-ceiling.mjs SOCKET_PATH');
  process.exit(2);
}
rmSync(socketPath, { force: true });
const reply = Buffer.from('{"index":0}');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length });
    res.end(reply);
  });
});
server.listen(socketPath, () => process.send?.({ event: 'ready', socketPath }));
process.on('message', (m) => {
  if (m?.op !== 'exit') return;
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
