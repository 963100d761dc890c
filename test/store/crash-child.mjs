// Child process for test/store/crash.test.ts: a minimal durable node (DurableRegistry over SqliteStore).
// Plain ESM JavaScript importing the compiled dist/ (node 20 cannot run TypeScript and tsx is not installed;
// `npm test` runs `npm run build` first). Usage: node crash-child.mjs DB_FILE
// stdin: one JSON operation per line: {"seq", "op": "register", "service", "instance"} or {"seq", "op": "deregister", "service", "id"}
// stdout: "ready INDEX" once open, then "ack SEQ" after each operation is durable (or "error SEQ CODE MESSAGE").
// All operations are dispatched at once, as concurrent clients would; the façade's queue keeps them in order.
import { createInterface } from 'node:readline';
import { ServiceRegistry } from '../../dist/registry/registry.js';
import { DurableRegistry } from '../../dist/registry/write-path.js';
import { SqliteStore } from '../../dist/store/sqlite.js';

const file = process.argv[2];
// Groups of at most 4: the durable sync of a commit runs off the event loop, so without a bound the 40
// operations of a round would form one or two transactions and kills would rarely land between commits.
const durable = await DurableRegistry.open(new ServiceRegistry(), await SqliteStore.open(file), { maxGroup: 4 });
// Pipes are synchronous on Linux: once a line is written, the parent can read it even if we die next.
process.stdout.write(`ready ${durable.index}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  const op = JSON.parse(line);
  const done = op.op === 'register' ? durable.register(op.service, op.instance) : durable.deregister(op.service, op.id);
  done.then(
    () => process.stdout.write(`ack ${op.seq}\n`),
    (error) => process.stdout.write(`error ${op.seq} ${error.code ?? 'UNKNOWN'} ${error.message}\n`),
  );
}
await durable.close();
