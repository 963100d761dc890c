// One DNS question to 127.0.0.1 over UDP (with an EDNS(0) OPT record, RFC 6891) or TCP (2-octet length
// framing, RFC 1035 §4.2.2; one connection per query, as `dig +tcp` does), decoded with dns-packet so that
// the server's own codec is not the judge of its answers.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

let nextId = 1;

function encodeQuestion(name, type, udpPayloadSize) {
  const id = nextId;
  nextId = nextId >= 0xffff ? 1 : nextId + 1;
  const additionals = udpPayloadSize ? [{ type: 'OPT', name: '.', udpPayloadSize }] : [];
  return { id, buf: dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }], additionals }) };
}

/**
 * Ask `name`/`type` on 127.0.0.1:port over `transport` ('udp' | 'tcp'); UDP queries advertise
 * `udpPayloadSize` (default 1232, the DNS flag day 2020 figure). Resolves `{ bytes, ms, rcode, truncated,
 * answers }` (answers: dns-packet's decoded answer section) or rejects after `timeoutMs`.
 */
export function queryDns(port, name, type, { transport = 'udp', udpPayloadSize = 1232, timeoutMs = 5000 } = {}) {
  const { id, buf } = encodeQuestion(name, type, transport === 'udp' ? udpPayloadSize : undefined);
  const start = performance.now();
  const decoded = (msg) => {
    const ms = performance.now() - start;
    const p = dnsPacket.decode(msg);
    return { bytes: msg.length, ms, rcode: p.rcode, truncated: (p.flags & dnsPacket.TRUNCATED_RESPONSE) !== 0, answers: p.answers ?? [] };
  };
  if (transport === 'udp') {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      const timer = setTimeout(() => { socket.close(); reject(new Error(`no UDP answer to ${name} ${type} within ${timeoutMs} ms`)); }, timeoutMs);
      socket.on('message', (msg) => {
        if (msg.length < 2 || msg.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        socket.close();
        try { resolve(decoded(msg)); } catch (e) { reject(e); }
      });
      socket.send(buf, port, '127.0.0.1');
    });
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no TCP answer to ${name} ${type} within ${timeoutMs} ms`)); }, timeoutMs);
    socket.on('connect', () => {
      const framed = Buffer.alloc(2 + buf.length);
      framed.writeUInt16BE(buf.length, 0);
      buf.copy(framed, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 2 || data.length < 2 + data.readUInt16BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      try { resolve(decoded(data.subarray(2, 2 + data.readUInt16BE(0)))); } catch (e) { reject(e); }
    });
    socket.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** The instance an answer record stands for: SRV target:port, A address, PTR instance name (lower case). */
export function instanceKey(record) {
  switch (record.type) {
    case 'SRV': return `${String(record.data.target).toLowerCase()}:${record.data.port}`;
    case 'A':
    case 'AAAA': return record.data;
    case 'PTR': return String(record.data).toLowerCase();
    default: return undefined;
  }
}
