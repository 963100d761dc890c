// Starting and stopping the Node server children (Beacon and the dgram ceiling) over IPC, and free ports.
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { processTree } from './proc.mjs';

/** A port free for both UDP and TCP on 127.0.0.1 right now (NSD and cluster workers need one up front). */
export async function freePort() {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise((resolve) => udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)));
    const tcpOk = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    udp.close();
    if (tcpOk) return port;
  }
  throw new Error('no free port found');
}

/**
 * Fork `script` with `args` (and node `execArgv`), wait for its `{ event: 'ready' }` IPC message.
 * Returns `{ child, info, pids, request(message, event, timeoutMs), stop() }`; `pids` is the process tree
 * (cluster workers included) whose CPU time is charged to the server.
 */
export async function startNodeServer(script, args, { execArgv = [], readyTimeoutMs = 300_000, label = script } = {}) {
  const child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.event === m?.event || m?.event === 'error');
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      clearTimeout(w.timer);
      if (m.event === 'error' && w.event !== 'error') w.reject(new Error(`${label}: ${m.message}`));
      else w.resolve(m);
    }
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = (event, timeoutMs) => new Promise((resolve, reject) => {
    const w = { event, resolve, reject, timer: setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      reject(new Error(`${label}: no '${event}' within ${timeoutMs} ms`));
    }, timeoutMs) };
    waiters.push(w);
  });
  const ready = waitFor('ready', readyTimeoutMs);
  const info = await Promise.race([ready, exited.then((e) => { throw new Error(`${label} exited early (${e.code ?? e.signal})`); })]);
  return {
    child,
    info,
    pids: processTree(child.pid),
    /** Send a control message and wait for the reply event. */
    request(message, event, timeoutMs = 120_000) {
      const p = waitFor(event, timeoutMs);
      child.send(message);
      return p;
    },
    /** Ask the child to exit (so profiles get written), kill it if it does not within 10 s. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try { child.send({ op: 'exit' }); } catch { /* already gone */ }
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
