// `ediv status [<scenario-name>]`: recorded scenarios with the hosts' live view.
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { scenarioStatus } from '../controller/status.ts';
import { withContext, type CommonOptions } from '../controller/command-context.ts';
import { renderStatus } from '../controller/render.ts';
import { silentProgress } from '../controller/progress.ts';
import { action, printJson } from './output.ts';
import { addConnectionOptions } from './controller-options.ts';

export function register(program: Command): void {
  addConnectionOptions(program.command('status'))
    .description(
      'Show deployed scenarios: status, hosts with their load, VMs with their host and the\n' +
        'live state the agents report. --watch redraws (or, with --json, prints one JSON line)\n' +
        'every few seconds until interrupted.',
    )
    .argument('[scenario-name]', 'only this scenario (with per-VM detail)')
    .option('--watch [seconds]', 'keep refreshing (default every 2 s)')
    .option('--json', 'print one JSON document {scenarios, hosts}')
    .action(
      action(async (name: string | undefined, opts: CommonOptions & { watch?: string | boolean }) => {
        const interval = opts.watch === undefined || opts.watch === false ? 0 : opts.watch === true ? 2 : Number(opts.watch);
        if (!(interval >= 0) || (opts.watch !== undefined && opts.watch !== true && !(interval > 0))) {
          throw new InputError({ loc: { file: 'command line' }, message: `--watch ${String(opts.watch)}: give a number of seconds > 0` });
        }
        return withContext(opts, async (ctx) => {
          const once = async (): Promise<void> => {
            const report = await scenarioStatus({ name }, { store: ctx.store, sessions: ctx.sessions, progress: silentProgress });
            if (opts.json) {
              if (interval) process.stdout.write(JSON.stringify(report) + '\n');
              else printJson(report);
            } else {
              const clear = interval && process.stdout.isTTY ? '\x1b[H\x1b[2J' : '';
              const stamp = interval ? `${new Date().toLocaleTimeString()}  (every ${interval} s, Ctrl-C to stop)\n\n` : '';
              process.stdout.write(clear + stamp + renderStatus(report, Boolean(name)));
            }
          };
          await once();
          if (!interval) return 0;
          await new Promise<void>((resolve) => {
            let timer: NodeJS.Timeout;
            const stop = (): void => {
              clearTimeout(timer);
              process.off('SIGINT', stop);
              process.off('SIGTERM', stop);
              resolve();
            };
            const tick = (): void => {
              timer = setTimeout(() => void once().then(tick, (err: unknown) => { process.stderr.write(`ediv: ${String(err)}\n`); tick(); }), interval * 1000);
            };
            process.on('SIGINT', stop);
            process.on('SIGTERM', stop);
            tick();
          });
          return 0;
        });
      }),
    );
}
