// Runs the README's library example, so the documentation cannot drift from the code.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it, vi } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

afterEach(() => {
  vi.restoreAllMocks();
});

it('the README library example runs and prints what its comments say', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const match = /## Library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme);
  expect(match).not.toBeNull();
  // The example imports the package by its published name; here that name stands for the source entry.
  const { name } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string };
  expect(match![1]).toContain(`from '${name}'`);
  const source = match![1]!.replace(`from '${name}'`, `from '${join(root, 'src/index.ts')}'`);
  const dir = join(root, 'test/.generated');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'readme-library-example.ts');
  writeFileSync(file, source);
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  await import(file);
  expect(lines).toEqual(['api-1', '8080', 'api-2', 'open undefined']);
});

it('the README session is exactly the replayed test/e2e/readme-session.txt', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /```console\n([\s\S]*?)```/.exec(readme);
  expect(block).not.toBeNull();
  const replayed = readFileSync(join(root, 'test/e2e/readme-session.txt'), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
    .trim();
  expect(block![1]!.trim()).toBe(replayed);
});

it('the README names the two commands a newcomer needs', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  expect(readme).toContain('npm install && npm start');
  expect(readme).toContain('npm test');
});
