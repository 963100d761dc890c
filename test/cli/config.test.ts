import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseDuration, parseListenAddress } from '../../src/config.js';

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});
async function configFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'beacon-cfg-'));
  dirs.push(dir);
  const file = path.join(dir, 'beacon.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function configError(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  throw new Error('expected an error');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['1h15m', 4_500_000],
    ['2s500ms', 2500],
  ])('%s -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['0s', '0', '-5s', '-1', 0, -10, 'ten seconds', '10x', '', '1e3', '250', 750, '30s1m', '1m 30s', '1s1s'])('rejects %j with INVALID_CONFIGURATION', (input) => {
    expect(configError(() => parseDuration(input)).code).toBe('INVALID_CONFIGURATION');
  });
});

describe('parseListenAddress', () => {
  it('reads host:port, [v6]:port and a bare port', () => {
    expect(parseListenAddress('127.0.0.1:53', 'x')).toEqual({ host: '127.0.0.1', port: 53 });
    expect(parseListenAddress('[::1]:8053', 'x')).toEqual({ host: '::1', port: 8053 });
    expect(parseListenAddress('9000', 'x')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(configError(() => parseListenAddress('127.0.0.1:70000', 'x')).code).toBe('INVALID_CONFIGURATION');
    expect(configError(() => parseListenAddress('bad host!:53', 'x')).code).toBe('INVALID_CONFIGURATION');
  });
});

describe('loadConfig', () => {
  it('has defaults that need no root and no config', () => {
    const config = loadConfig({ env: {}, cwd: '/srv/app' });
    expect(config).toMatchObject({
      dataDir: '/srv/app/.beacon',
      socketPath: '/srv/app/.beacon/beacon.sock',
      store: 'sqlite',
      domain: 'local.',
      dnsListen: [{ host: '127.0.0.1', port: 8053 }],
      defaultTtlMs: 30_000,
      healthCheckIntervalMs: 10_000,
      deregisterCriticalAfterMs: 90_000,
      breakerFailureThreshold: 5,
      breakerSuccessThreshold: 2,
      breakerOpenTimeoutMs: 30_000,
      breakerHalfOpenMaxCalls: 1,
      logLevel: 'info',
      pretty: false,
    });
    expect(config.httpListen).toBeUndefined();
  });

  it('applies flags > environment > config file > defaults', async () => {
    const file = await configFile({ ttl: '5s', checkInterval: '7s', domain: 'file.example', dnsListen: '127.0.0.1:1053', logLevel: 'warn' });
    const env = { BEACON_CONFIG: file, BEACON_TTL: '6s', BEACON_CHECK_INTERVAL: '8s', BEACON_DATA_DIR: '/var/lib/beacon' };
    const config = loadConfig({ env, flags: { ttl: '9s', logLevel: undefined }, cwd: '/' });
    expect(config.defaultTtlMs).toBe(9000); // flag beats env and file
    expect(config.healthCheckIntervalMs).toBe(8000); // env beats file
    expect(config.domain).toBe('file.example.'); // file beats default
    expect(config.dnsListen).toEqual([{ host: '127.0.0.1', port: 1053 }]);
    expect(config.logLevel).toBe('warn'); // an undefined flag does not hide the file's value
    expect(config.dataDir).toBe('/var/lib/beacon');
    expect(config.deregisterCriticalAfterMs).toBe(90_000); // default
  });

  it('--ephemeral selects the memory store; lists accept arrays and commas', () => {
    const config = loadConfig({ env: {}, flags: { ephemeral: true, dnsListen: ['127.0.0.1:0', '[::1]:0'], etcdEndpoints: 'a:1, b:2' } });
    expect(config.store).toBe('memory');
    expect(config.dnsListen).toEqual([{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 0 }]);
    expect(config.etcdEndpoints).toEqual(['a:1', 'b:2']);
  });

  it('--store etcd needs its endpoints: none is refused, naming the setting, rather than guessing 127.0.0.1:2379', () => {
    let error: unknown;
    try {
      loadConfig({ env: {}, flags: { store: 'etcd' } });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_CONFIGURATION', message: expect.stringMatching(/^etcdEndpoints: --store etcd needs --etcd-endpoints/) });
    expect(loadConfig({ env: { BEACON_ETCD_ENDPOINTS: 'http://10.0.0.1:2379' }, flags: { store: 'etcd' } }).etcdEndpoints).toEqual(['http://10.0.0.1:2379']);
  });

  it('reads booleans from the environment', () => {
    expect(loadConfig({ env: { BEACON_PRETTY: 'true', BEACON_EPHEMERAL: '1' } })).toMatchObject({ pretty: true, store: 'memory' });
    expect(configError(() => loadConfig({ env: { BEACON_PRETTY: 'maybe' } })).code).toBe('INVALID_CONFIGURATION');
  });

  it('needs a token for the TCP control listener, loopback by default', () => {
    expect(configError(() => loadConfig({ env: {}, flags: { http: '8500' } })).message).toMatch(/token/);
    const config = loadConfig({ env: { BEACON_TOKEN: 'sekrit-token' }, flags: { http: '8500' } });
    expect(config.httpListen).toEqual({ host: '127.0.0.1', port: 8500 });
    expect(config.token).toBe('sekrit-token');
  });

  it.each([
    ['zero TTL', { ttl: '0s' }],
    ['negative check interval', { checkInterval: '-1s' }],
    ['zero deregister-critical-after', { deregisterCriticalAfter: 0 }],
    ['zero breaker open timeout', { breakerOpenTimeout: '0ms' }],
    ['zero breaker failures', { breakerFailures: '0' }],
    ['fractional breaker successes', { breakerSuccesses: '1.5' }],
    ['unknown store', { store: 'redis' }],
    ['bad domain', { domain: 'bad..domain' }],
    ['bad DNS listen port', { dnsListen: '127.0.0.1:99999' }],
    ['unknown log level', { logLevel: 'loud' }],
    ['short token', { http: '8500', token: 'abc' }],
  ])('rejects %s with INVALID_CONFIGURATION', (_name, flags) => {
    const error = configError(() => loadConfig({ env: {}, flags }));
    expect(error.code).toBe('INVALID_CONFIGURATION');
  });

  it('rejects an unreadable, malformed or misspelled config file', async () => {
    expect(configError(() => loadConfig({ env: {}, configFile: '/nonexistent/beacon.json' })).message).toMatch(/cannot read/);
    const broken = await configFile('{"ttl": ');
    expect(configError(() => loadConfig({ env: {}, configFile: broken })).message).toMatch(/not valid JSON/);
    const typo = await configFile({ tll: '5s' });
    const error = configError(() => loadConfig({ env: {}, configFile: typo }));
    expect(error.code).toBe('INVALID_CONFIGURATION');
    expect(error.message).toMatch(/unknown setting "tll"/);
    const array = await configFile([1, 2]);
    expect(configError(() => loadConfig({ env: {}, configFile: array })).message).toMatch(/expected a JSON object/);
  });

  it('answer TTLs are durations in whole seconds; a bare number is refused like every other duration', () => {
    expect(loadConfig({ env: {}, flags: { answerTtl: '10s', negativeTtl: '2m' } })).toMatchObject({ answerTtlSeconds: 10, negativeTtlSeconds: 120 });
    expect(configError(() => loadConfig({ env: {}, flags: { answerTtl: '10' } })).message).toMatch(/^answerTtl: a duration needs a unit/);
  });
});
