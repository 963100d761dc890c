/**
 * Beacon's mDNS responder against real peers on a veth link between two network namespaces: avahi-daemon,
 * avahi-browse and avahi-publish on one side, glibc with nss-mdns (getent), dig and a dns-packet legacy
 * querier; Beacon's responder over a real registry on the other. Runs as root (namespaces); fails, never
 * skips, when a tool is missing.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDRESS_A, ADDRESS_B, parseBrowseLine, startMdnsLab, type BrowseEntry, type MdnsLab } from './support/mdns-lab.js';

const BEACON_SCRIPT = fileURLToPath(new URL('./support/mdns-beacon.mjs', import.meta.url));
const LEGACY_QUERY_SCRIPT = fileURLToPath(new URL('./support/mdns-legacy-query.mjs', import.meta.url));
const HOST = '10-77-0-2.local';
const LISTEN_SCRIPT = fileURLToPath(new URL('./support/mdns-listen.mjs', import.meta.url));
/** The goodbye (TTL 0, RFC 6762 §10.1) is on the link within this bound of the instance leaving DNS. */
const GOODBYE_ON_LINK_MS = 1000;
/**
 * avahi keeps a record for one second after its goodbye (RFC 6762 §10.1, avahi-core/cache.c
 * `expire_in_one_second`), so avahi-browse reports the removal one second after the goodbye arrives.
 */
const GOODBYE_IN_BROWSER_MS = 1000 + GOODBYE_ON_LINK_MS;

let lab: MdnsLab;

function register(id: string, port: number, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return lab.beacon.command({ op: 'register', service: 'web', instance: { id, address: ADDRESS_B, port, ...extra } });
}

/** `avahi-browse -rpt TYPE`: the resolved entries, by instance name. */
async function browseOnce(type: string): Promise<Map<string, BrowseEntry>> {
  const out = await lab.inA(['avahi-browse', '-rpt', type], 20_000);
  const entries = new Map<string, BrowseEntry>();
  for (const line of out.split('\n')) {
    const entry = parseBrowseLine(line);
    if (entry?.event === '=') entries.set(entry.name, entry);
  }
  return entries;
}

beforeAll(async () => {
  lab = await startMdnsLab(BEACON_SCRIPT);
  await register('web-1', 8080, { metadata: { version: '2' }, tags: ['canary'] });
  await register('web-2', 8081, { metadata: { zone: 'a', version: '1' } });
  await register('web-3', 8082, { health: 'unhealthy' });
  await lab.beacon.announced(['web/tcp/web-1', 'web/tcp/web-2']);
});

afterAll(async () => {
  await lab?.destroy();
});

describe('mDNS interop with avahi, nss-mdns and dig in network namespaces', () => {
  it('avahi-browse -rpt lists the healthy instances with host, port and TXT, and not the unhealthy one', async () => {
    const entries = await browseOnce('_web._tcp');
    expect([...entries.keys()].sort()).toEqual(['web-1', 'web-2']);
    expect(entries.get('web-1')).toMatchObject({ host: HOST, address: ADDRESS_B, port: 8080, txt: ['version=2'] });
    expect(entries.get('web-2')).toMatchObject({ host: HOST, address: ADDRESS_B, port: 8081 });
    expect([...(entries.get('web-2')?.txt ?? [])].sort()).toEqual(['version=1', 'zone=a']);
  });

  it('avahi finds the service type by enumeration and the tag as a subtype', async () => {
    // -a browses every type that `_services._dns-sd._udp.local` enumerates (RFC 6763 §9); -k keeps raw type names.
    const all = await lab.inA(['avahi-browse', '-apt', '-k'], 20_000);
    const names = all.split('\n').map(parseBrowseLine).filter((e) => e?.event === '+').map((e) => e?.name);
    expect([...new Set(names)].sort()).toEqual(['web-1', 'web-2']);
    const canary = await browseOnce('_canary._sub._web._tcp');
    expect([...canary.keys()]).toEqual(['web-1']);
  });

  it('glibc with nss-mdns resolves the instances host name (getent hosts)', async () => {
    const out = await lab.inA(['getent', 'hosts', HOST]);
    expect(out.trim().split(/\s+/)).toEqual([ADDRESS_B, HOST]);
  });

  it('answers legacy unicast queries (dig -p 5353, and a one-shot query to 224.0.0.251) with healthy instances only', async () => {
    const viaDig = await lab.inA(['dig', '+short', '+time=3', '+tries=1', '-p', '5353', `@${ADDRESS_B}`, '_web._tcp.local', 'PTR']);
    expect(viaDig.trim().split('\n').sort()).toEqual(['web-1._web._tcp.local.', 'web-2._web._tcp.local.']);

    const out = await lab.inA([process.execPath, LEGACY_QUERY_SCRIPT, '_web._tcp.local', 'PTR', ADDRESS_A, ADDRESS_B]);
    const reply = JSON.parse(out) as { id: number; sentId: number; questions: { name: string }[]; answers: { type: string; data: string; ttl: number }[]; additionals: { type: string; ttl: number }[] };
    expect(reply.id).toBe(reply.sentId);
    expect(reply.questions.map((q) => q.name)).toEqual(['_web._tcp.local']);
    expect(reply.answers.filter((a) => a.type === 'PTR').map((a) => a.data).sort()).toEqual(['web-1._web._tcp.local', 'web-2._web._tcp.local']);
    for (const record of [...reply.answers, ...reply.additionals]) expect(record.ttl).toBeLessThanOrEqual(10);
  });

  it('an instance made unhealthy is said goodbye to at once and leaves a running avahi-browse; it comes back when healthy', async () => {
    const browse = lab.spawnInA(['avahi-browse', '-rp', '_web._tcp'], 'avahi-browse');
    const listen = lab.spawnInA([process.execPath, LISTEN_SCRIPT, ADDRESS_A], 'mdns listener');
    try {
      await listen.waitFor((l) => l === 'listening', 10_000);
      await browse.waitFor((l) => parseBrowseLine(l)?.event === '=' && parseBrowseLine(l)?.name === 'web-1', 15_000);
      await browse.waitFor((l) => parseBrowseLine(l)?.event === '=' && parseBrowseLine(l)?.name === 'web-2', 15_000);
      const fromBrowse = browse.lines.length;
      const fromListen = listen.lines.length;
      const sentAt = performance.now();
      await lab.beacon.command({ op: 'health', service: 'web', id: 'web-2', health: 'unhealthy' });
      const isGoodbye = (l: string): boolean => {
        if (!l.startsWith('{')) return false;
        const heard = JSON.parse(l) as { from: string; answers: { name: string; type: string; ttl: number }[] };
        return heard.from === ADDRESS_B && heard.answers.some((a) => a.type === 'PTR' && a.name === '_web._tcp.local' && a.ttl === 0);
      };
      const goodbye = JSON.parse(await listen.waitFor(isGoodbye, GOODBYE_ON_LINK_MS, fromListen)) as { answers: { name: string; type: string; ttl: number }[] };
      const onLink = performance.now() - sentAt;
      expect(goodbye.answers.every((a) => a.ttl === 0)).toBe(true);
      expect(goodbye.answers.filter((a) => a.type === 'SRV' || a.type === 'TXT').map((a) => a.name)).toEqual(['web-2._web._tcp.local', 'web-2._web._tcp.local']);
      await browse.waitFor((l) => parseBrowseLine(l)?.event === '-' && parseBrowseLine(l)?.name === 'web-2', GOODBYE_IN_BROWSER_MS, fromBrowse);
      const inBrowser = performance.now() - sentAt;
      console.log(`mdns goodbye for web-2: on the link after ${Math.round(onLink)} ms, out of avahi-browse after ${Math.round(inBrowser)} ms`);
      expect(browse.lines.slice(fromBrowse).some((l) => parseBrowseLine(l)?.event === '-' && parseBrowseLine(l)?.name === 'web-1')).toBe(false);

      const back = browse.lines.length;
      await lab.beacon.command({ op: 'health', service: 'web', id: 'web-2', health: 'healthy' });
      await browse.waitFor((l) => parseBrowseLine(l)?.event === '=' && parseBrowseLine(l)?.name === 'web-2', 10_000, back);
    } finally {
      await listen.stop();
      await browse.stop();
    }
  });

  it('a name already published by avahi-publish makes Beacon rename its instance, and both stay browsable', async () => {
    const publish = lab.spawnInA(['avahi-publish', '-s', 'web-9', '_web._tcp', '9999', 'owner=avahi'], 'avahi-publish');
    try {
      await publish.waitFor((l) => l.includes("Established under name 'web-9'"), 15_000);
      const from = lab.beacon.out.lines.length;
      await register('web-9', 8089, { metadata: { owner: 'beacon' } });
      const line = await lab.beacon.out.waitFor((l) => l.startsWith('{"rename"'), 10_000, from);
      expect(JSON.parse(line)).toEqual({ rename: { kind: 'instance', from: 'web-9._web._tcp.local', to: 'web-9 (2)._web._tcp.local' } });
      const names = await lab.beacon.announced(['web/tcp/web-9']);
      expect(names['web/tcp/web-9']?.name).toBe('web-9 (2)._web._tcp.local');

      const entries = await browseOnce('_web._tcp');
      expect(entries.get('web-9')).toMatchObject({ host: 'avahi-peer.local', address: ADDRESS_A, port: 9999, txt: ['owner=avahi'] });
      expect(entries.get('web-9 (2)')).toMatchObject({ host: HOST, address: ADDRESS_B, port: 8089, txt: ['owner=beacon'] });
    } finally {
      await publish.stop();
    }
  });
});

describe('mDNS interop over IPv6 only (ff02::fb)', () => {
  let lab6: MdnsLab;

  beforeAll(async () => {
    // avahi with use-ipv4=no: every query and answer it sees travels over IPv6.
    lab6 = await startMdnsLab(BEACON_SCRIPT, { avahiIpv6Only: true });
    const register6 = (id: string, port: number, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
      lab6.beacon.command({ op: 'register', service: 'web', instance: { id, address: ADDRESS_B, port, ...extra } });
    await register6('web-1', 8080, { metadata: { version: '2' } });
    await register6('web-2', 8081);
    await register6('web-3', 8082, { health: 'unhealthy' });
    await lab6.beacon.announced(['web/tcp/web-1', 'web/tcp/web-2']);
  });

  afterAll(async () => {
    await lab6?.destroy();
  });

  it('avahi-browse -rpt over IPv6 lists the healthy instances with host, port and TXT, and not the unhealthy one', async () => {
    const out = await lab6.inA(['avahi-browse', '-rpt', '_web._tcp'], 20_000);
    const resolved = out.split('\n').filter((l) => parseBrowseLine(l)?.event === '=');
    expect(resolved.length).toBeGreaterThan(0);
    // Field 3 of `avahi-browse -p` is the protocol the service was found over.
    for (const line of resolved) expect(line.split(';')[2]).toBe('IPv6');
    const entries = new Map(resolved.map((l) => parseBrowseLine(l)).filter((e) => e !== undefined).map((e) => [e.name, e]));
    expect([...entries.keys()].sort()).toEqual(['web-1', 'web-2']);
    expect(entries.get('web-1')).toMatchObject({ host: HOST, address: ADDRESS_B, port: 8080, txt: ['version=2'] });
    expect(entries.get('web-2')).toMatchObject({ host: HOST, address: ADDRESS_B, port: 8081 });
  });
});
