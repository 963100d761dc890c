import { describe, expect, it } from 'vitest';
import { registerBody } from '../../src/cli/register-body.js';

describe('registerBody (CLI flags -> API body)', () => {
  it('maps every instance flag', () => {
    expect(
      registerBody({
        address: '10.0.0.5', port: '8080', tag: ['v2', 'eu'], meta: ['version=1.2', 'path=/a=b'], weight: '10', priority: '1',
        protocol: 'udp', host: 'web-5.example', ttl: '15s', health: 'unknown', httpCheck: 'http://10.0.0.5:8080/health',
        checkInterval: '5s', checkTimeout: '2s',
      }),
    ).toEqual({
      address: '10.0.0.5', port: 8080, tags: ['v2', 'eu'], metadata: { version: '1.2', path: '/a=b' }, weight: 10, priority: 1,
      protocol: 'udp', host: 'web-5.example', ttlMs: 15_000, health: 'unknown',
      check: { type: 'http', url: 'http://10.0.0.5:8080/health', intervalMs: 5000, timeoutMs: 2000 },
    });
  });

  it('defaults the address to 127.0.0.1 and reads TCP checks', () => {
    expect(registerBody({ port: '80', tcpCheck: true })).toEqual({ address: '127.0.0.1', port: 80, check: { type: 'tcp' } });
    expect(registerBody({ port: '80', tcpCheck: '10.0.0.9:9000' }).check).toEqual({ type: 'tcp', host: '10.0.0.9', port: 9000 });
    expect(registerBody({ port: '80', ttlCheck: true }).check).toEqual({ type: 'ttl' });
  });

  it.each([
    [{}, /--port is required/],
    [{ port: 'eighty' }, /not a whole number/],
    [{ port: '80', meta: ['novalue'] }, /key=value/],
    [{ port: '80', httpCheck: 'http://x/', tcpCheck: true }, /one of/],
    [{ port: '80', checkInterval: '5s' }, /need --http-check/],
    [{ port: '80', ttl: '0s' }, /greater than zero/],
    [{ port: '80', protocol: 'sctp' }, /tcp or udp/],
  ])('rejects %j', (flags, message) => {
    expect(() => registerBody(flags)).toThrow(message);
  });
});
