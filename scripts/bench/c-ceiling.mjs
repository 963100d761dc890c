// The C batched ceiling (ceiling-batched.c): compiled with `cc` into the bench's temp dir when a compiler is
// present, started as a plain child process on 127.0.0.1. Returns undefined (with the reason) when it cannot.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const source = join(dirname(fileURLToPath(import.meta.url)), 'ceiling-batched.c');

/** Compile the ceiling into `dir`; returns the binary's path, or `{ error }` when no compiler works. */
export function buildCCeiling(dir) {
  const binary = join(dir, 'ceiling-batched');
  const r = spawnSync(process.env.CC || 'cc', ['-O2', '-o', binary, source], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { error: (r.error?.message ?? r.stderr.trim()) || `cc exit ${r.status}` };
  return { binary };
}

/** Start the compiled ceiling; resolves with a handle shaped like the other bench servers. */
export function startCCeiling(binary, { size = 12, port = 0 } = {}) {
  const child = spawn(binary, [String(port), String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      const { port: bound } = JSON.parse(line);
      resolve({
        child,
        info: { port: bound, tcpPort: undefined, startMs: 0 },
        pids: [child.pid],
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
    exited.then((code) => reject(new Error(`C ceiling exited early (${code})`)));
  });
}
