/**
 * Runs every `curl` example of docs/api.md, in order, with the real curl against a real `beacon serve` on its
 * authenticated TCP listener, so the API reference cannot drift from the code. Needs `npm run build` (npm test
 * does it) and curl; in the interop suite, as curl is a Debian tool, not an npm package.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startDaemon, type Daemon } from '../e2e/daemon.js';

const TOKEN = 'api-doc-example-token';
let daemon: Daemon;
let scratch: string;

/** The `curl` commands of the ```sh blocks, continuation lines joined, in document order. */
export function curlExamples(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = (block[1] ?? '').replace(/\\\n\s*/g, '');
    for (const line of joined.split('\n')) if (line.trim().startsWith('curl ')) commands.push(line.trim());
  }
  return commands;
}

function run(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { env, timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The fields Consul documents for each read, checked on the examples' answers. */
const CONSUL_SHAPES: readonly [RegExp, (body: unknown) => void][] = [
  [/\/v1\/agent\/services"/, (body) => {
    for (const service of Object.values(body as Record<string, unknown>)) {
      expect(Object.keys(service as object)).toEqual(expect.arrayContaining(['ID', 'Service', 'Tags', 'Meta', 'Port', 'Address', 'Weights', 'EnableTagOverride']));
    }
  }],
  [/\/v1\/agent\/service\/web1"/, (body) => expect(body).toMatchObject({ ID: 'web1', Service: 'web', Port: 8000, Weights: { Passing: 10, Warning: 1 } })],
  [/\/v1\/agent\/self"/, (body) => expect(Object.keys((body as { Config: object }).Config)).toEqual(expect.arrayContaining(['Datacenter', 'NodeName', 'Version']))],
  [/\/v1\/catalog\/services"/, (body) => expect(body).toEqual({ web: ['primary', 'v1'] })],
  [/\/v1\/catalog\/service\/web/, (body) => {
    expect((body as unknown[]).length).toBe(1);
    expect(Object.keys((body as object[])[0]!)).toEqual(expect.arrayContaining(['Node', 'Address', 'Datacenter', 'ServiceID', 'ServiceName', 'ServiceTags', 'ServiceAddress', 'ServicePort', 'ServiceMeta', 'ServiceWeights']));
  }],
  [/\/v1\/health\/service\/web/, (body) => {
    for (const entry of body as object[]) expect(Object.keys(entry)).toEqual(['Node', 'Service', 'Checks']);
  }],
  [/\/v1\/health\/checks\/web/, (body) => {
    expect(Object.keys((body as object[])[0]!)).toEqual(expect.arrayContaining(['Node', 'CheckID', 'Name', 'Status', 'Notes', 'Output', 'ServiceID', 'ServiceName']));
  }],
];

/** Beacon's reads are JSON; Consul's are JSON in the shape Consul documents; Consul's writes are empty. */
function checkShape(command: string, stdout: string): void {
  if (command.includes('/metrics')) {
    expect(stdout).toContain('# TYPE');
    return;
  }
  if (stdout === '') {
    expect(command, 'only Consul writes answer with an empty body').toMatch(/-X PUT .*\/v1\/agent\//);
    return;
  }
  const body = JSON.parse(stdout) as unknown;
  for (const [pattern, check] of CONSUL_SHAPES) if (pattern.test(command)) check(body);
}

beforeAll(async () => {
  daemon = await startDaemon(['--http', '127.0.0.1:0', '--token', TOKEN]);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'beacon-apidoc-'));
});

afterAll(async () => {
  await daemon?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('docs/api.md', () => {
  it('every curl example answers as documented against a running daemon', async () => {
    const examples = curlExamples(readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8'));
    expect(examples.length).toBeGreaterThan(35);
    const started = daemon.logs.find((entry) => entry.msg === 'beacon started') as { control: { tcp: string } };
    const env = { ...process.env, BEACON: `http://${started.control.tcp}`, TOKEN, SNAPSHOT: path.join(scratch, 'snapshot.json') };
    for (const command of examples) {
      const result = await run(command, env);
      if (command.includes('--max-time')) {
        // A stream: curl stops it at --max-time (exit 28) after the first events.
        expect([0, 28], command).toContain(result.code);
        expect(result.stdout, command).toContain('event: hello');
        continue;
      }
      expect(result.code, `${command}\n${result.stderr}`).toBe(0);
      checkShape(command, result.stdout);
    }
    // The examples leave the state they describe: api-1 and web1 were registered, changed and deregistered.
    const services = await run('curl -fsS -H "X-Consul-Token: $TOKEN" "$BEACON/v1/catalog/services"', env);
    expect(JSON.parse(services.stdout)).toEqual({});
  });

  it('names every Consul route Beacon implements', () => {
    const markdown = readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
    for (const route of ['/v1/agent/service/register', '/v1/agent/service/deregister', '/v1/agent/service/maintenance', '/v1/agent/check/update', '/v1/agent/services', '/v1/agent/self', '/v1/catalog/services', '/v1/catalog/service/', '/v1/health/service/', '/v1/health/checks/', '/v1/status/leader', '/v1/status/peers']) {
      expect(markdown).toContain(route);
    }
  });
});
