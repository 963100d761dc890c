/** The completion scripts: bash's is run by bash itself; zsh's is checked by `zsh -n` where zsh is installed. */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bashCompletion, zshCompletion } from '../../src/cli/completion.js';
import { buildProgram } from '../../src/cli/main.js';

/** What bash completes for the words typed (the last one is being completed). */
function complete(script: string, words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _beacon; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

describe('shell completion', () => {
  const bash = bashCompletion(buildProgram());

  it('bash: commands, subcommands and each command\'s flags', () => {
    expect(complete(bash, ['beacon', 're'])).toEqual(['register', 'report', 'resolve']);
    expect(complete(bash, ['beacon', 'snapshot', ''])).toEqual(['save', 'restore', '--help']);
    expect(complete(bash, ['beacon', 'serve', '--dns-l'])).toEqual(['--dns-listen']);
    expect(complete(bash, ['beacon', 'show', '--json', 'api', '--so'])).toEqual(['--socket']);
    expect(complete(bash, ['beacon', 'completion', ''])).toEqual(['--help']);
  });

  it('bash: the script parses', () => {
    expect(spawnSync('bash', ['-n'], { input: bash }).status).toBe(0);
  });

  it('zsh: every command has a function and the script parses', () => {
    const zsh = zshCompletion(buildProgram());
    expect(zsh.startsWith('#compdef beacon\n')).toBe(true);
    for (const fn of ['_beacon()', '_beacon_serve()', '_beacon_snapshot_save()', '_beacon_run()']) expect(zsh).toContain(fn);
    expect(zsh).toContain("'--dns-listen[DNS listen address, UDP and TCP; repeatable (default 127.0.0.1\\:8053)]:<host\\:port>: '");
    const hasZsh = spawnSync('zsh', ['--version']).status === 0;
    if (hasZsh) expect(spawnSync('zsh', ['-n'], { input: zsh }).status).toBe(0);
  });
});
