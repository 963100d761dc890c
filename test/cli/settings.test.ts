import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { DEFAULT_SETTINGS, loadConfig, SETTINGS, settingsFromFlags, type BeaconConfig, type RawSettings } from '../../src/config.js';
import { envOf, flagOf, SETTING_NAMES, SETTING_TABLE, specOf, type SettingName } from '../../src/config/settings.js';

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});
async function configFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-settings-'));
  dirs.push(dir);
  const file = path.join(dir, 'beacon.json');
  await writeFile(file, JSON.stringify(content));
  return file;
}

/**
 * Two distinct, valid, non-default values of every setting (as a user types them). Typed by SettingName:
 * a setting added to the table does not compile here until it has samples, so every test below covers it.
 */
const SAMPLES: Readonly<Record<SettingName, readonly [string, string]>> = {
  dataDir: ['/srv/beacon-a', '/srv/beacon-b'],
  ephemeral: ['true', 'false'],
  store: ['memory', 'etcd'],
  etcdEndpoints: ['10.0.0.1:2379', '10.0.0.2:2379'],
  storeWait: ['30s', '2m'],
  domain: ['a.example', 'b.example'],
  dnsListen: ['127.0.0.1:1053', '[::1]:2053'],
  zones: ['/srv/zones-a', '/srv/zones-b'],
  answerTtl: ['7s', '9s'],
  maxAnswers: ['3', '10'],
  negativeTtl: ['3s', '4m'],
  socket: ['/run/a.sock', '/run/b.sock'],
  http: ['127.0.0.1:8500', '127.0.0.1:8600'],
  token: ['token-aaaaaaaa', 'token-bbbbbbbb'],
  readToken: ['read-token-aaaaaaaa', 'read-token-bbbbbbbb'],
  ttl: ['5s', '6s'],
  checkInterval: ['7s', '8s'],
  deregisterCriticalAfter: ['2m', '3m'],
  breakerFailures: ['3', '4'],
  breakerSuccesses: ['3', '4'],
  breakerOpenTimeout: ['10s', '20s'],
  breakerHalfOpenCalls: ['2', '3'],
  workers: ['2', '3'],
  dnsThread: ['true', 'false'],
  heapGrowth: ['20', '0'],
  dnsTcpMaxConnections: ['64', '128'],
  dnsTcpMaxPerClient: ['4', '8'],
  dnsTcpMessageDeadline: ['2s', '3s'],
  dnsTcpIdleTimeout: ['20s', '30s'],
  udpTransport: ['dgram', 'batched'],
  mdns: ['eth0', 'eth1'],
  tsigKey: ['k1:hmac-sha256:c2VjcmV0LW9uZQ==', 'k2:hmac-sha512:c2VjcmV0LXR3bw==,k3:hmac-sha256:dGhyZWU='],
  tsigKeyServices: ['k1=printer', 'k1=_ipp._tcp,k1=http'],
  allowUpdateFrom: ['127.0.0.1/32', '10.0.0.0/8,::1'],
  updateLease: ['30m', '1h'],
  updateMaxRecordSets: ['50', '20000'],
  updateMaxRecords: ['5', '200'],
  logLevel: ['warn', 'debug'],
  pretty: ['true', 'false'],
};

/** Settings another one needs to be valid at all, given as flags in every variant (they are not under test). */
const COMPANIONS: Partial<Record<SettingName, RawSettings>> = {
  http: { token: 'companion-token' },
  store: { etcdEndpoints: '127.0.0.1:2379' },
  tsigKeyServices: { tsigKey: ['k1:hmac-sha256:c2VjcmV0LW9uZQ=='] },
};

/** The spellings users rely on; derived ones must keep matching them. */
const LEGACY_SPELLINGS: Readonly<Record<SettingName, readonly [flag: string, env: string]>> = {
  dataDir: ['--data-dir', 'BEACON_DATA_DIR'],
  ephemeral: ['--ephemeral', 'BEACON_EPHEMERAL'],
  store: ['--store', 'BEACON_STORE'],
  etcdEndpoints: ['--etcd-endpoints', 'BEACON_ETCD_ENDPOINTS'],
  storeWait: ['--store-wait', 'BEACON_STORE_WAIT'],
  domain: ['--domain', 'BEACON_DOMAIN'],
  dnsListen: ['--dns-listen', 'BEACON_DNS_LISTEN'],
  zones: ['--zones', 'BEACON_ZONES'],
  answerTtl: ['--answer-ttl', 'BEACON_ANSWER_TTL'],
  maxAnswers: ['--max-answers', 'BEACON_MAX_ANSWERS'],
  negativeTtl: ['--negative-ttl', 'BEACON_NEGATIVE_TTL'],
  socket: ['--socket', 'BEACON_SOCKET'],
  http: ['--http', 'BEACON_HTTP'],
  token: ['--token', 'BEACON_TOKEN'],
  readToken: ['--read-token', 'BEACON_READ_TOKEN'],
  ttl: ['--ttl', 'BEACON_TTL'],
  checkInterval: ['--check-interval', 'BEACON_CHECK_INTERVAL'],
  deregisterCriticalAfter: ['--deregister-critical-after', 'BEACON_DEREGISTER_CRITICAL_AFTER'],
  breakerFailures: ['--breaker-failures', 'BEACON_BREAKER_FAILURES'],
  breakerSuccesses: ['--breaker-successes', 'BEACON_BREAKER_SUCCESSES'],
  breakerOpenTimeout: ['--breaker-open-timeout', 'BEACON_BREAKER_OPEN_TIMEOUT'],
  breakerHalfOpenCalls: ['--breaker-half-open-calls', 'BEACON_BREAKER_HALF_OPEN_CALLS'],
  workers: ['--workers', 'BEACON_WORKERS'],
  dnsThread: ['--dns-thread', 'BEACON_DNS_THREAD'],
  heapGrowth: ['--heap-growth', 'BEACON_HEAP_GROWTH'],
  dnsTcpMaxConnections: ['--dns-tcp-max-connections', 'BEACON_DNS_TCP_MAX_CONNECTIONS'],
  dnsTcpMaxPerClient: ['--dns-tcp-max-per-client', 'BEACON_DNS_TCP_MAX_PER_CLIENT'],
  dnsTcpMessageDeadline: ['--dns-tcp-message-deadline', 'BEACON_DNS_TCP_MESSAGE_DEADLINE'],
  dnsTcpIdleTimeout: ['--dns-tcp-idle-timeout', 'BEACON_DNS_TCP_IDLE_TIMEOUT'],
  udpTransport: ['--udp-transport', 'BEACON_UDP_TRANSPORT'],
  mdns: ['--mdns', 'BEACON_MDNS'],
  tsigKey: ['--tsig-key', 'BEACON_TSIG_KEY'],
  tsigKeyServices: ['--tsig-key-services', 'BEACON_TSIG_KEY_SERVICES'],
  allowUpdateFrom: ['--allow-update-from', 'BEACON_ALLOW_UPDATE_FROM'],
  updateLease: ['--update-lease', 'BEACON_UPDATE_LEASE'],
  updateMaxRecordSets: ['--update-max-record-sets', 'BEACON_UPDATE_MAX_RECORD_SETS'],
  updateMaxRecords: ['--update-max-records', 'BEACON_UPDATE_MAX_RECORDS'],
  logLevel: ['--log-level', 'BEACON_LOG_LEVEL'],
  pretty: ['--pretty', 'BEACON_PRETTY'],
};

/** The real `beacon serve` command of a fresh program (options accumulate per program). */
function serveCommand() {
  const serve = buildProgram().commands.find((command) => command.name() === 'serve');
  if (!serve) throw new Error('no serve command');
  return serve;
}

/** Command-line words that set `name` to `value` (a switch for booleans; one flag per list item). */
function flagWords(name: SettingName, value: string): string[] {
  const spec = specOf(name);
  if (!spec.arg) return [flagOf(name)];
  const values = spec.repeatable ? value.split(',') : [value];
  return values.flatMap((v) => [flagOf(name), v]);
}

/** Parse words with the real serve command and return the settings it found. */
function parseServeFlags(words: string[]): RawSettings {
  const serve = serveCommand();
  const { unknown, operands } = serve.parseOptions(words);
  expect({ unknown, operands }).toEqual({ unknown: [], operands: [] });
  return settingsFromFlags(serve.opts());
}

/** A JSON config file's form of a sample: booleans as JSON booleans, lists as arrays. */
function fileValue(name: SettingName, value: string): unknown {
  const spec = specOf(name);
  if (!spec.arg) return value === 'true';
  return spec.repeatable ? value.split(',') : value;
}

interface Given {
  readonly flag?: string;
  readonly env?: string;
  readonly file?: string;
}

/** The config when `name` is given (by any combination of sources) and nothing else is set. */
async function configWith(name: SettingName, given: Given): Promise<BeaconConfig> {
  const flags = { ...COMPANIONS[name], ...(given.flag === undefined ? {} : parseServeFlags(flagWords(name, given.flag))) };
  const env = given.env === undefined ? {} : { [envOf(name)]: given.env };
  const configFilePath = given.file === undefined ? undefined : await configFile({ [name]: fileValue(name, given.file) });
  return loadConfig({ env, flags, cwd: '/', ...(configFilePath ? { configFile: configFilePath } : {}) });
}

describe('the settings table', () => {
  it.each(SETTING_NAMES)('%s is reachable from a flag, the environment and the config file, with the same effect', async (name) => {
    const [first] = SAMPLES[name];
    const unset = await configWith(name, {});
    const fromFlag = await configWith(name, { flag: first });
    expect(fromFlag).not.toEqual(unset);
    expect(await configWith(name, { env: first })).toEqual(fromFlag);
    expect(await configWith(name, { file: first })).toEqual(fromFlag);
  });

  it.each(SETTING_NAMES)('%s follows flags > environment > config file > defaults', async (name) => {
    const [first, second] = SAMPLES[name];
    const byFile = await configWith(name, { file: first });
    const byEnv = await configWith(name, { env: second });
    expect(byEnv).not.toEqual(byFile);
    expect(await configWith(name, { file: first, env: second })).toEqual(byEnv);
    expect(await configWith(name, { flag: first, env: second })).toEqual(await configWith(name, { flag: first }));
    expect(await configWith(name, { flag: first, env: second })).not.toEqual(byEnv);
  });

  it('keeps every flag and environment variable spelling users rely on', () => {
    for (const name of SETTING_NAMES) {
      expect([flagOf(name), envOf(name)]).toEqual(LEGACY_SPELLINGS[name]);
      expect(SETTINGS[name]).toBe(envOf(name));
    }
    expect(Object.keys(SETTINGS)).toEqual([...SETTING_NAMES]);
    expect(Object.keys(LEGACY_SPELLINGS).sort()).toEqual([...SETTING_NAMES].sort());
  });

  it('gives `beacon serve` exactly one flag per setting (plus --config), with the table\'s help text', () => {
    const serve = serveCommand();
    const flags = serve.options.map((option) => option.long);
    expect(flags).toEqual(['--config', ...SETTING_NAMES.map(flagOf)]);
    for (const name of SETTING_NAMES) {
      const option = serve.options.find((o) => o.long === flagOf(name));
      // commander's attribute name is the setting name, so parsed flags need no mapping.
      expect(option?.attributeName()).toBe(name);
      expect(option?.description.startsWith(SETTING_TABLE[name].description)).toBe(true);
    }
    expect(serve.options.find((o) => o.long === '--store')?.argChoices).toEqual(['sqlite', 'memory', 'etcd']);
  });

  it('derives the defaults from the table and applies them when nothing is set', () => {
    for (const name of SETTING_NAMES) {
      expect(DEFAULT_SETTINGS[name]).toEqual(specOf(name).default);
    }
    expect(loadConfig({ env: {}, flags: { ...DEFAULT_SETTINGS }, cwd: '/srv' })).toEqual(loadConfig({ env: {}, cwd: '/srv' }));
  });

  it('refuses DNS UPDATE with the batched UDP transport, and accepts it with DNS workers', () => {
    const key = 'k:hmac-sha256:c2VjcmV0';
    expect(loadConfig({ env: { BEACON_TSIG_KEY: key, BEACON_WORKERS: '2' } })).toMatchObject({ dnsWorkers: 2, tsigKeys: [{ algorithm: 'hmac-sha256' }] });
    expect(() => loadConfig({ env: { BEACON_ALLOW_UPDATE_FROM: '127.0.0.1/32', BEACON_UDP_TRANSPORT: 'batched' } })).toThrow(/^udpTransport: DNS UPDATE/);
    expect(loadConfig({ env: { BEACON_TSIG_KEY: key, BEACON_UDP_TRANSPORT: 'dgram' } }).tsigKeys).toHaveLength(1);
  });

  it('rejects a value of the wrong kind from any source, naming the setting', async () => {
    const error = (fn: () => unknown): { code?: string; message: string } => {
      try {
        fn();
      } catch (caught) {
        return { code: (caught as { code?: string }).code, message: (caught as Error).message };
      }
      throw new Error('expected an error');
    };
    expect(error(() => loadConfig({ env: { BEACON_WORKERS: '65' } }))).toMatchObject({ code: 'INVALID_CONFIGURATION', message: expect.stringMatching(/^workers:/) });
    const file = await configFile({ logLevel: 'loud' });
    expect(error(() => loadConfig({ env: {}, configFile: file }))).toMatchObject({ code: 'INVALID_CONFIGURATION', message: expect.stringMatching(/^logLevel:/) });
    expect(error(() => loadConfig({ env: {}, flags: parseServeFlags(['--answer-ttl', 'soon']) }))).toMatchObject({ code: 'INVALID_CONFIGURATION', message: expect.stringMatching(/^answerTtl:/) });
  });

  it('takes heap growth as 0 or 10 to 300 percent', () => {
    const growth = (value: string): number => loadConfig({ env: { BEACON_HEAP_GROWTH: value } }).heapGrowthPercent;
    expect(['0', '10', '300'].map(growth)).toEqual([0, 10, 300]);
    for (const value of ['5', '301', '-1', '1.5']) {
      expect(() => growth(value), value).toThrow(/^heapGrowth: must be/);
    }
  });
});
