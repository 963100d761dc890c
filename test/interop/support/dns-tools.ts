/** The command-line DNS peers the interop suite drives: `dig +short` and the update clients. */
import { execFile, spawn } from 'node:child_process';

/** `dig +short` at 127.0.0.1:`port` (over TCP when asked); the answer lines. */
export function digShort(port: number, name: string, type: string, tcp = false): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const args = ['@127.0.0.1', '-p', String(port), '+short', '+time=2', '+tries=2', ...(tcp ? ['+tcp'] : []), name, type];
    execFile('dig', args, { timeout: 15_000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split('\n').filter((l) => l !== ''));
    });
  });
}

/** Run a client (nsupdate or knsupdate) with a script on stdin; its exit code and output. Killed after 20 s. */
export function runClient(command: string, args: string[], script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(script);
  });
}

/** The zone's SOA serial as `dig` reads it (`dig +short D SOA`: mname rname serial refresh retry expire minimum). */
export async function digSoaSerial(port: number, zone = 'local.'): Promise<number> {
  const [line] = await digShort(port, zone, 'SOA');
  const serial = Number(line?.split(' ')[2]);
  if (!Number.isInteger(serial)) throw new Error(`no SOA serial in dig's answer: ${String(line)}`);
  return serial;
}
