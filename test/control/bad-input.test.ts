import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp } from './harness.js';

/**
 * The bad-input table: every malformed request gets the right status and error code, and leaves the
 * registry exactly as it was (same change index, same records).
 */
type Case = {
  name: string;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  /** Which listener: the Unix-socket app (no token) or the TCP app (token required). */
  tcp?: { authorization?: string };
  status: number;
  code: string;
};

const TOKEN = 'correct-horse-battery-staple';
const ok = { address: '10.0.0.9', port: 8080 };
const put = (id: string, body: unknown, service = 'api'): Pick<Case, 'method' | 'url' | 'body'> => ({
  method: 'PUT',
  url: `/v1/services/${service}/instances/${encodeURIComponent(id)}`,
  body,
});

const cases: Case[] = [
  { name: 'bad JSON', method: 'PUT', url: '/v1/services/api/instances/x', raw: '{"address": "10.0.0.1", "port":', status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'JSON that is not an object', ...put('x', [1, 2, 3]), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'port as a string', ...put('x', { address: '10.0.0.1', port: '8080' }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'port 0', ...put('x', { address: '10.0.0.1', port: 0 }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'port 70000', ...put('x', { address: '10.0.0.1', port: 70000 }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'fractional port', ...put('x', { address: '10.0.0.1', port: 80.5 }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'missing address', ...put('x', { port: 80 }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'address that is neither IP nor host name', ...put('x', { address: 'not an address!', port: 80 }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'address 999.1.1.1 (an all-numeric top label is no host name)', ...put('x', { address: '999.1.1.1', port: 80 }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'SRV target host 10.0.0.1 (an address, not a host name)', ...put('x', { ...ok, host: '10.0.0.1' }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'empty id', ...put('', ok), status: 400, code: 'INVALID_ARGUMENT' },
  { name: '64-octet instance id', ...put('a'.repeat(64), ok), status: 400, code: 'INVALID_ARGUMENT' },
  { name: '64-octet id in UTF-8 (32 two-octet letters)', ...put('é'.repeat(32), ok), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'control character in id', ...put('bad\u0001id', ok), status: 400, code: 'INVALID_ARGUMENT' },
  { name: '64-octet service name', ...put('x', ok, 's'.repeat(64)), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'service name with an underscore', ...put('x', ok, 'my_svc'), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'oversized metadata value (300 octets)', ...put('x', { ...ok, metadata: { k: 'v'.repeat(300) } }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'metadata key=value over 255 octets', ...put('x', { ...ok, metadata: { ['k'.repeat(100)]: 'v'.repeat(200) } }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'metadata value not a string', ...put('x', { ...ok, metadata: { k: 1 } }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'too many tags (33)', ...put('x', { ...ok, tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'tags not an array', ...put('x', { ...ok, tags: 'a,b' }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'negative weight', ...put('x', { ...ok, weight: -1 }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'unknown protocol', ...put('x', { ...ok, protocol: 'sctp' }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'unknown field (typo)', ...put('x', { ...ok, prot: 'tcp' }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'ttlMs 0', ...put('x', { ...ok, ttlMs: 0 }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'unknown check type', ...put('x', { ...ok, check: { type: 'icmp' } }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'HTTP check with a non-HTTP URL', ...put('x', { ...ok, check: { type: 'http', url: 'ftp://10.0.0.1/' } }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'check interval 0', ...put('x', { ...ok, check: { type: 'tcp', intervalMs: 0 } }), status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'id differing only in case from an existing one', ...put('EXISTING', ok), status: 409, code: 'NAME_CONFLICT' },
  { name: 'heartbeat for an unknown instance', method: 'POST', url: '/v1/services/api/instances/ghost/heartbeat', body: {}, status: 404, code: 'INSTANCE_NOT_FOUND' },
  { name: 'heartbeat for an unknown service', method: 'POST', url: '/v1/services/nothere/instances/ghost/heartbeat', body: {}, status: 404, code: 'SERVICE_NOT_FOUND' },
  { name: 'heartbeat with status "maybe"', method: 'POST', url: '/v1/services/api/instances/existing/heartbeat', body: { status: 'maybe' }, status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'health "great"', method: 'PUT', url: '/v1/services/api/instances/existing/health', body: { health: 'great' }, status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'maintenance enabled as a string', method: 'PUT', url: '/v1/services/api/instances/existing/maintenance', body: { enabled: 'yes' }, status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'report outcome "meh"', method: 'POST', url: '/v1/services/api/instances/existing/report', body: { outcome: 'meh' }, status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'deregister with a 64-octet id', method: 'DELETE', url: `/v1/services/api/instances/${'a'.repeat(64)}`, status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'deregister in a badly named service', method: 'DELETE', url: '/v1/services/my_svc/instances/ghost', status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'resolve with an unknown strategy', method: 'GET', url: '/v1/services/api/resolve?strategy=fastest', status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'watch with a non-numeric index', method: 'GET', url: '/v1/watch?index=abc', status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'oversized body (70 KiB)', ...put('x', { ...ok, metadata: { k: 'v'.repeat(70 * 1024) } }), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'wrong content type', method: 'PUT', url: '/v1/services/api/instances/x', raw: 'address=10.0.0.1&port=80', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'deregister with a stray query parameter', method: 'DELETE', url: '/v1/services/api/instances/existing?force=1', status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'unknown endpoint', method: 'POST', url: '/v1/nothing', body: {}, status: 404, code: 'NOT_FOUND' },
  { name: 'TCP: missing token', ...put('x', ok), tcp: {}, status: 401, code: 'UNAUTHORIZED' },
  { name: 'TCP: wrong token', ...put('x', ok), tcp: { authorization: 'Bearer not-the-token' }, status: 401, code: 'UNAUTHORIZED' },
  { name: 'TCP: wrong scheme', ...put('x', ok), tcp: { authorization: `Basic ${TOKEN}` }, status: 401, code: 'UNAUTHORIZED' },
  { name: 'TCP: missing token on a read', method: 'GET', url: '/v1/services', tcp: {}, status: 401, code: 'UNAUTHORIZED' },
  { name: 'TCP: oversized body without a token is refused before it is read', ...put('x', { ...ok, metadata: { k: 'v'.repeat(70 * 1024) } }), tcp: {}, status: 401, code: 'UNAUTHORIZED' },
];

describe('bad input table', () => {
  let socketApp: Awaited<ReturnType<typeof makeApp>>;
  let tcpApp: Awaited<ReturnType<typeof makeApp>>;

  beforeAll(async () => {
    socketApp = await makeApp();
    tcpApp = await makeApp({ token: TOKEN });
    for (const made of [socketApp, tcpApp]) {
      await made.durable.register('api', { id: 'existing', address: '10.0.0.1', port: 80, tags: ['a'] });
      await made.durable.register('api', { id: 'other', address: '10.0.0.2', port: 81, check: { type: 'http', url: 'http://10.0.0.2:81/' } });
    }
  });
  afterAll(async () => {
    await socketApp.close();
    await tcpApp.close();
  });

  it('has at least 20 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('$name -> $status $code, registry unchanged', async (c) => {
    const made = c.tcp ? tcpApp : socketApp;
    const before = { index: made.registry.index, records: JSON.stringify(made.registry.records()) };
    const headers: Record<string, string> = {};
    if (c.body !== undefined || c.raw !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
    if (c.tcp?.authorization) headers.authorization = c.tcp.authorization;
    const response = await made.app.inject({
      method: c.method,
      url: c.url,
      headers,
      ...(c.raw !== undefined ? { payload: c.raw } : c.body !== undefined ? { payload: JSON.stringify(c.body) } : {}),
    });
    expect({ status: response.statusCode, code: response.json().error?.code }).toEqual({ status: c.status, code: c.code });
    expect(typeof response.json().error.message).toBe('string');
    // Messages name fields, never fastify's schema paths (`body/port must be <= 65535`).
    expect(response.json().error.message).not.toMatch(/^(body|querystring|params|headers)\b/);
    expect(made.registry.index).toBe(before.index);
    expect(JSON.stringify(made.registry.records())).toBe(before.records);
  });

  it.each([
    ['an unknown instance', '/v1/services/api/instances/ghost'],
    ['an instance of an unknown service', '/v1/services/nothere/instances/ghost'],
  ])('deregistering %s is 200 and changes nothing (idempotent, as in Consul)', async (_name, url) => {
    const before = { index: socketApp.registry.index, records: JSON.stringify(socketApp.registry.records()) };
    const response = await socketApp.app.inject({ method: 'DELETE', url });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ index: before.index, removed: false });
    expect(socketApp.registry.index).toBe(before.index);
    expect(JSON.stringify(socketApp.registry.records())).toBe(before.records);
  });

  it('names the field without its schema path', async () => {
    const response = await socketApp.app.inject({ method: 'PUT', url: '/v1/services/api/instances/x', payload: { address: '10.0.0.1', port: 70000 } });
    expect(response.json().error).toEqual({ code: 'INVALID_ARGUMENT', message: 'port must be <= 65535' });
    const missing = await socketApp.app.inject({ method: 'PUT', url: '/v1/services/api/instances/x', payload: { port: 80 } });
    expect(missing.json().error.message).toBe('missing field "address"');
    const nested = await socketApp.app.inject({ method: 'PUT', url: '/v1/services/api/instances/x', payload: { address: '10.0.0.1', port: 80, check: { type: 'tcp', intervalMs: 'soon' } } });
    expect(nested.json().error.message).toMatch(/^check\.intervalMs /);
  });

  it('the right token is accepted on TCP, and /health needs none', async () => {
    const withToken = await tcpApp.app.inject({ method: 'GET', url: '/v1/services', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(withToken.statusCode).toBe(200);
    const health = await tcpApp.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  });
});
