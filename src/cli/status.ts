// `ediv status [<scenario-name>]`: recorded scenarios with the hosts' live view.
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { STATUS_SAMPLE_MAX_MS } from '../protocol/agent.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import type { StatusReport } from '../controller/status.ts';
import { statusCommand } from '../controller/status-watch.ts';
import { action, printJson } from './output.ts';
import { addConnectionOptions, addStoreOption } from './controller-options.ts';
import { renderError } from './render/error.ts';
import { renderStatus } from './render/status.ts';
import { abortOnInterrupt } from './signals.ts';

/** Seconds between refreshes: 0 without --watch, 2 for a bare --watch. */
function watchInterval(watch: string | boolean | undefined): number {
  if (watch === undefined || watch === false) return 0;
  if (watch === true) return 2;
  const n = Number(watch);
  if (!(n > 0)) throw InputError.commandLine(`--watch ${watch}`, 'give a number of seconds > 0');
  return n;
}

/** --sample: seconds (0.1 to 10) as whole milliseconds. */
function sampleMillis(value: string): number {
  const n = Number(value);
  if (!(n >= 0.1 && n <= STATUS_SAMPLE_MAX_MS / 1000)) throw InputError.commandLine(`--sample ${value}`, `give a number of seconds from 0.1 to ${STATUS_SAMPLE_MAX_MS / 1000}`);
  return Math.round(n * 1000);
}

/** One refresh on stdout: a JSON document (one line each while watching), or the text (redrawn on a terminal). */
function show(report: StatusReport, opts: { json?: boolean }, one: boolean, interval: number): void {
  if (opts.json) {
    if (interval) process.stdout.write(JSON.stringify(report) + '\n');
    else printJson(report);
    return;
  }
  const clear = interval && process.stdout.isTTY ? '\x1b[H\x1b[2J' : '';
  const stamp = interval ? `${new Date().toLocaleTimeString()}  (every ${interval} s, Ctrl-C to stop)\n\n` : '';
  process.stdout.write(clear + stamp + renderStatus(report, one));
}

export function register(program: Command): void {
  addStoreOption(addConnectionOptions(program.command('status')))
    .description(
      'Show deployed scenarios: status, hosts with their load, VMs with their host and the\n' +
        'live state the agents report. Your own labs (the cluster file\'s admins: every lab).\n' +
        '--watch redraws (or, with --json, prints one JSON line) every few seconds until interrupted.',
    )
    .argument('[scenario-name]', 'only this scenario (with per-VM detail)')
    .option('--all', "every lab on the cluster with its owner (an administrator sees all; others their own) and what the cluster's hosts hold that this state store does not record")
    .option('--watch [seconds]', 'keep refreshing (default every 2 s)')
    .option('--sample <seconds>', "measure each VM's CPU use over this long, 0.1 to 10 (a CPU % column; the hosts answer that much later)")
    .option('--json', 'print one JSON document {scenarios, hosts}')
    .action(
      action(async (name: string | undefined, opts: CommonOptions & { watch?: string | boolean; all?: boolean; sample?: string }) => {
        const interval = watchInterval(opts.watch);
        const sampleMs = opts.sample === undefined ? undefined : sampleMillis(opts.sample);
        const stop = interval ? abortOnInterrupt() : undefined;
        try {
          await statusCommand(
            { ...opts, name, intervalMs: interval * 1000, ...(sampleMs ? { sampleMs } : {}) },
            {
              show: (report) => show(report, opts, Boolean(name), interval),
              error: (err) => process.stderr.write(renderError(err)),
              signal: stop?.signal,
            },
          );
        } finally {
          stop?.release();
        }
        return 0;
      }),
    );
}
