// Placeholder: replaced by the module that implements `ediv plan`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('plan').description('(not built yet)');
}
