// `ediv discover`: the UPnP control point. Prints the hypervisor → VM → services tree of the
// management network, keeps it live with --watch, and invokes SOAP actions (`discover call`).
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { emulatedInstance } from '../emulated/layout.ts';
import { browseTree, callAction, watchTree, type BrowseOptions } from '../discovery/browse.ts';
import { action, printJson, printReport } from './output.ts';
import { secondsOption } from './option-values.ts';
import { renderActionResult, renderTree, renderTreeUpdate } from './render/discover.ts';
import { abortOnInterrupt } from './signals.ts';

interface DiscoverOpts {
  interface?: string;
  timeout?: string;
  mx?: string;
  json?: boolean;
  watch?: boolean;
}

/** --interface (default: the emulated cluster's bridge) and --mx. */
function browseOptions(opts: DiscoverOpts): BrowseOptions {
  return {
    interface: opts.interface,
    fallbackInterface: emulatedInstance(0).bridge,
    mx: secondsOption('--mx', opts.mx ?? '1', 1, 5),
    log: (m) => process.stderr.isTTY && process.stderr.write(`ediv: ${m}\n`),
  };
}

async function discover(opts: DiscoverOpts): Promise<number> {
  const timeoutMs = secondsOption('--timeout', opts.timeout ?? '3', 0.1, 3600) * 1000;
  if (!opts.watch) {
    const tree = await browseTree({ ...browseOptions(opts), timeoutMs });
    if (opts.json) printJson(tree);
    else process.stdout.write(renderTree(tree));
    return 0;
  }
  const stop = abortOnInterrupt();
  try {
    await watchTree(
      browseOptions(opts),
      (tree) => {
        const time = new Date().toISOString();
        process.stdout.write(opts.json ? JSON.stringify({ type: 'tree', time, tree }) + '\n' : renderTreeUpdate(tree, time));
      },
      stop.signal,
    );
  } finally {
    stop.release();
  }
  return 0;
}

/** Action in-arguments, given as Name=value. */
function parseArgs(args: string[]): [string, string][] {
  return args.map((a) => {
    const i = a.indexOf('=');
    if (i <= 0) throw InputError.commandLine(JSON.stringify(a), 'give action arguments as Name=value');
    return [a.slice(0, i), a.slice(i + 1)];
  });
}

async function call(vm: string, actionName: string, rawArgs: string[], opts: DiscoverOpts & { service?: string }): Promise<number> {
  const args = parseArgs(rawArgs);
  const timeoutMs = secondsOption('--timeout', opts.timeout ?? '5', 0.1, 3600) * 1000;
  const result = await callAction(browseOptions(opts), { vm, action: actionName, args, service: opts.service, timeoutMs });
  return printReport(result, opts, renderActionResult);
}

export function register(program: Command): void {
  const cmd = program
    .command('discover')
    .description(
      'Find the hypervisors and VMs announced over UPnP on the management network and print the\n' +
        'hypervisor → VM → services tree (M-SEARCH plus NOTIFY; descriptions fetched per CONFIGID).',
    )
    .option('-i, --interface <name>', 'management interface to search on (default: the emulated cluster bridge edivbr0)')
    .option('-t, --timeout <seconds>', 'how long to collect answers (default 3)')
    .option('--mx <seconds>', 'M-SEARCH MX: devices answer within this many seconds, 1-5 (default 1)')
    .option('--json', 'print the tree as one JSON document (with --watch: one JSON line per change)')
    .option('-w, --watch', 'keep running and print the tree again whenever it changes (Ctrl-C ends)')
    .action(action((opts: DiscoverOpts) => discover(opts)));
  cmd
    .command('call')
    .description('Invoke a UPnP action of a discovered VM, e.g. `ediv discover call r1 Stop` or `call lab/r1 GetStatus`')
    .argument('<vm>', 'VM name, deployment/vm, or UDN (uuid:…)')
    .argument('<action>', 'action name (Start, Stop, Suspend, Resume, GetStatus, or a VM-defined one)')
    .argument('[args...]', 'in-arguments as Name=value')
    .option('-i, --interface <name>', 'management interface (default: edivbr0)')
    .option('-t, --timeout <seconds>', 'how long to look for the VM (default 5)')
    .option('--mx <seconds>', 'M-SEARCH MX, 1-5 (default 1)')
    .option('--service <type>', 'service type, when several services of the VM have the action')
    .option('--json', 'print the result as JSON')
    .action((vm: string, act: string, args: string[], opts: DiscoverOpts & { service?: string }, self: Command) => {
      // commander hands options given after `call` to whichever command knows them first.
      const merged: typeof opts = { ...(self.parent?.opts() as DiscoverOpts), ...opts };
      return action((o: typeof opts) => call(vm, act, args, o))(merged);
    });
}
