/**
 * Large RRsets handed out in rotating windows (src/dns/answer-limit.ts), over real UDP and TCP sockets, every
 * reply decoded by dns-packet: TCP answers the largest subset that fits in 65,535 octets, `maxAnswers` caps
 * SRV/A/AAAA/PTR answers, successive replies cover every instance, and UDP replies that do not fit keep TC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsServer } from '../../src/dns/server.js';
import { FakeView, type FakeInstance } from './fake-view.js';
import { TcpClient, buildQuery, decode, serveOnLoopback, udpQuery } from './helpers.js';

const BIG = 2000;
const SMALL = 30;

/** `count` instances of `service`, each with its own address; long ids make the PTR RRset outgrow 64 KiB too. */
function instances(service: string, count: number, idPrefix = 'instance'): FakeInstance[] {
  return Array.from({ length: count }, (_, i) => ({
    service,
    id: `${idPrefix}-${String(i).padStart(5, '0')}`,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 8000 + (i % 1000),
  }));
}

/** The RDATA of each answer record (what tells instances apart). */
const rdata = (lines: readonly string[]): string[] => lines.map((l) => l.split(' ').slice(4).join(' '));

/** Ask `times` in a row over one TCP connection; every reply decoded. */
async function overTcp(port: number, name: string, type: string, times: number): Promise<{ sizes: number[]; answers: string[][]; tc: boolean[] }> {
  const client = await TcpClient.connect(port);
  try {
    const sizes: number[] = [];
    const answers: string[][] = [];
    const tc: boolean[] = [];
    for (let i = 0; i < times; i++) {
      client.send(buildQuery(name, type, { id: i + 1 }));
      const replies = await client.waitFor(i + 1);
      const reply = replies[i] as Buffer;
      const d = decode(reply);
      expect(d.id).toBe(i + 1);
      expect(d.rcode).toBe('NOERROR');
      sizes.push(reply.length);
      answers.push(rdata(d.answer));
      tc.push(d.tc);
    }
    return { sizes, answers, tc };
  } finally {
    client.close();
  }
}

/** Every instance handed out within the bound `ceil(N / smallest window) + 1`, and each window without repeats. */
function expectCoverage(answers: readonly string[][], total: number): void {
  const smallest = Math.min(...answers.map((a) => a.length));
  expect(smallest).toBeGreaterThan(0);
  const bound = Math.ceil(total / smallest) + 1;
  expect(answers.length).toBeGreaterThanOrEqual(bound);
  const seen = new Set(answers.slice(0, bound).flat());
  expect(seen.size).toBe(total);
  for (const a of answers) expect(new Set(a).size).toBe(a.length);
}

describe('a 2,000-instance service', () => {
  let server: DnsServer;
  let port: number;
  beforeAll(async () => {
    const view = new FakeView().setMany([...instances('big', BIG, 'instance-with-a-rather-long-name')]);
    server = await serveOnLoopback(view);
    port = server.addresses.tcp[0]!.port;
  });
  afterAll(() => server.close());

  it('SRV over TCP: the largest subset that fits, no TC, rotating through every instance', async () => {
    const { sizes, answers, tc } = await overTcp(port, '_big._tcp.local.', 'SRV', 6);
    expect(tc.every((t) => !t)).toBe(true);
    for (const size of sizes) expect(size).toBeLessThan(65536);
    for (const a of answers) expect(a.length).toBeLessThan(BIG);
    // Largest: one more record would not fit (each SRV here is under 100 octets).
    for (const size of sizes) expect(size).toBeGreaterThan(65535 - 100);
    expectCoverage(answers, BIG);
  });

  it('PTR over TCP: likewise (the additional records are dropped first)', async () => {
    const { sizes, answers, tc } = await overTcp(port, '_big._tcp.local.', 'PTR', 6);
    expect(tc.every((t) => !t)).toBe(true);
    for (const size of sizes) expect(size).toBeLessThan(65536);
    for (const a of answers) expect(a.length).toBeLessThan(BIG);
    expectCoverage(answers, BIG);
  });

  it('A over TCP fits whole: every address in every reply', async () => {
    const { answers } = await overTcp(port, '_big._tcp.local.', 'A', 2);
    for (const a of answers) expect(new Set(a).size).toBe(BIG);
  });

  it('over UDP an answer that does not fit still sets TC with an empty answer section', async () => {
    for (const edns of [false, 1232] as const) {
      for (const type of ['SRV', 'PTR', 'A']) {
        const d = decode(await udpQuery(port, buildQuery('_big._tcp.local.', type, { edns })));
        expect(d.tc).toBe(true);
        expect(d.answer).toEqual([]);
      }
    }
  });
});

describe('maxAnswers', () => {
  let server: DnsServer;
  let udpPort: number;
  let tcpPort: number;
  beforeAll(async () => {
    const view = new FakeView().setMany([...instances('api', SMALL), ...instances('big', BIG), ...instances('web', 2)]);
    server = await serveOnLoopback(view, { maxAnswers: 3 });
    udpPort = server.addresses.udp[0]!.port;
    tcpPort = server.addresses.tcp[0]!.port;
  });
  afterAll(() => server.close());

  const udpAnswers = async (name: string, type: string, times: number): Promise<string[][]> => {
    const out: string[][] = [];
    for (let i = 0; i < times; i++) {
      const d = decode(await udpQuery(udpPort, buildQuery(name, type)));
      expect(d.tc).toBe(false);
      out.push(rdata(d.answer));
    }
    return out;
  };

  for (const type of ['SRV', 'A', 'PTR']) {
    it(`${type}: 3 records per UDP answer, 10 queries hand out all 30 instances, each once`, async () => {
      const answers = await udpAnswers('_api._tcp.local.', type, 10);
      for (const a of answers) expect(a).toHaveLength(3);
      const all = answers.flat();
      expect(all).toHaveLength(30);
      expect(new Set(all).size).toBe(30);
    });
  }

  it('SRV answers carry the addresses of their own targets, and only those', async () => {
    for (let i = 0; i < 4; i++) {
      const d = decode(await udpQuery(udpPort, buildQuery('_api._tcp.local.', 'SRV')));
      const targets = d.answer.map((l) => l.split(' ').at(-1));
      const owners = d.additional.map((l) => l.split(' ')[0]);
      expect(owners.sort()).toEqual([...targets].sort());
    }
  });

  it('PTR answers carry the SRV and TXT of their instances', async () => {
    const d = decode(await udpQuery(udpPort, buildQuery('_api._tcp.local.', 'PTR')));
    const instancesNamed = rdata(d.answer);
    const srvOwners = d.additional.filter((l) => l.split(' ')[3] === 'SRV').map((l) => l.split(' ')[0]);
    const txtOwners = d.additional.filter((l) => l.split(' ')[3] === 'TXT').map((l) => l.split(' ')[0]);
    expect(srvOwners.sort()).toEqual([...instancesNamed].sort());
    expect(txtOwners.sort()).toEqual([...instancesNamed].sort());
  });

  it('makes a 2,000-instance service fit over UDP, and TCP hands out the same 3 at a time', async () => {
    const answers = await udpAnswers('_big._tcp.local.', 'SRV', 5);
    for (const a of answers) expect(a).toHaveLength(3);
    expect(new Set(answers.flat()).size).toBe(15);
    const tcp = await overTcp(tcpPort, '_big._tcp.local.', 'SRV', 2);
    for (const a of tcp.answers) expect(a).toHaveLength(3);
  });

  it('leaves answers at or under the limit whole, and instance names alone', async () => {
    const web = decode(await udpQuery(udpPort, buildQuery('_web._tcp.local.', 'SRV')));
    expect(web.answer).toHaveLength(2);
    const enumeration = decode(await udpQuery(udpPort, buildQuery('_services._dns-sd._udp.local.', 'PTR')));
    expect(enumeration.answer).toHaveLength(3);
    const one = decode(await udpQuery(udpPort, buildQuery('instance-00007._api._tcp.local.', 'SRV')));
    expect(one.answer).toHaveLength(1);
  });
});

describe('maxAnswers that still does not fit UDP', () => {
  it('sets TC with an empty answer section', async () => {
    const view = new FakeView().setMany(instances('big', 200, 'instance-with-a-rather-long-name'));
    const server = await serveOnLoopback(view, { maxAnswers: 100 });
    try {
      const port = server.addresses.udp[0]!.port;
      const d = decode(await udpQuery(port, buildQuery('_big._tcp.local.', 'PTR')));
      expect(d.tc).toBe(true);
      expect(d.answer).toEqual([]);
      const tcp = await overTcp(server.addresses.tcp[0]!.port, '_big._tcp.local.', 'PTR', 2);
      for (const a of tcp.answers) expect(a).toHaveLength(100);
      expect(new Set(tcp.answers.flat()).size).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('rejects a negative or fractional maxAnswers', async () => {
    await expect(serveOnLoopback(new FakeView(), { maxAnswers: -1 })).rejects.toThrow(/maxAnswers/);
    await expect(serveOnLoopback(new FakeView(), { maxAnswers: 1.5 })).rejects.toThrow(/maxAnswers/);
  });
});
