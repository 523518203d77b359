// ediv command-line entry. Each command lives in its own module under src/cli/ and exports
// `register(program)`; this file only assembles them.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { edivRoot } from '../common/paths.ts';

const commandModules = [
  './validate.ts',
  './plan.ts',
  './segmentators.ts',
  './deploy.ts',
  './exec.ts',
  './undeploy.ts',
  './status.ts',
  './cluster.ts',
  './discover.ts',
  './vm-advertise.ts',
  './agent.ts',
];

export function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(edivRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function buildProgram(): Promise<Command> {
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
  for (const mod of commandModules) {
    const m = (await import(mod)) as { register(p: Command): void };
    m.register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
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
