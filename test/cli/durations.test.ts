/**
 * Every duration a user writes (serve flags, environment, config file, client command flags) needs a unit:
 * a bare number is refused with an error naming the setting and showing an example, and compound forms
 * (`1m30s`) are accepted everywhere. The client commands run as the built CLI (npm test builds first).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerBody } from '../../src/cli/register-body.js';
import { loadConfig, type BeaconConfig } from '../../src/config.js';
import { envOf, SETTING_NAMES, specOf, type SettingName } from '../../src/config/settings.js';
import { runCli } from '../e2e/daemon.js';

const DURATION_SETTINGS = SETTING_NAMES.filter((name) => specOf(name).arg === '<duration>');

const dirs: string[] = [];
afterAll(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});
async function configFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-durations-'));
  dirs.push(dir);
  const file = path.join(dir, 'beacon.json');
  await writeFile(file, JSON.stringify(content));
  return file;
}

type Source = 'flag' | 'env' | 'file';
async function load(name: SettingName, source: Source, value: unknown): Promise<BeaconConfig> {
  if (source === 'flag') return loadConfig({ env: {}, flags: { [name]: value } });
  if (source === 'env') return loadConfig({ env: { [envOf(name)]: String(value) } });
  return loadConfig({ env: {}, configFile: await configFile({ [name]: value }) });
}
async function refusal(name: SettingName, source: Source, value: unknown): Promise<{ code?: string; message: string }> {
  try {
    await load(name, source, value);
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  throw new Error(`${name} from ${source} accepted ${JSON.stringify(value)}`);
}

describe('durations in daemon settings', () => {
  it('covers every duration setting of the table', () => {
    expect(DURATION_SETTINGS).toEqual(['storeWait', 'answerTtl', 'negativeTtl', 'ttl', 'checkInterval', 'deregisterCriticalAfter', 'breakerOpenTimeout', 'dnsTcpMessageDeadline', 'dnsTcpIdleTimeout', 'updateLease']);
  });

  const sources: Source[] = ['flag', 'env', 'file'];
  const bare: [SettingName, Source, unknown][] = DURATION_SETTINGS.flatMap((name) =>
    sources.flatMap((source): [SettingName, Source, unknown][] => [
      [name, source, '10'],
      [name, source, '1.5'],
      ...(source === 'file' ? [[name, source, 10] as [SettingName, Source, unknown]] : []),
    ]),
  );
  it.each(bare)('%s from the %s refuses the bare number %j, naming the setting with an example', async (name, source, value) => {
    const error = await refusal(name, source, value);
    expect(error.code).toBe('INVALID_CONFIGURATION');
    expect(error.message).toMatch(new RegExp(`^${name}: a duration needs a unit`));
    expect(error.message).toMatch(/e\.g\. .*1m30s/);
  });

  const compound: [SettingName, Source][] = DURATION_SETTINGS.flatMap((name) => sources.map((source): [SettingName, Source] => [name, source]));
  it.each(compound)('%s from the %s accepts 1m30s', async (name, source) => {
    const config = await load(name, source, '1m30s');
    const expected: Record<SettingName, Partial<BeaconConfig>> = {
      storeWait: { storeWaitMs: 90_000 },
      answerTtl: { answerTtlSeconds: 90 },
      negativeTtl: { negativeTtlSeconds: 90 },
      ttl: { defaultTtlMs: 90_000 },
      checkInterval: { healthCheckIntervalMs: 90_000 },
      deregisterCriticalAfter: { deregisterCriticalAfterMs: 90_000 },
      breakerOpenTimeout: { breakerOpenTimeoutMs: 90_000 },
      dnsTcpMessageDeadline: { dnsTcp: expect.objectContaining({ messageDeadlineMs: 90_000 }) as BeaconConfig['dnsTcp'] },
      dnsTcpIdleTimeout: { dnsTcp: expect.objectContaining({ idleTimeoutMs: 90_000 }) as BeaconConfig['dnsTcp'] },
      updateLease: { updateLeaseMs: 90_000 },
    } as Record<SettingName, Partial<BeaconConfig>>;
    expect(config).toMatchObject(expected[name]!);
  });
});

describe('durations in client commands', () => {
  it('register flags accept compound forms', () => {
    expect(registerBody({ port: '80', ttl: '1m30s' }).ttlMs).toBe(90_000);
    expect(registerBody({ port: '80', httpCheck: 'http://127.0.0.1/', checkInterval: '1m', checkTimeout: '1s500ms' }).check).toMatchObject({ intervalMs: 60_000, timeoutMs: 1500 });
  });

  // No daemon runs: each command must refuse its flag before it contacts one.
  const socket = path.join(os.tmpdir(), 'beacon-durations-no-daemon.sock');
  it.each([
    ['register --ttl', ['register', 'web', 'w1', '--port', '80', '--ttl', '10'], '--ttl'],
    ['register --check-interval', ['register', 'web', 'w1', '--port', '80', '--http-check', 'http://127.0.0.1/', '--check-interval', '10'], '--check-interval'],
    ['register --check-timeout', ['register', 'web', 'w1', '--port', '80', '--http-check', 'http://127.0.0.1/', '--check-timeout', '2'], '--check-timeout'],
    ['heartbeat --every', ['heartbeat', 'web', 'w1', '--every', '10'], '--every'],
    ['run --heartbeat', ['run', '--service', 'web', '--port', '80', '--heartbeat', '10', '--', 'true'], '--heartbeat'],
    ['watch --wait', ['watch', '--wait', '10'], '--wait'],
  ])('%s refuses a bare number, naming the flag', async (_name, args, flag) => {
    const result = await runCli([...args, '--socket', socket]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${flag}: a duration needs a unit, got "`);
    expect(result.stderr).toMatch(/e\.g\. .*1m30s/);
  });
});
