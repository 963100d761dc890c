import { afterEach, describe, expect, it } from 'vitest';
import { nextSerial, serialAdd, serialGreater, ZoneSerial } from '../../src/dns/zone-serial.js';
import { FakeView } from './fake-view.js';
import { buildQuery, decode, serveOnLoopback, udpQuery } from './helpers.js';
import type { DnsServer } from '../../src/dns/server.js';

/** A clock a test sets by hand, in unix seconds; it may go backwards (a clock step). */
function fakeClock(start: number): { now: () => number; set: (s: number) => void } {
  let t = start;
  return { now: () => t, set: (s) => (t = s) };
}

describe('RFC 1982 serial arithmetic', () => {
  it('compares across the wrap: 2^32-1 < 0 < 2^31-1, and a half-circle apart is undefined (neither greater)', () => {
    expect(serialGreater(1, 0)).toBe(true);
    expect(serialGreater(0, 1)).toBe(false);
    expect(serialGreater(0, 0xffffffff)).toBe(true);
    expect(serialGreater(0xffffffff, 0)).toBe(false);
    expect(serialGreater(2 ** 31 - 1, 0)).toBe(true);
    expect(serialGreater(2 ** 31, 0)).toBe(false);
    expect(serialGreater(0, 2 ** 31)).toBe(false);
    expect(serialAdd(0xffffffff, 1)).toBe(0);
  });

  it('next = max(previous + 1, now)', () => {
    expect(nextSerial(100, 500)).toBe(500); // the clock is ahead: take it
    expect(nextSerial(500, 500)).toBe(501); // same second: one more
    expect(nextSerial(500, 100)).toBe(501); // the clock went back: still one more
    expect(nextSerial(0xffffffff, 3)).toBe(3); // across the wrap, 3 is greater than 0
  });
});

describe('ZoneSerial', () => {
  it('grows with every change, several per second, and keeps growing when the clock steps back', () => {
    const clock = fakeClock(1_700_000_000);
    const serial = ZoneSerial.startAfter(undefined, clock.now);
    const seen = [serial.current];
    for (let i = 0; i < 5; i++) seen.push(serial.bump()); // a burst within one second
    clock.set(1_700_000_010);
    seen.push(serial.bump()); // the clock moved on: the serial jumps to it
    clock.set(1_600_000_000);
    seen.push(serial.bump(), serial.bump()); // stepped back 100 million seconds: still +1 each
    expect(seen).toEqual([1_700_000_000, 1_700_000_001, 1_700_000_002, 1_700_000_003, 1_700_000_004, 1_700_000_005, 1_700_000_010, 1_700_000_011, 1_700_000_012]);
    for (let i = 1; i < seen.length; i++) expect(serialGreater(seen[i]!, seen[i - 1]!)).toBe(true);
  });

  it('a restart starts above the last serial published, even with the clock behind it', () => {
    const clock = fakeClock(1_700_000_000);
    const before = ZoneSerial.startAfter(undefined, clock.now);
    for (let i = 0; i < 3; i++) before.bump();
    clock.set(1_699_000_000); // restarted with a clock a long way back
    const after = ZoneSerial.startAfter(before.current, clock.now);
    expect(after.current).toBe(before.current + 1);
    clock.set(1_800_000_000); // restarted later with the clock ahead: the clock wins
    expect(ZoneSerial.startAfter(before.current, clock.now).current).toBe(1_800_000_000);
  });

  it('a change moves it only if an answer carried it since it was published; changes nobody saw share one step', () => {
    const serial = new ZoneSerial(1_000, () => 0);
    const moves: number[] = [];
    serial.onChange((s) => moves.push(s));
    expect(serial.changed()).toBe(1_001); // a new serial may have been seen by anyone: the first change moves
    expect([serial.changed(), serial.changed()]).toEqual([1_001, 1_001]); // nobody read 1001 yet
    expect(serial.observe()).toBe(1_001); // an answer carries it now
    expect(serial.changed()).toBe(1_002);
    expect(serial.current).toBe(1_002); // reading `current` is no answer
    expect(serial.changed()).toBe(1_002);
    expect(moves).toEqual([1_001, 1_002]);
  });

  it('tells listeners of each move; adopt takes only greater serials (a worker following its daemon)', () => {
    const serial = new ZoneSerial(10, () => 0);
    const moves: number[] = [];
    const stop = serial.onChange((s) => moves.push(s));
    expect(serial.adopt(9)).toBe(false);
    expect(serial.adopt(10)).toBe(false);
    expect(serial.adopt(12)).toBe(true);
    serial.bump();
    stop();
    serial.bump();
    expect(moves).toEqual([12, 13]);
    expect(serial.current).toBe(14);
  });
});

describe('the SOA serial in answers', () => {
  let server: DnsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const soaSerial = (line: string | undefined): number => Number(line?.split(' ')[6]);

  it('a change moves the serial of the SOA answer and of negative answers, written into cached ones; other answers stay cached', async () => {
    const view = new FakeView().set({ service: 'api', id: 'a', address: '10.0.0.1', port: 80 });
    const clock = fakeClock(1_700_000_000);
    server = await serveOnLoopback(view, { serial: ZoneSerial.startAfter(undefined, clock.now) });
    const port = server.addresses.udp[0]!.port;
    const ask = async (name: string, type: string) => decode(await udpQuery(port, buildQuery(name, type)));

    // Twice each, so the second reply comes from the cache.
    for (let i = 0; i < 2; i++) {
      expect(soaSerial((await ask('local', 'SOA')).answer[0])).toBe(1_700_000_000);
      const nx = await ask('nothing.local', 'A');
      expect([nx.rcode, soaSerial(nx.authority[0])]).toEqual(['NXDOMAIN', 1_700_000_000]);
      const nodata = await ask('_api._tcp.local', 'TXT');
      expect([nodata.rcode, nodata.answer.length, soaSerial(nodata.authority[0])]).toEqual(['NOERROR', 0, 1_700_000_000]);
      await ask('a._api._tcp.local', 'SRV');
    }
    view.set({ service: 'web', id: 'w', address: '10.0.0.2', port: 80 }); // a registration elsewhere in the zone
    expect(server.serial.current).toBe(1_700_000_001);
    // The cached replies carry 1_700_000_001 now, so it counts as handed out: the next change moves again.
    view.set({ service: 'web', id: 'w2', address: '10.0.0.3', port: 80 });
    expect(server.serial.current).toBe(1_700_000_002);
    // Cached answers carrying the SOA keep their place in the cache, with the new serial written in.
    const hits = server.stats().cacheHits;
    expect(soaSerial((await ask('local', 'SOA')).answer[0])).toBe(1_700_000_002);
    expect(soaSerial((await ask('_api._tcp.local', 'TXT')).authority[0])).toBe(1_700_000_002);
    expect(server.stats().cacheHits).toBe(hits + 2);
    expect(soaSerial((await ask('nothing.local', 'A')).authority[0])).toBe(1_700_000_002);
    // The instance of another service kept its cached answer.
    const before = server.stats().cacheHits;
    await ask('a._api._tcp.local', 'SRV');
    expect(server.stats().cacheHits).toBe(before + 1);

    clock.set(1_700_000_100);
    view.remove('web', 'w'); // a deregistration, a while later: the serial follows the clock
    expect(soaSerial((await ask('nothing.local', 'A')).authority[0])).toBe(1_700_000_100);
  });

  it('changes with no answer carrying the serial in between share one step', async () => {
    const view = new FakeView();
    server = await serveOnLoopback(view, { serial: ZoneSerial.startAfter(undefined, () => 1_700_000_000) });
    for (let i = 0; i < 3; i++) view.set({ service: 'api', id: `a${i}`, address: '10.0.0.1', port: 80 });
    expect(server.serial.current).toBe(1_700_000_001);
    const port = server.addresses.udp[0]!.port;
    expect(soaSerial(decode(await udpQuery(port, buildQuery('local', 'SOA'))).answer[0])).toBe(1_700_000_001);
    view.remove('api', 'a0');
    expect(soaSerial(decode(await udpQuery(port, buildQuery('local', 'SOA'))).answer[0])).toBe(1_700_000_002);
  });

  it('a server that adopts serials (a DNS worker) does not move on its own, and drops cached SOA answers when it adopts', async () => {
    const view = new FakeView();
    const serial = new ZoneSerial(5_000, () => 0);
    server = await serveOnLoopback(view, { serial, serialFollowsView: false });
    const port = server.addresses.udp[0]!.port;
    const ask = async () => soaSerial(decode(await udpQuery(port, buildQuery('local', 'SOA'))).answer[0]);
    expect(await ask()).toBe(5_000);
    view.set({ service: 'api', id: 'a', address: '10.0.0.1', port: 80 });
    expect(await ask()).toBe(5_000);
    serial.adopt(5_007);
    expect(await ask()).toBe(5_007);
  });

  it('a zone file serial for the domain (date-style, ahead of unix time) is a floor: the served serial starts there and still grows', async () => {
    const view = new FakeView();
    const { parseZoneFile } = await import('../../src/dns/zonefile.js');
    const zone = parseZoneFile('$ORIGIN local.\n@ 300 IN SOA ns.local. admin.local. 2026113001 3600 600 86400 5\n');
    server = await serveOnLoopback(view, { zones: [zone], serial: ZoneSerial.startAfter(undefined, () => 1_700_000_000) });
    const port = server.addresses.udp[0]!.port;
    const ask = async () => decode(await udpQuery(port, buildQuery('local', 'SOA'))).answer[0];
    expect(await ask()).toBe('local. 300 IN SOA ns.local. admin.local. 2026113001 3600 600 86400 5');
    view.set({ service: 'api', id: 'a', address: '10.0.0.1', port: 80 });
    expect(soaSerial(await ask())).toBe(2_026_113_002);
  });
});
