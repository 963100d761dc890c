/**
 * Replies to opcodes other than QUERY carry only QR, the opcode and the rcode (RFC 1035 §4.1.1; RD and CD are
 * QUERY's, RFC 4035 §3.2.2), read by BIND's dig with every header flag set in the request, over UDP and TCP.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { FakeView } from '../dns/fake-view.js';
import { serveOnLoopback } from '../dns/helpers.js';

let server: DnsServer;
let port: number;
beforeAll(async () => {
  server = await serveOnLoopback(new FakeView().set({ service: 'small', id: 's1', address: '10.2.0.1', port: 1 }));
  port = server.addresses.udp[0]!.port;
});
afterAll(() => server.close());

function dig(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', '+nocookie', ...args], { timeout: 10_000 }, (error, stdout) => {
      if (error) reject(new Error(`dig failed: ${stdout}`));
      else resolve(stdout);
    });
  });
}

const EVERY_FLAG = ['+aaflag', '+adflag', '+cdflag', '+recurse', '+raflag', '+tcflag', '+zflag'];

describe.each([['UDP', []], ['TCP', ['+tcp']]])('dig +opcode=15 with every flag set, over %s', (_transport, extra) => {
  it('gets NOTIMP with flags: qr only', async () => {
    const out = await dig(['+opcode=15', ...EVERY_FLAG, ...extra, '_small._tcp.local', 'SRV']);
    expect(out).toMatch(/opcode: RESERVED15, status: NOTIMP/);
    expect(/;; flags: ([^;]*);/.exec(out)?.[1]?.trim()).toBe('qr');
  });

  it('a QUERY with the same flags still gets RD and CD echoed and AA set', async () => {
    const out = await dig([...EVERY_FLAG, ...extra, '_small._tcp.local', 'SRV']);
    expect(out).toMatch(/status: NOERROR/);
    expect(/;; flags: ([^;]*);/.exec(out)?.[1]?.trim().split(' ').sort()).toEqual(['aa', 'cd', 'qr', 'rd']);
  });
});
