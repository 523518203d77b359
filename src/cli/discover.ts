// Placeholder: replaced by the module that implements `ediv discover`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('discover').description('(not built yet)');
}
