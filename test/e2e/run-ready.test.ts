/**
 * `beacon run` registers only once its child is ready: a child that listens after 1 s is not in DNS before
 * it listens, and is in DNS within 1.5 s after, with a TTL check and with an HTTP check. A command that
 * cannot start is never registered.
 */
import { spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, srvPorts, startDaemon, until, type Daemon } from './daemon.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A child that waits 1 s, then serves HTTP on `port` and prints `LISTENING <epoch ms>` once it listens. */
const lateListener = (port: number): string =>
  `setTimeout(()=>{require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1',()=>console.log('LISTENING '+Date.now()))},1000);process.on('SIGTERM',()=>process.exit(0))`;

describe('beacon run waits for its child', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startDaemon(['--ephemeral']);
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  it.each([
    ['a TTL check (the port accepts connections)', (_port: number): string[] => []],
    ['an HTTP check (the check passes)', (port: number): string[] => ['--http-check', `http://127.0.0.1:${port}/`, '--check-interval', '10s']],
  ])('with %s: no DNS answer before the child listens, one within 1.5 s after', async (_name, checkFlags) => {
    const port = await freePort();
    const service = `late${port}`;
    const run = spawn(process.execPath, [CLI, 'run', '--service', service, '--port', String(port), ...checkFlags(port), '--data-dir', daemon.dataDir, '--', process.execPath, '-e', lateListener(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    run.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
    try {
      const listeningAt = (): number | undefined => {
        const match = /LISTENING (\d+)/.exec(stdout);
        return match ? Number(match[1]) : undefined;
      };
      // Ask DNS again and again until the answer comes; note when each answer arrived.
      const answers: { at: number; ports: number[] }[] = [];
      await until(async () => {
        const ports = await srvPorts(daemon.dnsPort, `_${service}._tcp.local`);
        answers.push({ at: Date.now(), ports });
        return ports;
      }, (ports) => ports.includes(port), 10_000, 25);
      const listened = await until(async () => listeningAt(), (at) => at !== undefined, 2_000);
      // Every answer that named the instance came after the child listened; the first within 1.5 s of it.
      const named = answers.filter((a) => a.ports.includes(port));
      expect(answers.filter((a) => a.at < listened!).every((a) => a.ports.length === 0)).toBe(true);
      expect(answers.filter((a) => a.at < listened!).length).toBeGreaterThan(0);
      expect(named[0]!.at).toBeGreaterThanOrEqual(listened!);
      expect(named[0]!.at - listened!).toBeLessThanOrEqual(1_500);
    } finally {
      run.kill('SIGTERM');
      await exited;
    }
  });

  it('a command that cannot start is never registered (exit 127)', async () => {
    const result = await runCli(['run', '--service', 'ghost', '--port', '1', '--data-dir', daemon.dataDir, '--', '/nonexistent/command']);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('cannot start /nonexistent/command');
    expect(result.stderr).not.toContain('registered');
    // Listing an unknown service is an empty list (Consul semantics): nothing was registered.
    expect(JSON.parse(await daemon.ok('instances', 'ghost', '--json'))).toMatchObject({ service: 'ghost', instances: [] });
  });

  it('after --ready-timeout it registers anyway and says so', async () => {
    const port = await freePort();
    const run = spawn(process.execPath, [CLI, 'run', '--service', 'slow', '--port', String(port), '--ready-timeout', '300ms', '--data-dir', daemon.dataDir, '--', process.execPath, '-e', 'setInterval(()=>{},1000);process.on("SIGTERM",()=>process.exit(0))'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    run.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
    try {
      await until(async () => stderr, (text) => text.includes('registered slow/'), 10_000);
      expect(stderr).toMatch(/not ready after 300 ms \(TCP connect ECONNREFUSED\); registering anyway/);
      expect((await daemon.cli('instances', 'slow')).code).toBe(0);
    } finally {
      run.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
