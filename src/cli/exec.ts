// Placeholder: replaced by the module that implements `ediv exec`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('exec').description('(not built yet)');
}
