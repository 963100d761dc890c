/** `beacon completion bash|zsh`: print a shell completion script. */
import { Command } from 'commander';
import { bashCompletion, COMPLETION_SHELLS, zshCompletion, type CompletionShell } from '../completion.js';
import { print } from './shared.js';

/** Add `completion` to the program (call last: the script lists the commands added before it). */
export function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Command().createArgument('<shell>', 'bash or zsh').choices([...COMPLETION_SHELLS]))
    .addHelpText('after', '\nLoad it in the current shell:  source <(beacon completion bash)\nInstall it for bash:  beacon completion bash > /etc/bash_completion.d/beacon')
    .action((shell: CompletionShell) => {
      print(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
