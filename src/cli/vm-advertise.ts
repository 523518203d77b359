// Placeholder: replaced by the module that implements `ediv vm-advertise`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('vm-advertise').description('(not built yet)');
}
