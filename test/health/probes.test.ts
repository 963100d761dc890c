import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpProbe, tcpProbe } from '../../src/health/probes.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function httpServer(handler: http.RequestListener): Promise<{ url: string; sockets: Set<net.Socket> }> {
  const server = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`, sockets };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('httpProbe', () => {
  it('is healthy on 200', async () => {
    const { url } = await httpServer((_req, res) => res.end('ok'));
    await expect(httpProbe(url, { timeoutMs: 5000 })).resolves.toEqual({ healthy: true, note: 'HTTP 200' });
  });

  it('is healthy on any 2xx (204)', async () => {
    const { url } = await httpServer((_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    expect((await httpProbe(url, { timeoutMs: 5000 })).healthy).toBe(true);
  });

  it('is unhealthy on 500 and on a 3xx redirect', async () => {
    const { url } = await httpServer((req, res) => {
      res.statusCode = req.url === '/health' ? 500 : 200;
      res.end();
    });
    await expect(httpProbe(url, { timeoutMs: 5000 })).resolves.toEqual({ healthy: false, note: 'HTTP 500' });
    const redirect = await httpServer((_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/');
      res.end();
    });
    await expect(httpProbe(redirect.url, { timeoutMs: 5000 })).resolves.toEqual({ healthy: false, note: 'HTTP 302' });
  });

  it('is unhealthy when the connection is refused', async () => {
    const port = await closedPort();
    const result = await httpProbe(`http://127.0.0.1:${port}/`, { timeoutMs: 5000 });
    expect(result.healthy).toBe(false);
    expect(result.note).toContain('ECONNREFUSED');
  });

  it('cuts a hung target off at its timeout and closes the connection', async () => {
    const { url, sockets } = await httpServer(() => {
      /* never answers */
    });
    const result = await httpProbe(url, { timeoutMs: 150 });
    expect(result).toEqual({ healthy: false, note: 'timeout after 150 ms' });
    // The probe's socket is destroyed: the server sees it close (bounded wait on the event).
    await expect.poll(() => sockets.size, { timeout: 5000, interval: 10 }).toBe(0);
  });

  it('rejects non-HTTP URLs without throwing', async () => {
    await expect(httpProbe('ftp://127.0.0.1/', { timeoutMs: 100 })).resolves.toMatchObject({ healthy: false });
    await expect(httpProbe('not a url', { timeoutMs: 100 })).resolves.toMatchObject({ healthy: false });
  });

  it('stops at once when its signal aborts', async () => {
    const { url } = await httpServer(() => {});
    const controller = new AbortController();
    const pending = httpProbe(url, { timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    await expect(pending).resolves.toEqual({ healthy: false, note: 'probe cancelled' });
  });
});

describe('tcpProbe', () => {
  it('is healthy when a connection is accepted', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    expect((await tcpProbe('127.0.0.1', port, { timeoutMs: 5000 })).healthy).toBe(true);
  });

  it('is unhealthy when the connection is refused', async () => {
    const result = await tcpProbe('127.0.0.1', await closedPort(), { timeoutMs: 5000 });
    expect(result.healthy).toBe(false);
    expect(result.note).toContain('ECONNREFUSED');
  });
});
