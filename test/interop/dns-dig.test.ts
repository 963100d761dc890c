/**
 * The namespace table read by independent decoders: BIND's `dig` (UDP and +tcp) and Knot's `kdig`.
 * Needs the Debian tools (bind9-dnsutils, knot-dnsutils); runs in `npm run test:interop`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { FakeView } from '../dns/fake-view.js';
import { namespaceCases, serveWorld } from '../dns/world.js';
import { serveOnLoopback } from '../dns/helpers.js';

const run = promisify(execFile);

interface ToolReply {
  status: string;
  flags: string[];
  question: string[];
  answer: string[];
  authority: string[];
  additional: string[];
}

/** Parse dig/kdig text output: header status and flags, then the sections as normalised zone-file lines. */
function parseOutput(text: string): ToolReply {
  const reply: ToolReply = { status: '', flags: [], question: [], answer: [], authority: [], additional: [] };
  let section: keyof ToolReply | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const status = /status: (\w+)/.exec(line);
    if (status) reply.status = status[1]!;
    const flags = /^;; flags: ([^;]*);/i.exec(line);
    if (flags) reply.flags = flags[1]!.trim().split(/\s+/);
    const header = /^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (header) {
      section = header[1]!.toLowerCase() as keyof ToolReply;
      continue;
    }
    if (line === '') {
      section = undefined;
      continue;
    }
    if (!section) continue;
    if (section === 'question') {
      reply.question.push(line.replace(/^;+\s*/, '').split(/\s+/).join(' '));
    } else if (!line.startsWith(';')) {
      (reply[section] as string[]).push(line.split(/\s+/).join(' '));
    }
  }
  return reply;
}

type Tool = 'dig' | 'dig +tcp' | 'kdig' | 'kdig +tcp';
const TOOLS: Tool[] = ['dig', 'dig +tcp', 'kdig', 'kdig +tcp'];

async function query(tool: Tool, port: number, qname: string, qtype: string): Promise<ToolReply> {
  const [cmd, ...extra] = tool.split(' ');
  const args =
    cmd === 'dig'
      ? [`@127.0.0.1`, '-p', String(port), qname, qtype, '+norec', '+nocookie', '+tries=1', '+time=3', ...extra]
      : [`@127.0.0.1`, '-p', String(port), qname, qtype, '+norec', '+retry=0', '+time=3', '+bufsize=1232', ...extra];
  const { stdout } = await run(cmd!, args, { timeout: 10_000 });
  return parseOutput(stdout);
}

let server: DnsServer;
let port: number;
let serial: number;

beforeAll(async () => {
  server = await serveWorld();
  port = server.addresses.udp[0]!.port;
  const soa = await query('dig', port, 'local.', 'SOA');
  serial = Number(soa.answer[0]!.split(' ')[6]);
});
afterAll(async () => {
  await server.close();
});

// Rows whose names hold spaces, dots or UTF-8 inside a label are checked below in dig's escaped form.
const plainRows = namespaceCases(0).filter(([, c]) => typeof c.qname === 'string').map(([title]) => title);

describe.each(TOOLS)('namespace table through %s', (tool) => {
  // kdig lower-cases the name before sending it (checked on the wire), so the echo it sees is lower case.
  const asSent = (text: string): string => (tool.startsWith('kdig') ? text.replace(/[A-Z]/g, (c) => c.toLowerCase()) : text);
  it.each(plainRows)('%s', async (title) => {
    const c = namespaceCases(serial).find(([t]) => t === title)![1];
    const r = await query(tool, port, c.qname as string, c.qtype);
    expect(r.status).toBe(c.rcode);
    expect(r.flags.includes('aa')).toBe(c.aa ?? true);
    expect(r.flags.includes('tc')).toBe(false);
    if (c.answer) expect([...r.answer].sort()).toEqual([...c.answer].sort());
    if (c.authority) expect(r.authority).toEqual(c.authority);
    if (c.additional) expect([...r.additional].sort()).toEqual([...c.additional].sort());
  });

  it('escaped names round-trip: a dot and a space inside a label, UTF-8', async () => {
    const ptr = await query(tool, port, '_printer._tcp.local.', 'PTR');
    expect(ptr.answer.sort()).toEqual([
      '_printer._tcp.local. 5 IN PTR Caf\\195\\169\\032\\226\\152\\149._printer._tcp.local.',
      '_printer._tcp.local. 5 IN PTR Kitchen\\032Printer\\.2._printer._tcp.local.',
    ]);
    const srv = await query(tool, port, 'Kitchen\\032Printer\\.2._printer._tcp.local.', 'SRV');
    expect(srv.answer.map(asSent)).toEqual([asSent('Kitchen\\032Printer\\.2._printer._tcp.local. 5 IN SRV 0 1 631 printer-host.local.')]);
    const txt = await query(tool, port, 'Caf\\195\\169\\032\\226\\152\\149._printer._tcp.local.', 'TXT');
    expect(txt.answer.map(asSent)).toEqual([asSent('Caf\\195\\169\\032\\226\\152\\149._printer._tcp.local. 5 IN TXT ""')]);
  });

  it('echoes the question case and matches case-insensitively', async () => {
    const r = await query(tool, port, '_API._Tcp.LOCAL.', 'SRV');
    expect(r.status).toBe('NOERROR');
    expect(r.question).toEqual([`${asSent('_API._Tcp.LOCAL.')} IN SRV`]);
    expect(r.answer).toHaveLength(2);
  });
});

describe('rotation and truncation through dig', () => {
  let big: DnsServer;
  let bigPort: number;
  beforeAll(async () => {
    const view = new FakeView();
    view.setMany(Array.from({ length: 60 }, (_, i) => ({ service: 'big', id: `big-${i}`, address: `10.1.0.${i + 1}`, port: 7000 + i })));
    for (const n of [1, 2, 3]) view.set({ service: 'web', id: `web-${n}`, address: `10.0.1.${n}`, port: 80 });
    big = await serveOnLoopback(view);
    bigPort = big.addresses.udp[0]!.port;
  });
  afterAll(async () => {
    await big.close();
  });

  it('rotates over 3 successive queries', async () => {
    const orders: string[][] = [];
    for (let i = 0; i < 3; i++) orders.push((await query('dig', bigPort, '_web._tcp.local.', 'A')).answer.map((l) => l.split(' ')[4]!));
    expect(orders).toEqual([
      ['10.0.1.1', '10.0.1.2', '10.0.1.3'],
      ['10.0.1.2', '10.0.1.3', '10.0.1.1'],
      ['10.0.1.3', '10.0.1.1', '10.0.1.2'],
    ]);
  });

  it('60 instances: UDP without EDNS sets TC with no answer, TCP returns all 60', async () => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(bigPort), '_big._tcp.local.', 'SRV', '+noedns', '+ignore', '+norec', '+tries=1', '+time=3'], { timeout: 10_000 });
    const udp = parseOutput(stdout);
    expect(udp.flags).toContain('tc');
    expect(udp.answer).toEqual([]);
    const tcp = await query('dig +tcp', bigPort, '_big._tcp.local.', 'SRV');
    expect(tcp.answer).toHaveLength(60);
    expect(tcp.additional).toHaveLength(60);
    // Without +ignore dig retries over TCP by itself and gets everything.
    const retried = await query('dig', bigPort, '_big._tcp.local.', 'SRV');
    expect(retried.answer).toHaveLength(60);
  });
});
