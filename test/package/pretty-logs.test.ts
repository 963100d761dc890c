/**
 * `--pretty` without pino-pretty (an optional dependency, absent after `npm install --omit=optional`): the
 * built log module, copied into a temp project whose node_modules has pino but not pino-pretty, logs JSON
 * and says why on stderr in one line. With pino-pretty installed (this repository), nothing is said.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LOG_MODULE = path.join(ROOT, 'dist/log.js');
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function logHello(logModule: string): Promise<{ stdout: string; stderr: string }> {
  const script = `import { createLogger } from ${JSON.stringify(logModule)}; createLogger({ pretty: true }).info('hello');`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`child failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

it('without pino-pretty, pretty logging prints JSON and one stderr line naming the missing package', async () => {
  expect(existsSync(LOG_MODULE), 'run `npm run build` first').toBe(true);
  const project = mkdtempSync(path.join(os.tmpdir(), 'beacon-no-pretty-'));
  dirs.push(project);
  writeFileSync(path.join(project, 'package.json'), '{ "type": "module" }\n');
  copyFileSync(LOG_MODULE, path.join(project, 'log.js'));
  mkdirSync(path.join(project, 'node_modules'));
  // pino's own dependencies resolve from its real location; pino-pretty is nowhere above the copy.
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules/pino')), path.join(project, 'node_modules/pino'), 'dir');

  const { stdout, stderr } = await logHello(path.join(project, 'log.js'));
  const warnings = stderr.split('\n').filter((line) => line !== '');
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/pino-pretty.*not installed.*JSON/);
  expect(JSON.parse(stdout.trim())).toMatchObject({ msg: 'hello', app: 'beacon' });
});

it('with pino-pretty installed, pretty logging says nothing on stderr and prints no JSON', async () => {
  expect(existsSync(LOG_MODULE), 'run `npm run build` first').toBe(true);
  const { stdout, stderr } = await logHello(LOG_MODULE);
  expect(stderr).toBe('');
  expect(stdout).toContain('hello');
  expect(() => JSON.parse(stdout.trim())).toThrow();
});
