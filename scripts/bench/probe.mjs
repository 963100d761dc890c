// A tiny DNS client over UDP for readiness checks, answer cross-checks and staleness probes
// (dns-packet decodes independently of the server's own codec).
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

/** A reusable UDP client bound to loopback; `query()` resolves with the decoded reply or undefined on timeout. */
export function createProbeClient() {
  const socket = dgram.createSocket('udp4');
  const pending = new Map();
  let nextId = 1;
  socket.on('message', (msg) => {
    if (msg.length < 2) return;
    const id = msg.readUInt16BE(0);
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    try {
      p.resolve(dnsPacket.decode(msg));
    } catch (e) {
      p.resolve({ decodeError: String(e), raw: msg });
    }
  });
  socket.unref();
  return {
    /** Send one question (`name`, `type`) to 127.0.0.1:port; `undefined` after `timeoutMs`. */
    query(port, name, type, timeoutMs = 500) {
      const id = nextId;
      nextId = nextId >= 0xffff ? 1 : nextId + 1;
      const buf = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
      return new Promise((resolve) => {
        const timer = setTimeout(() => { pending.delete(id); resolve(undefined); }, timeoutMs);
        pending.set(id, { resolve, timer });
        socket.send(buf, port, '127.0.0.1');
      });
    },
    close() {
      for (const p of pending.values()) clearTimeout(p.timer);
      socket.close();
    },
  };
}

/** Whether a server answers at all on 127.0.0.1:port (any reply to `name` counts). */
export async function answers(port, name = 'local.', type = 'SOA') {
  const c = createProbeClient();
  try {
    return (await c.query(port, name, type, 300)) !== undefined;
  } finally {
    c.close();
  }
}

/** Canonical, order-insensitive text of a reply's answer section (lower-cased names, sorted). */
export function canonicalAnswers(reply) {
  if (!reply || !reply.answers) return [];
  return reply.answers.map((a) => {
    let data = a.data;
    if (a.type === 'TXT') data = (Array.isArray(data) ? data : [data]).map((b) => Buffer.from(b).toString('utf8')).join('|');
    else if (a.type === 'SRV') data = `${data.priority} ${data.weight} ${data.port} ${String(data.target).toLowerCase()}`;
    else if (typeof data === 'string') data = data.toLowerCase();
    else data = JSON.stringify(data);
    return `${String(a.name).toLowerCase()} ${a.type} ${data}`;
  }).sort();
}
