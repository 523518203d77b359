// ediv command-line entry. Each command lives in its own module under src/cli/ and exports
// `register(program)`; this file only assembles them.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { edivRoot } from '../common/paths.ts';

/** Top-level command → the module that registers it. */
const commandModules: Record<string, string> = {
  validate: './validate.ts',
  plan: './plan.ts',
  segmentators: './segmentators.ts',
  deploy: './deploy.ts',
  exec: './exec.ts',
  undeploy: './undeploy.ts',
  status: './status.ts',
  cluster: './cluster.ts',
  discover: './discover.ts',
  'vm-advertise': './vm-advertise.ts',
  agent: './agent.ts',
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(edivRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Builds the program. With `only`, just that command's module is loaded: every run of
 * `ediv agent <op>` over SSH pays for what it imports, so a command loads only its own code.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  program
    .name('ediv')
    .description(
      'Deploy VNUML/VNX network-lab scenarios across a cluster of Linux hosts.\n' +
        'Exit codes: 0 ok, 1 operation failed, 2 bad input.',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const names = only !== undefined && only in commandModules ? [only] : Object.keys(commandModules);
  for (const name of names) {
    const m = (await import(commandModules[name]!)) as { register(p: Command): void };
    m.register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const first = argv[2];
  const program = await buildProgram(first !== undefined && Object.hasOwn(commandModules, first) ? first : undefined);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help / --version exit 0; usage errors are bad input (2).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}
