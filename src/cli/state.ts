// `ediv state info|migrate`: the controller's state store (this machine's SQLite file, or the
// PostgreSQL server the cluster file's `state:` names).
import type { Command } from 'commander';
import type { CommonOptions } from '../controller/command-context.ts';
import { stateInfoCommand, stateMigrateCommand, type StateInfo, type StateMigrateReport } from '../controller/state-command.ts';
import { action, printReport } from './output.ts';
import { addStoreOption } from './controller-options.ts';

const STATE_HELP = 'controller state directory (its SQLite store, when the cluster file names no shared one)';

function renderInfo(r: StateInfo): string {
  const migrated = r.migrated.length ? `migrated now: ${r.migrated.map((m) => `${m.version} (${m.description})`).join(', ')}\n` : '';
  return (
    `state store: ${r.location} (${r.kind})\n` +
    `store id:    ${r.storeId}\n` +
    `schema:      version ${r.schemaVersion} (this ediv knows up to ${r.knownVersion})\n` +
    `labs:        ${r.labs}\n` +
    migrated
  );
}

function renderMigrate(r: StateMigrateReport): string {
  if (r.applied.length === 0) return `state store ${r.location}: up to date (schema version ${r.from})\n`;
  const verb = r.dryRun ? 'would apply' : 'applied';
  return `state store ${r.location}: ${verb} ${r.applied.map((m) => `${m.version} (${m.description})`).join(', ')}; schema version ${r.from} → ${r.to}\n`;
}

export function register(program: Command): void {
  const state = program
    .command('state')
    .description(
      "The controller's state store: this machine's SQLite file, or the PostgreSQL server a cluster\n" +
        "file's state: names (shared by every controller of the cluster). Every command migrates it\n" +
        'on first use and says so; a store written by a newer ediv is refused, never changed.',
    );
  addStoreOption(state.command('info'))
    .description('Where the store is, its id (the owner id of the labs it records), schema version and lab count.')
    .option('--state <dir>', STATE_HELP)
    .option('--json', 'print one JSON document')
    .action(action(async (opts: CommonOptions) => printReport(await stateInfoCommand(opts), opts, renderInfo)));
  addStoreOption(state.command('migrate'))
    .description('Bring the store to the schema this ediv knows (all pending migrations in one transaction).')
    .option('--state <dir>', STATE_HELP)
    .option('--dry-run', 'say which migrations would run, change nothing')
    .option('--json', 'print one JSON document')
    .action(action(async (opts: CommonOptions & { dryRun?: boolean }) => printReport(await stateMigrateCommand(opts), opts, renderMigrate)));
}
