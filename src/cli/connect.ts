// `ediv connect <lab> <vm> [-- CMD [ARGS...]]`: a shell, or one command, inside a VM.
import type { Command } from 'commander';
import { connectCommand } from '../controller/connect-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import type { InteractiveIo } from '../transport/index.ts';
import { action } from './output.ts';
import { addConnectionOptions, addForceOption, addStoreOption } from './controller-options.ts';

export function register(program: Command): void {
  addForceOption(addStoreOption(addConnectionOptions(program.command('connect'))))
    .description(
      'A shell inside a VM of a deployed scenario (its login shell: bash, else sh), or, after --,\n' +
        'one command (one word is shell text for the VM\'s sh -c, several are argv), wherever the\n' +
        'VM runs: over its host\'s SSH connection, on a terminal when you are at one. The exit\n' +
        'status is the VM program\'s (255: the connection or the agent failed; 2: bad input).\n\n' +
        'Examples:\n  ediv connect tutorial r1\n  ediv connect tutorial r1 -- vtysh -c "show ip route"',
    )
    .argument('<scenario-name>', 'name of a deployed scenario')
    .argument('<vm>', 'VM name')
    .argument('[command...]', 'after --: the command to run instead of a shell')
    .action(
      action(async (name: string, vm: string, command: string[], opts: CommonOptions) => {
        try {
          return await connectCommand({ ...opts, name, vm, ...(command.length ? { command } : {}) }, terminalIo());
        } finally {
          process.stdin.destroy(); // the session is over: stop reading the terminal
        }
      }),
    );
}

/** The user's terminal (raw, so Ctrl-C and keys reach the VM), or plain pipes. */
function terminalIo(): InteractiveIo {
  const tty = process.stdin.isTTY && process.stdout.isTTY;
  if (tty) {
    process.stdin.setRawMode(true);
    process.once('exit', () => process.stdin.isTTY && process.stdin.setRawMode(false));
  }
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    ...(tty ? { pty: { rows: process.stdout.rows, cols: process.stdout.columns, term: process.env.TERM ?? 'xterm' } } : {}),
    onResize: (cb) => {
      const onResize = () => cb(process.stdout.rows, process.stdout.columns);
      process.stdout.on('resize', onResize);
      return () => process.stdout.off('resize', onResize);
    },
  };
}
