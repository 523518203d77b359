// `ediv segmentators`: the built-in segmentators with their descriptions and EDIV aliases.
import type { Command } from 'commander';
import { listSegmentators } from '../segmentators/registry.ts';
import { action, printJson } from './output.ts';
import { renderSegmentators } from './render/segmentators.ts';

export function register(program: Command): void {
  program
    .command('segmentators')
    .description('List the segmentators (placement algorithms) with descriptions and aliases')
    .option('--json', 'print [{name, description, aliases, builtin}]')
    .addHelpText(
      'after',
      '\nBesides these, --segmentator accepts a plugin module path (./my-algorithm.js, .mjs, .ts)\n' +
        'or package name whose default (or `segmentator`) export is {name, description, segment(input)}.\n' +
        'Names and aliases are case-insensitive. See docs/segmentators.md.',
    )
    .action(
      action((opts: { json?: boolean }) => {
        const list = listSegmentators();
        if (opts.json) printJson(list);
        else process.stdout.write(renderSegmentators(list));
      }),
    );
}
