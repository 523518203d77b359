// Placeholder: replaced by the module that implements `ediv undeploy`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('undeploy').description('(not built yet)');
}
