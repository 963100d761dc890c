// Part of check-udp-fallback.sh: with the addon unavailable, a default (auto) server runs on node:dgram, says
// why, and answers a UDP query on 127.0.0.1. Exits 1 otherwise.
import dgram from 'node:dgram';
import { ServiceInstance, ServiceRegistry, createRegistryView, startDnsServer } from '../dist/index.js';

const registry = new ServiceRegistry();
registry.register('web', new ServiceInstance('a', '10.0.0.1', 80));
const server = await startDnsServer({ view: createRegistryView(registry), listen: [{ host: '127.0.0.1', port: 0 }], zones: [] });
const fail = async (message) => {
  console.error(`check-udp-fallback: ${message}`);
  await server.close();
  process.exit(1);
};
if (server.udpTransport !== 'dgram' || !server.udpTransportReason) await fail(`expected dgram with a reason, got ${server.udpTransport}`);
console.log(`UDP transport ${server.udpTransport}: ${server.udpTransportReason}`);
// A hand-built query for _web._tcp.local. SRV (id 0x4242, RD).
const name = Buffer.concat([Buffer.from([4]), Buffer.from('_web'), Buffer.from([4]), Buffer.from('_tcp'), Buffer.from([5]), Buffer.from('local'), Buffer.from([0])]);
const query = Buffer.concat([Buffer.from([0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 33, 0, 1])]);
const client = dgram.createSocket('udp4');
const reply = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve(undefined), 3000);
  client.on('message', (m) => { clearTimeout(timer); resolve(m); });
  client.send(query, server.addresses.udp[0].port, '127.0.0.1');
});
client.close();
// QR set, rcode NOERROR, one answer.
if (!reply || reply.readUInt16BE(0) !== 0x4242 || (reply[2] & 0x80) === 0 || (reply[3] & 0x0f) !== 0 || reply.readUInt16BE(6) !== 1) await fail('no valid SRV answer over UDP');
console.log('answered over UDP on dgram');
await server.close();
