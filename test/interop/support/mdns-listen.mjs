// A passive mDNS listener: joins 224.0.0.251:5353 on interface address IFACE (sharing the port with
// avahi-daemon) and prints every response it hears as one JSON line, decoded with dns-packet.
//   node mdns-listen.mjs IFACE
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

const [iface] = process.argv.slice(2);
const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
socket.on('message', (bytes, rinfo) => {
  let packet;
  try {
    packet = dnsPacket.decode(bytes);
  } catch {
    return;
  }
  if (packet.type !== 'response') return;
  const records = [...(packet.answers ?? [])].map((a) => ({ name: a.name, type: a.type, ttl: a.ttl }));
  process.stdout.write(JSON.stringify({ from: rinfo.address, answers: records }) + '\n');
});
socket.bind(5353, () => {
  socket.addMembership('224.0.0.251', iface);
  process.stdout.write('listening\n');
});
