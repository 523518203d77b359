// Placeholder: replaced by the module that implements `ediv deploy`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('deploy').description('(not built yet)');
}
