// The control API over the daemon's Unix socket, as a client sees it: raw HTTP requests (one connection
// per request, like the CLI's ControlClient), registrations from many concurrent clients with each one's
// latency, and checks that acknowledged registrations are really there.
import http from 'node:http';
import net from 'node:net';

/** One request over the socket; resolves `{ status, body }` (body parsed as JSON when it is), rejects on a transport error. */
export function controlRequest(socketPath, method, path, body, timeoutMs = 30_000) {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers = { accept: 'application/json' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        try { parsed = text === '' ? text : JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * IPv4 address of the k-th load instance, in 198.18.0.0/15 (RFC 2544's benchmarking range): DNS data only,
 * nothing is ever sent there (no active checks are registered). Unique for k < 131,072.
 */
export function loadAddress(k) {
  return `198.${18 + ((k >> 16) & 1)}.${(k >> 8) & 255}.${k & 255}`;
}

/** A registration body like a deployed instance sends: address, port, a tag and version metadata. */
export function registrationBody(k, version = 'v2') {
  return { address: loadAddress(k), port: 9000 + (k % 1000), tags: ['load'], metadata: { version, slot: String(k) } };
}

/**
 * PUT one instance; resolves `{ ok, status, ms, error? }` (never rejects). One connection per request, like the
 * CLI, but written as raw HTTP/1.1 over `net` with `Connection: close`: node's http client costs the load
 * driver about as much CPU per request as the daemon spends answering it, and on a 2-core machine that CPU
 * is taken from the daemon and dnsperf (the burst reports the driver's cores). The daemon sees the same
 * request a client sends.
 */
export function register(socketPath, service, id, body, timeoutMs = 30_000) {
  const start = performance.now();
  const request = registrationRequest(service, id, body, true);
  return new Promise((resolve) => {
    const chunks = [];
    let settled = false;
    const done = (result) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ ...result, ms: performance.now() - start });
    };
    const socket = net.createConnection({ path: socketPath });
    socket.setTimeout(timeoutMs, () => done({ ok: false, status: 0, error: `request timed out after ${timeoutMs} ms` }));
    socket.on('error', (error) => done({ ok: false, status: 0, error: String(error.message ?? error) }));
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      return done(registrationOutcome(status, text));
    });
    // write, not end: a half-closed connection makes the server close before it answers.
    socket.write(request);
  });
}

/**
 * One client's persistent HTTP/1.1 connection to the control socket (keep-alive, as node's default agent and
 * most HTTP client libraries hold one): requests go one at a time, each answered before the next is written;
 * a connection the server closes is opened again on the next request. For bursts whose clients are
 * long-lived (a deploy tool, a sidecar) rather than one process per registration (the CLI).
 */
export class KeepAliveConnection {
  constructor(socketPath) {
    this.socketPath = socketPath;
    this.socket = undefined;
    this.pending = undefined;
    this.buffer = Buffer.alloc(0);
  }

  /** Send one raw request; resolves `{ status, text }`, rejects on a transport error or `timeoutMs`. */
  request(raw, timeoutMs) {
    return new Promise((resolve, reject) => {
      const socket = this.open();
      const timer = setTimeout(() => {
        this.fail(new Error(`request timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      socket.write(raw);
    });
  }

  /** Close the connection. */
  close() {
    this.socket?.destroy();
    this.socket = undefined;
  }

  open() {
    if (this.socket) return this.socket;
    const socket = net.createConnection({ path: this.socketPath });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      this.fail(new Error('connection closed before the response'));
    });
    return socket;
  }

  /** A whole response in the buffer (headers and Content-Length octets of body): settle the pending request. */
  parse() {
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0 || !this.pending) return;
    const head = this.buffer.toString('latin1', 0, headEnd);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < headEnd + 4 + length) return;
    const text = head + '\r\n\r\n' + this.buffer.toString('utf8', headEnd + 4, headEnd + 4 + length);
    this.buffer = this.buffer.subarray(headEnd + 4 + length);
    if (/\r\nconnection:\s*close/i.test(head)) this.close();
    const { resolve } = this.pending;
    this.pending = undefined;
    resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), text });
  }

  fail(error) {
    this.close();
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/** The outcome of a registration's raw response text, as `register` reports it. */
function registrationOutcome(status, text) {
  if (status >= 200 && status < 300) return { ok: true, status };
  const code = /"code"\s*:\s*"([^"]+)"/.exec(text)?.[1];
  return { ok: false, status, error: code ?? (status === 0 ? 'malformed HTTP response' : `HTTP ${status}`) };
}

/** The raw HTTP/1.1 PUT of one registration; `close` asks the server to close the connection after it. */
function registrationRequest(service, id, body, close) {
  const payload = Buffer.from(JSON.stringify(body));
  const head = `PUT /v1/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(id)} HTTP/1.1\r\nHost: localhost\r\n` +
    `Accept: application/json\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

/** PUT one instance over a client's `KeepAliveConnection`; resolves like `register` (never rejects). */
export async function registerKeepAlive(connection, service, id, body, timeoutMs = 30_000) {
  const start = performance.now();
  try {
    const { status, text } = await connection.request(registrationRequest(service, id, body, false), timeoutMs);
    return { ...registrationOutcome(status, text), ms: performance.now() - start };
  } catch (error) {
    return { ok: false, status: 0, error: String(error?.message ?? error), ms: performance.now() - start };
  }
}

/**
 * Run `jobs` (functions returning a register() result, called with their client's context: an object each
 * client keeps for its jobs, such as its KeepAliveConnection, closed at the end) with `clients` concurrent
 * clients, each taking the next job when its previous one is answered. With `perSecond`, job j also waits until j / perSecond seconds
 * after the start (an offered rate; a client whose job is answered late starts the next one late). Stops
 * taking jobs after `maxSeconds`. Resolves `{ results, seconds, startedAt, endedAt }`; each result has
 * `{ ok, ms, at, job }` (`at`: epoch ms when it was answered; `ms` from the request's start, not its slot).
 */
export async function runClients(jobs, { clients, maxSeconds = Infinity, perSecond = 0 }) {
  const results = [];
  let next = 0;
  const startedAt = performance.timeOrigin + performance.now();
  const stopAt = startedAt + maxSeconds * 1000;
  async function client(contexts) {
    // Each client's own state for its jobs (a KeepAliveConnection, say): jobs[j](context).
    const context = {};
    contexts.push(context);
    while (next < jobs.length && performance.timeOrigin + performance.now() < stopAt) {
      const job = next++;
      if (perSecond > 0) {
        const wait = startedAt + (job * 1000) / perSecond - (performance.timeOrigin + performance.now());
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const r = await jobs[job](context);
      results.push({ ...r, job, at: performance.timeOrigin + performance.now() });
    }
  }
  const contexts = [];
  await Promise.all(Array.from({ length: Math.max(1, clients) }, () => client(contexts)));
  for (const context of contexts) context.connection?.close();
  const endedAt = performance.timeOrigin + performance.now();
  return { results, seconds: (endedAt - startedAt) / 1000, startedAt, endedAt };
}

/** Percentile (0..100) of the numbers in `values` (nearest rank), undefined when empty. */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Summary of register() results: count, ok, errors (by code), rate, latency p50/p99/max. */
export function summarizeRegistrations({ results, seconds }) {
  const ok = results.filter((r) => r.ok);
  const errors = {};
  for (const r of results) if (!r.ok) errors[r.error] = (errors[r.error] ?? 0) + 1;
  const ms = ok.map((r) => r.ms);
  return {
    attempted: results.length,
    acknowledged: ok.length,
    errors: results.length - ok.length,
    errorCodes: errors,
    seconds,
    perSecond: ok.length / seconds,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99),
    maxMs: percentile(ms, 100),
  };
}

/** Ids of a service's instances, as the API lists them. */
export async function listIds(socketPath, service) {
  const r = await controlRequest(socketPath, 'GET', `/v1/services/${encodeURIComponent(service)}/instances`, undefined, 120_000);
  if (r.status === 404) return new Set();
  if (r.status !== 200) throw new Error(`listing ${service}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  return new Set(r.body.instances.map((i) => i.id));
}

/** How many of `acknowledged` ([service, id] pairs) are missing from the daemon's listings. */
export async function countLost(socketPath, acknowledged) {
  const byService = new Map();
  for (const [service, id] of acknowledged) {
    const list = byService.get(service) ?? [];
    list.push(id);
    byService.set(service, list);
  }
  let lost = 0;
  const examples = [];
  for (const [service, ids] of byService) {
    const present = await listIds(socketPath, service);
    for (const id of ids) {
      if (!present.has(id)) {
        lost += 1;
        if (examples.length < 5) examples.push(`${service}/${id}`);
      }
    }
  }
  return { lost, examples };
}

/**
 * Instance records (snapshot format version 1, the store's InstanceRecord JSON) for `services`: `[{ name,
 * count, prefix }]` gives `count` healthy instances `prefix-000000`... in service `name`, numbered like
 * registrationBody() from `firstK` on.
 */
export function seedRecords(services, firstK = 0) {
  const now = Date.now();
  const records = [];
  let k = firstK;
  for (const { name, count, prefix } of services) {
    for (let i = 0; i < count; i += 1) {
      const b = registrationBody(k++, 'v1');
      records.push({
        service: name,
        spec: { id: seedId(prefix, i), address: b.address, port: b.port, tags: b.tags, metadata: b.metadata, weight: 1, priority: 0, protocol: 'tcp' },
        health: 'healthy', healthSince: now, lastHeartbeat: now, maintenance: false, registeredAt: now,
      });
    }
  }
  return records;
}

/** Id of the i-th seeded instance. */
export function seedId(prefix, i) {
  return `${prefix}-${String(i).padStart(6, '0')}`;
}

/**
 * Fill the registry with seedRecords(services) in one snapshot restore (PUT /v1/snapshot), the public way
 * to load many instances at once; the registry then holds exactly these. Resolves with seconds.
 */
export async function restoreInstances(socketPath, dataDir, services) {
  const document = { format: 'beacon-snapshot', version: 1, index: 0, records: seedRecords(services) };
  const start = performance.now();
  const r = await controlRequest(socketPath, 'PUT', '/v1/snapshot', document, 3_600_000);
  if (r.status !== 200) throw new Error(`snapshot restore: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return (performance.now() - start) / 1000;
}
