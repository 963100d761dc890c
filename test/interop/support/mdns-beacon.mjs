// Beacon's mDNS responder over a real registry, run by the interop test inside a network namespace
// (`ip netns exec`). Commands arrive as JSON lines on stdin; replies and renames leave as JSON lines on stdout.
//   {"op":"register","service":"web","instance":{...}}  {"op":"health","service":"web","id":"web-1","health":"unhealthy"}
//   {"op":"stats"}  {"op":"close"}
import { createInterface } from 'node:readline';
import { ServiceRegistry, createRegistryView } from '../../../dist/index.js';
import { startMdnsResponder } from '../../../dist/mdns/index.js';

const interfaces = process.argv.slice(2);
const registry = new ServiceRegistry();
const view = createRegistryView(registry);
const responder = await startMdnsResponder({ view, interfaces });
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');
responder.onRename((rename) => say({ rename }));
say({ ready: true, interfaces: responder.interfaceAddresses });

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const command = JSON.parse(line);
  try {
    if (command.op === 'register') registry.register(command.service, command.instance);
    else if (command.op === 'health') registry.updateHealth(command.service, command.id, command.health);
    else if (command.op === 'deregister') registry.deregister(command.service, command.id);
    else if (command.op === 'close') {
      await responder.close();
      say({ ok: command.op, closed: true });
      break;
    }
    say({ ok: command.op, stats: responder.stats(), names: Object.fromEntries(responder.instanceNames()) });
  } catch (error) {
    say({ error: String(error), op: command.op });
  }
}
view.dispose();
