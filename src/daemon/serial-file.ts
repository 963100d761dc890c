/**
 * The last SOA serial a node published, kept in `<dataDir>/zone-serial` so that a restart starts above it
 * even when the clock stepped back meanwhile (docs/ARCHITECTURE.md, "SOA serial"). Written at most once per
 * `intervalMs` after the serial moves (a temporary file renamed over the old one, so a crash leaves the old
 * or the new value, never a torn one) and once more at shutdown; a change does not wait for the disk.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { ZoneSerial } from '../dns/zone-serial.js';

/** The file name under the data directory. */
export const SERIAL_FILE = 'zone-serial';
/** How long after a move the serial is written (a burst of changes costs one write). */
const DEFAULT_INTERVAL_MS = 1_000;

/** The serial stored in `dataDir`, or undefined when there is none (or it is unreadable: logged, then ignored). */
export function readSerial(dataDir: string, log: Logger): number | undefined {
  const file = path.join(dataDir, SERIAL_FILE);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 0xffffffff) {
    log.warn({ file }, 'stored SOA serial is not a 32-bit number; starting from the clock');
    return undefined;
  }
  return value;
}

/** Keep `dataDir/zone-serial` following `serial`; `close` writes the last value and stops. */
export function persistSerial(serial: ZoneSerial, dataDir: string, log: Logger, intervalMs = DEFAULT_INTERVAL_MS): { close(): Promise<void> } {
  const file = path.join(dataDir, SERIAL_FILE);
  const temporary = file + '.tmp';
  let written: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> = Promise.resolve();
  let warned = false;
  const failed = (err: unknown): void => {
    if (!warned) log.warn({ err, file }, 'could not store the SOA serial; a restart will start from the clock');
    warned = true;
  };
  const flush = (): void => {
    timer = undefined;
    const value = serial.current;
    if (value === written) return;
    writing = writing
      .then(async () => {
        await writeFile(temporary, `${value}\n`, { mode: 0o600 });
        await rename(temporary, file);
        written = value;
      })
      .catch(failed);
  };
  const stop = serial.onChange(() => {
    timer ??= setTimeout(flush, intervalMs);
    timer.unref?.();
  });
  const initial = setTimeout(flush, 0); // the serial a start publishes (it may have moved past the stored one)
  initial.unref?.();
  return {
    async close(): Promise<void> {
      stop();
      clearTimeout(initial);
      if (timer) clearTimeout(timer);
      timer = undefined;
      await writing; // a write in flight lands first, so the last value is the one left
      if (serial.current === written) return;
      try {
        // Synchronous: shutdown must not end before the last serial is down.
        writeFileSync(temporary, `${serial.current}\n`, { mode: 0o600 });
        renameSync(temporary, file);
        written = serial.current;
      } catch (err) {
        failed(err);
      }
    },
  };
}
