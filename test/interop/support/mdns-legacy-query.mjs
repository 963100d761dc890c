// A one-shot legacy unicast mDNS query (RFC 6762 §6.7): sent from an ephemeral port to 224.0.0.251:5353
// over interface address IFACE; prints, as one JSON line, the first reply that comes from RESPONDER,
// decoded with dns-packet. Unlike dig 9.18, which connects its UDP socket to the group address and so
// cannot receive any responder's unicast reply, this socket stays unconnected.
//   node mdns-legacy-query.mjs NAME TYPE IFACE RESPONDER
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

const [name, type, iface, responder] = process.argv.slice(2);
const socket = dgram.createSocket('udp4');
const id = Math.floor(Math.random() * 65535);
const timer = setTimeout(() => {
  process.stderr.write(`no reply from ${responder} within 3000 ms\n`);
  process.exit(2);
}, 3000);
socket.on('message', (bytes, rinfo) => {
  if (rinfo.address !== responder) return;
  const reply = dnsPacket.decode(bytes);
  clearTimeout(timer);
  process.stdout.write(JSON.stringify({ from: rinfo, id: reply.id, sentId: id, questions: reply.questions, answers: reply.answers, additionals: reply.additionals }) + '\n');
  socket.close();
});
socket.bind(0, iface, () => {
  socket.setMulticastInterface(iface);
  socket.send(dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ name, type }] }), 5353, '224.0.0.251');
});
