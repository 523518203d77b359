// Placeholder: replaced by the module that implements `ediv cluster`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('cluster').description('(not built yet)');
}
