// `ediv discover`: the UPnP control point. Prints the hypervisor → VM → services tree of the
// management network, keeps it live with --watch, and invokes SOAP actions (`discover call`).
// On the controller (its state directory: --state, else the default) it verifies what it
// finds against the lab's record and signs state-changing actions with the cluster's key.
// Everything shown comes from strangers on the network: text output escapes control and bidi
// characters; JSON output keeps the values (with those characters as \u escapes).
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { defaultStateDir } from '../common/paths.ts';
import { controlKeyFile, discoveryRecord, readControlKey } from '../controller/discovery-hooks.ts';
import { storeLocationOf } from '../controller/command-context.ts';
import { emulatedInstance } from '../emulated/layout.ts';
import { browseTree, callAction, watchTree, type ActionCallResult, type BrowseOptions } from '../discovery/browse.ts';
import type { DiscoveryTree } from '../discovery/control-point.ts';
import { parseKey } from '../discovery/control-auth.ts';
import { terminalSafe, terminalSafeDeep, terminalSafeJson } from '../common/printable.ts';
import { action } from './output.ts';
import { secondsOption } from './option-values.ts';
import { renderActionResult, renderTree, renderTreeUpdate } from './render/discover.ts';
import { abortOnInterrupt } from './signals.ts';

interface DiscoverOpts {
  interface?: string;
  timeout?: string;
  mx?: string;
  json?: boolean;
  watch?: boolean;
  state?: string;
}

const warn = (m: string) => process.stderr.isTTY && process.stderr.write(`ediv: ${terminalSafe(m)}\n`);

type ControllerSide = Pick<BrowseOptions, 'record' | 'controlKey' | 'controlKeyFile'>;

/**
 * What the controller's state directory offers discovery: the lab record and, for `call`, the
 * control key (each when there). A broken key file is an error: acting unsigned would hide it.
 */
async function controllerSide(opts: DiscoverOpts, withKey: boolean): Promise<ControllerSide> {
  const dir = path.resolve(opts.state ?? defaultStateDir());
  const out: ControllerSide = { controlKeyFile: controlKeyFile(dir) };
  try {
    out.record = await discoveryRecord((await storeLocationOf({ state: dir })).location);
  } catch (err) {
    warn(`no lab record (nothing can be verified): ${(err as Error).message}`);
  }
  const hex = withKey ? readControlKey(dir) : undefined;
  if (hex) out.controlKey = parseKey(hex);
  return out;
}

/** --interface (default: the emulated cluster's bridge) and --mx, plus the controller's side. */
async function browseOptions(opts: DiscoverOpts, withKey = false): Promise<BrowseOptions> {
  return {
    interface: opts.interface,
    fallbackInterface: emulatedInstance(0).bridge,
    mx: secondsOption('--mx', opts.mx ?? '1', 1, 5),
    log: warn,
    ...(await controllerSide(opts, withKey)),
  };
}

/** The tree as text shows it: every string escaped, unverified entries marked as such. */
export function textView(tree: DiscoveryTree): DiscoveryTree {
  const t = terminalSafeDeep(tree);
  const mark = (s: string | undefined) => (s === undefined ? s : `${s} [unverified]`);
  for (const h of t.hypervisors) {
    if (!h.verified) Object.assign(h, h.host !== undefined ? { host: mark(h.host) } : { friendlyName: mark(h.friendlyName) });
    for (const vm of h.vms) if (!vm.verified) Object.assign(vm, vm.name !== undefined ? { name: mark(vm.name) } : { friendlyName: mark(vm.friendlyName) });
  }
  return t;
}

function writeJson(value: unknown, indent?: number): void {
  process.stdout.write(terminalSafeJson(value, indent) + '\n');
}

async function discover(opts: DiscoverOpts): Promise<number> {
  const timeoutMs = secondsOption('--timeout', opts.timeout ?? '3', 0.1, 3600) * 1000;
  if (!opts.watch) {
    const tree = await browseTree({ ...(await browseOptions(opts)), timeoutMs });
    if (opts.json) writeJson(tree, 2);
    else process.stdout.write(renderTree(textView(tree)));
    return 0;
  }
  const stop = abortOnInterrupt();
  try {
    await watchTree(
      await browseOptions(opts),
      (tree) => {
        const time = new Date().toISOString();
        if (opts.json) writeJson({ type: 'tree', time, tree });
        else process.stdout.write(renderTreeUpdate(textView(tree), time));
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
  const result: ActionCallResult = await callAction(await browseOptions(opts, true), { vm, action: actionName, args, service: opts.service, timeoutMs });
  // A failed call throws (printed by action()), so this is the whole successful report.
  if (opts.json) writeJson(result, 2);
  else process.stdout.write(renderActionResult(terminalSafeDeep(result)));
  return 0;
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
    .option('--state <dir>', 'controller state directory: the lab record to verify against and the key to sign actions with (default /var/lib/ediv as root, else the XDG state dir)')
    .action(action((opts: DiscoverOpts) => discover(opts)));
  cmd
    .command('call')
    .description('Invoke a UPnP action of a discovered VM, e.g. `ediv discover call r1 Stop` or `call lab/r1 GetStatus`')
    .argument('<vm>', 'VM name, lab/vm, deployment-key/vm (lab.uid/vm), or UDN (uuid:…)')
    .argument('<action>', 'action name (Start, Stop, Suspend, Resume, GetStatus, or a VM-defined one)')
    .argument('[args...]', 'in-arguments as Name=value')
    .option('-i, --interface <name>', 'management interface (default: edivbr0)')
    .option('-t, --timeout <seconds>', 'how long to look for the VM (default 5)')
    .option('--mx <seconds>', 'M-SEARCH MX, 1-5 (default 1)')
    .option('--service <type>', 'service type, when several services of the VM have the action')
    .option('--state <dir>', 'controller state directory: the key that signs Start/Stop/Suspend/Resume (default as for discover)')
    .option('--json', 'print the result as JSON')
    .action((vm: string, act: string, args: string[], opts: DiscoverOpts & { service?: string }, self: Command) => {
      // commander hands options given after `call` to whichever command knows them first.
      const merged: typeof opts = { ...(self.parent?.opts() as DiscoverOpts), ...opts };
      return action((o: typeof opts) => call(vm, act, args, o))(merged);
    });
}
