/**
 * Test support: run real etcd members (Debian's etcd-server, /usr/bin/etcd) on free loopback ports in a
 * temporary directory. One member or a 3-member cluster; members can be stopped, killed and restarted
 * with their data. Every wait is bounded; `destroy()` kills what is left and removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** Path of the etcd binary (override with ETCD_BIN). */
export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';

/** Is the etcd binary installed? */
export function etcdAvailable(): boolean {
  return existsSync(ETCD_BIN);
}

/** A free TCP port on 127.0.0.1 (bound then released: the usual small race, fine on a test host). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Poll `condition` until it returns true, at most `timeoutMs`. Rejects with `message` on timeout. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, message: string, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${message}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** One etcd member of a test cluster. */
export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly clientUrl: string;
  readonly dataDir: string;
  process: ChildProcess | undefined;
}

/** A running (or partly stopped) etcd cluster for one test file. */
export class EtcdCluster {
  private constructor(
    readonly dir: string,
    readonly members: EtcdMember[],
  ) {}

  /**
   * Start `size` members (1 or 3) and wait until every member reports healthy (bounded). `clientPorts`
   * fixes the members' client ports (for a client configured before etcd runs); free ones otherwise.
   */
  static async start(size = 1, options: { timeoutMs?: number; clientPorts?: readonly number[] } = {}): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'beacon-etcd-'));
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      const clientPort = options.clientPorts?.[i] ?? (await freePort());
      const peerPort = await freePort();
      members.push({ name: `m${i}`, clientPort, peerPort, clientUrl: `http://127.0.0.1:${clientPort}`, dataDir: join(dir, `m${i}.etcd`), process: undefined });
    }
    const cluster = new EtcdCluster(dir, members);
    try {
      for (const member of members) cluster.spawnMember(member);
      await cluster.waitHealthy(options.timeoutMs ?? 20_000);
    } catch (error) {
      if (process.env.ETCD_DEBUG) for (const m of members) console.error(readFileSync(join(dir, `${m.name}.log`), 'utf8').slice(-3000));
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** Client URLs of every member (running or not), for the client's endpoint list. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  private get initialCluster(): string {
    return this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  }

  private spawnMember(member: EtcdMember): void {
    const log = openSync(join(this.dir, `${member.name}.log`), 'a');
    const args = [
      '--name', member.name,
      '--data-dir', member.dataDir,
      '--listen-client-urls', member.clientUrl,
      '--advertise-client-urls', member.clientUrl,
      '--listen-peer-urls', `http://127.0.0.1:${member.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${member.peerPort}`,
      '--initial-cluster', this.initialCluster,
      '--initial-cluster-token', `beacon-test-${basename(this.dir)}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
    ];
    const child = spawn(ETCD_BIN, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    member.process = child;
    child.once('exit', () => {
      if (member.process === child) member.process = undefined;
    });
  }

  /** Is this member answering `/health` with `"health":"true"`? */
  async memberHealthy(member: EtcdMember): Promise<boolean> {
    try {
      const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await response.json()) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  }

  /** Wait until every running member is healthy (bounded). */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const running = this.members.filter((m) => m.process !== undefined);
    await waitFor(async () => (await Promise.all(running.map((m) => this.memberHealthy(m)))).every(Boolean), timeoutMs, 'etcd members healthy', 100);
  }

  private async stopMember(member: EtcdMember, signal: NodeJS.Signals): Promise<void> {
    const child = member.process;
    if (child === undefined || child.exitCode !== null) {
      member.process = undefined;
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    member.process = undefined;
  }

  /** Stop member `index` gracefully (SIGTERM, SIGKILL after 5 s). */
  async stop(index: number): Promise<void> {
    await this.stopMember(this.member(index), 'SIGTERM');
  }

  /** Kill member `index` abruptly (SIGKILL). */
  async kill(index: number): Promise<void> {
    await this.stopMember(this.member(index), 'SIGKILL');
  }

  /** Freeze member `index` (SIGSTOP): its connections stay open but nothing answers, like a hung host. */
  pause(index: number): void {
    this.member(index).process?.kill('SIGSTOP');
  }

  /** Thaw a member frozen by `pause` (SIGCONT). */
  resume(index: number): void {
    this.member(index).process?.kill('SIGCONT');
  }

  /** Stop every member. */
  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((m) => this.stopMember(m, 'SIGTERM')));
  }

  /** Restart member `index` on its data directory and ports (does not wait for health). */
  restart(index: number): void {
    const member = this.member(index);
    if (member.process !== undefined) throw new Error(`member ${member.name} is running`);
    this.spawnMember(member);
  }

  /** Restart every stopped member and wait until the cluster is healthy. */
  async restartAll(timeoutMs = 20_000): Promise<void> {
    this.members.forEach((m, i) => {
      if (m.process === undefined) this.restart(i);
    });
    await this.waitHealthy(timeoutMs);
  }

  private member(index: number): EtcdMember {
    const member = this.members[index];
    if (member === undefined) throw new RangeError(`no etcd member ${index}`);
    return member;
  }

  /** Kill every member and remove the temporary directory. Idempotent. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => this.stopMember(m, 'SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Retry `action` until it resolves or `timeoutMs` passes (a write during a leader election, or just after etcd came back). */
export async function eventually<T>(action: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
