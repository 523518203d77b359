// Placeholder: replaced by the module that implements `ediv segmentators`.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('segmentators').description('(not built yet)');
}
