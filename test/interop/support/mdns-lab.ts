/**
 * A two-namespace link for multicast DNS interop: namespace A runs avahi-daemon (with a private D-Bus system
 * bus, a private /run and an nsswitch.conf using nss-mdns, all in its own mount namespace), namespace B runs
 * Beacon's responder (test/interop/support/mdns-beacon.mjs over dist/). A veth pair joins them; multicast is
 * on and 224.0.0.0/4 is routed on the link (avahi may be told to speak IPv6 only, over the link-local
 * addresses). Every wait is bounded; `destroy` kills what it started (by pid)
 * and deletes the namespaces.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The Debian packages this lab needs (besides iproute2, util-linux and dnsutils, present on any CI image). */
export const MDNS_LAB_PACKAGES = ['avahi-daemon', 'avahi-utils', 'libnss-mdns', 'dbus', 'iproute2', 'util-linux', 'bind9-dnsutils'];
const TOOLS = ['ip', 'unshare', 'nsenter', 'dbus-daemon', 'avahi-daemon', 'avahi-browse', 'avahi-publish', 'getent', 'dig', 'stdbuf'];

export const ADDRESS_A = '10.77.0.1';
export const ADDRESS_B = '10.77.0.2';

/** Run a command to completion (bounded); resolves stdout, rejects with stderr on failure. */
export function run(command: string, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The output lines of a long-running child, with bounded waits for a line that matches. */
export class Lines {
  readonly lines: string[] = [];
  private readonly waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  private exited: string | undefined;

  constructor(readonly child: ChildProcess, readonly label: string) {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        for (const waiter of [...this.waiters]) {
          if (waiter.test(line)) {
            this.waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      });
    }
    child.on('exit', (code, signal) => {
      this.exited = `${label} exited (${code ?? signal})`;
    });
  }

  /** The first line (already seen or to come) that passes `test`, or a rejection after `timeoutMs`. */
  waitFor(test: (line: string) => boolean, timeoutMs: number, from = 0): Promise<string> {
    const seen = this.lines.slice(from).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (line: string) => { clearTimeout(timer); resolve(line); } };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.label}: no matching line within ${timeoutMs} ms (${this.exited ?? 'running'}); output:\n${this.lines.slice(-40).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, 3000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}

/** Beacon's side: JSON-line commands to mdns-beacon.mjs. */
export class BeaconSide {
  constructor(readonly out: Lines) {}

  /** Send one command and wait for its reply line (bounded). */
  async command(command: Record<string, unknown>, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const from = this.out.lines.length;
    this.out.child.stdin?.write(JSON.stringify(command) + '\n');
    const line = await this.out.waitFor((l) => l.startsWith('{"ok"') || l.startsWith('{"error"'), timeoutMs, from);
    const reply = JSON.parse(line) as Record<string, unknown>;
    if ('error' in reply) throw new Error(`beacon: ${String(reply.error)}`);
    return reply;
  }

  /** Wait (bounded) until the given instances are announced under the expected names. */
  async announced(ids: readonly string[], timeoutMs = 8000): Promise<Record<string, { name: string; state: string }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = await this.command({ op: 'stats' });
      const names = reply.names as Record<string, { name: string; state: string }>;
      if (ids.every((id) => names[id]?.state === 'announced')) return names;
      if (Date.now() > deadline) throw new Error(`not announced within ${timeoutMs} ms: ${JSON.stringify(names)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The running lab. */
export interface MdnsLab {
  readonly nsA: string;
  readonly nsB: string;
  readonly beacon: BeaconSide;
  /** Run a command inside avahi's namespaces (network + mount) to completion. */
  inA(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Start a long-running command inside avahi's namespaces. */
  spawnInA(args: readonly string[], label: string): Lines;
  /** Run a command inside Beacon's network namespace to completion. */
  inB(args: readonly string[], timeoutMs?: number): Promise<string>;
  destroy(): Promise<void>;
}

const DBUS_CONF = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

/** Options of `startMdnsLab`. */
export interface MdnsLabOptions {
  /** avahi speaks mDNS over IPv6 only (ff02::fb), never IPv4 (default: IPv4 only). */
  readonly avahiIpv6Only?: boolean;
}

function avahiConf(iface: string, ipv6Only: boolean): string {
  return `[server]
host-name=avahi-peer
domain-name=local
use-ipv4=${ipv6Only ? 'no' : 'yes'}
use-ipv6=${ipv6Only ? 'yes' : 'no'}
allow-interfaces=${iface}
enable-dbus=yes
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
publish-aaaa-on-ipv4=no
`;
}

// A private /run (so avahi's socket and pid file and the bus socket are this lab's), and nss-mdns for getent.
const HOLDER = `set -e
mount -t tmpfs beacon-mdns-lab /run
mkdir -p /run/dbus /run/avahi-daemon
mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf
echo ready
exec sleep 3600
`;

/** Create the namespaces and start dbus, avahi and Beacon's responder; fails (never skips) if a tool is missing. */
export async function startMdnsLab(beaconScript: string, options: MdnsLabOptions = {}): Promise<MdnsLab> {
  const ipv6Only = options.avahiIpv6Only ?? false;
  const missing: string[] = [];
  for (const tool of TOOLS) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length > 0) throw new Error(`mDNS interop needs ${missing.join(', ')} (Debian: apt-get install ${MDNS_LAB_PACKAGES.join(' ')})`);
  if (process.getuid?.() !== 0) throw new Error('mDNS interop creates network namespaces and must run as root');

  const tag = `${process.pid % 100000}${ipv6Only ? 'v6' : ''}`;
  const nsA = `bmdns${tag}a`;
  const nsB = `bmdns${tag}b`;
  const dir = mkdtempSync(join(tmpdir(), 'beacon-mdns-'));
  writeFileSync(join(dir, 'dbus.conf'), DBUS_CONF);
  writeFileSync(join(dir, 'avahi.conf'), avahiConf(nsA, ipv6Only));
  writeFileSync(join(dir, 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files mdns4_minimal [NOTFOUND=return]\n');
  writeFileSync(join(dir, 'holder.sh'), HOLDER);

  const started: Lines[] = [];
  const destroy = async (): Promise<void> => {
    for (const lines of [...started].reverse()) await lines.stop();
    for (const ns of [nsA, nsB]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  const launch = (command: string, args: readonly string[], label: string): Lines => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = new Lines(child, label);
    started.push(lines);
    return lines;
  };

  try {
    for (const ns of [nsA, nsB]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    await run('ip', ['netns', 'add', nsA]);
    await run('ip', ['netns', 'add', nsB]);
    await run('ip', ['link', 'add', nsA, 'netns', nsA, 'type', 'veth', 'peer', 'name', nsB, 'netns', nsB]);
    for (const [ns, address] of [[nsA, ADDRESS_A], [nsB, ADDRESS_B]] as const) {
      await run('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', ns]);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', ns, 'link', 'set', ns, 'up', 'multicast', 'on']);
      await run('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', ns]);
    }
    // The link-local IPv6 addresses come up 'tentative' (duplicate address detection, RFC 4862 §5.4), and
    // nothing can be sent from them until DAD is over: wait (bounded) for both to leave that state.
    if (ipv6Only) for (const ns of [nsA, nsB]) await waitForLinkLocal(ns);

    // `ip netns exec` and `unshare` exec in turn, so the holder's pid is the child's: nsenter joins its namespaces.
    const holder = launch('ip', ['netns', 'exec', nsA, 'unshare', '-m', '--propagation', 'private', 'sh', join(dir, 'holder.sh'), dir], 'namespace holder');
    await holder.waitFor((l) => l === 'ready', 10_000);
    const pid = String(holder.child.pid);
    const enterA = (args: readonly string[]): string[] => ['-t', pid, '-m', '-n', '--', ...args];

    const dbus = launch('nsenter', enterA(['dbus-daemon', `--config-file=${join(dir, 'dbus.conf')}`, '--nofork', '--nopidfile', '--print-address=1']), 'dbus-daemon');
    await dbus.waitFor((l) => l.startsWith('unix:'), 10_000);
    const avahi = launch('nsenter', enterA(['avahi-daemon', '-f', join(dir, 'avahi.conf'), '--no-drop-root', '--no-chroot', '--no-rlimits']), 'avahi-daemon');
    await avahi.waitFor((l) => l.startsWith('Server startup complete'), 15_000);

    const beaconOut = launch('ip', ['netns', 'exec', nsB, process.execPath, beaconScript, nsB], 'beacon');
    await beaconOut.waitFor((l) => l.startsWith('{"ready"'), 15_000);

    return {
      nsA,
      nsB,
      beacon: new BeaconSide(beaconOut),
      inA: (args, timeoutMs) => run('nsenter', enterA(args), timeoutMs),
      spawnInA: (args, label) => launch('nsenter', enterA(['stdbuf', '-oL', ...args]), label),
      inB: (args, timeoutMs) => run('ip', ['netns', 'exec', nsB, ...args], timeoutMs),
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** Wait (bounded) until the namespace's interface of the same name has a link-local IPv6 address out of DAD. */
async function waitForLinkLocal(ns: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await run('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', ns, 'scope', 'link']);
    const tentative = await run('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', ns, 'scope', 'link', 'tentative']);
    if (all.includes('inet6 fe80') && !tentative.includes('inet6')) return;
    if (Date.now() > deadline) throw new Error(`${ns}: no usable link-local IPv6 address within ${timeoutMs} ms:\n${all}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One resolved service line of `avahi-browse -p` (`=;iface;proto;name;type;domain;host;address;port;txt`). */
export interface BrowseEntry {
  readonly event: '+' | '-' | '=';
  readonly name: string;
  readonly host?: string;
  readonly address?: string;
  readonly port?: number;
  readonly txt?: readonly string[];
}

/** Undo avahi-browse's `\DDD` (decimal) escapes. */
export function unescapeAvahi(text: string): string {
  return Buffer.from(text.replace(/\\(\d{3})/g, (_, d: string) => String.fromCharCode(Number(d))), 'latin1').toString('utf8');
}

/** Parse one `avahi-browse -p` line; undefined for other lines. */
export function parseBrowseLine(line: string): BrowseEntry | undefined {
  const fields = line.split(';');
  const event = fields[0];
  if ((event !== '+' && event !== '-' && event !== '=') || fields.length < 6) return undefined;
  const name = unescapeAvahi(fields[3] ?? '');
  if (event !== '=') return { event, name };
  const txt = [...(fields.slice(9).join(';').matchAll(/"((?:[^"\\]|\\.)*)"/g))].map((m) => m[1] ?? '');
  return { event, name, host: fields[6] ?? '', address: fields[7] ?? '', port: Number(fields[8]), txt };
}
