/**
 * Shell completion scripts for bash and zsh, generated from the commander program itself, so that every
 * command, subcommand and flag is completed without a second list to keep in step.
 */
import type { Command, Option } from 'commander';

/** The shells `beacon completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;

/** A shell `beacon completion` knows. */
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

interface Entry {
  /** The words that lead to this command after `beacon` (`['snapshot', 'save']`). */
  readonly path: readonly string[];
  readonly description: string;
  readonly options: readonly Option[];
  readonly subcommands: readonly Command[];
}

function entries(program: Command): Entry[] {
  const out: Entry[] = [];
  const walk = (command: Command, path: readonly string[]): void => {
    out.push({ path, description: command.description(), options: command.options.filter((o) => !o.hidden), subcommands: command.commands });
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return out;
}

const flagsOf = (options: readonly Option[]): string[] => options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));

/** The bash completion script (source it, or drop it into /etc/bash_completion.d). */
export function bashCompletion(program: Command): string {
  const name = program.name();
  const cases = entries(program).map((e) => {
    const words = [...e.subcommands.map((c) => c.name()), ...flagsOf(e.options), '--help'];
    return `    '${e.path.join(' ')}') words='${words.join(' ')}' ;;`;
  });
  return `# bash completion for ${name}; load with: source <(${name} completion bash)
_${name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word i
  # The command path so far: the words before the cursor that are not flags or flag values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && continue
    case "\${path:+$path }$word" in
${entries(program).filter((e) => e.path.length > 0).map((e) => `      '${e.path.join(' ')}') path="${e.path.join(' ')}" ;;`).join('\n')}
    esac
  done
  local words=""
  case "$path" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _${name} ${name}
`;
}

/** Quote text for a zsh `_describe` or `_arguments` spec inside single quotes. */
function zshText(text: string): string {
  return text.replace(/'/g, "'\\''").replace(/([[\]:])/g, '\\$1');
}

/** The zsh completion script (source it, or save it as `_beacon` on $fpath). */
export function zshCompletion(program: Command): string {
  const name = program.name();
  const functions = entries(program).map((e) => {
    const fn = ['_' + name, ...e.path].join('_').replace(/[^A-Za-z0-9_]/g, '_');
    const specs = e.options.flatMap((o) => {
      const takesValue = o.required || o.optional;
      const value = takesValue ? `:${zshText(o.flags.split(/[ ,]+/).at(-1) ?? 'value')}:${/file|dir|path|socket/.test(o.flags) ? '_files' : ' '}` : '';
      return flagsOf([o]).map((flag) => `'${flag}[${zshText(o.description)}]${value}'`);
    });
    const subs = e.subcommands.map((c) => `'${zshText(c.name())}:${zshText(c.description())}'`);
    const lines = [`${fn}() {`];
    if (subs.length > 0) {
      lines.push('  local -a commands', `  commands=(${subs.join(' ')})`);
      lines.push(`  _arguments -C ${specs.join(' ')} '1: :->command' '*:: :->args'`);
      lines.push('  case $state in', "    command) _describe 'command' commands ;;", '    args)', '      case $words[1] in');
      for (const c of e.subcommands) lines.push(`        ${c.name()}) ${fn}_${c.name().replace(/[^A-Za-z0-9_]/g, '_')} ;;`);
      lines.push('      esac ;;', '  esac');
    } else {
      lines.push(`  _arguments ${specs.join(' ')} '*:argument:_files'`);
    }
    lines.push('}');
    return lines.join('\n');
  });
  return `#compdef ${name}
# zsh completion for ${name}; load with: source <(${name} completion zsh)
${functions.join('\n\n')}

if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _${name} "$@"
else
  compdef _${name} ${name}
fi
`;
}
