import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { persistSerial, readSerial, SERIAL_FILE } from '../../src/daemon/serial-file.js';
import { serialGreater, ZoneSerial } from '../../src/dns/zone-serial.js';
import { silentLogger } from '../../src/log.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'beacon-serial-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  vi.useRealTimers();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the stored SOA serial', () => {
  it('survives a restart: the next process starts above it though its clock stepped back', async () => {
    const dir = dataDir();
    expect(readSerial(dir, silentLogger)).toBeUndefined();
    let now = 1_700_000_000;
    const first = ZoneSerial.startAfter(readSerial(dir, silentLogger), () => now);
    const stored = persistSerial(first, dir, silentLogger);
    for (let i = 0; i < 50; i++) first.bump();
    await stored.close();
    expect(readSerial(dir, silentLogger)).toBe(1_700_000_050);

    now = 1_600_000_000; // the machine came back with its clock far behind
    const second = ZoneSerial.startAfter(readSerial(dir, silentLogger), () => now);
    expect(second.current).toBe(1_700_000_051);
    expect(serialGreater(second.current, first.current)).toBe(true);
  });

  it('is written once per interval after a burst of moves, not once per move', async () => {
    vi.useFakeTimers();
    const dir = dataDir();
    const serial = new ZoneSerial(100, () => 0);
    const stored = persistSerial(serial, dir, silentLogger, 1_000);
    await vi.advanceTimersByTimeAsync(10); // the start's own serial
    await vi.waitFor(() => expect(readSerial(dir, silentLogger)).toBe(100));
    for (let i = 0; i < 10; i++) serial.bump();
    await vi.advanceTimersByTimeAsync(500);
    expect(readSerial(dir, silentLogger)).toBe(100); // not yet: the burst is still within the interval
    await vi.advanceTimersByTimeAsync(600);
    await vi.waitFor(() => expect(readSerial(dir, silentLogger)).toBe(110));
    await stored.close();
    expect(readFileSync(path.join(dir, SERIAL_FILE), 'utf8')).toBe('110\n');
  });

  it('an unreadable file is ignored (the clock decides), never a crash', () => {
    const dir = dataDir();
    for (const text of ['garbage', '-5', '4294967296', '']) {
      writeFileSync(path.join(dir, SERIAL_FILE), text);
      expect(readSerial(dir, silentLogger)).toBeUndefined();
    }
  });
});

describe('the daemon and the serial file', () => {
  it('keeps it in the data directory on SQLite and writes none with the memory store (--ephemeral)', async () => {
    const { startBeacon } = await import('../../src/daemon/beacon.js');
    const { loadConfig } = await import('../../src/config.js');
    const files: Record<string, boolean> = {};
    for (const ephemeral of [false, true]) {
      const dir = dataDir();
      const beacon = await startBeacon(loadConfig({ env: {}, cwd: dir, flags: { ephemeral, dataDir: dir, dnsListen: '127.0.0.1:0' } }), { logger: silentLogger });
      await beacon.close();
      files[ephemeral ? 'memory' : 'sqlite'] = existsSync(path.join(dir, SERIAL_FILE));
    }
    expect(files).toEqual({ sqlite: true, memory: false });
  });
});
