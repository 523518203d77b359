// Placeholder: replaced by the module that implements `ediv agent`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('agent').description('(not built yet)');
}
