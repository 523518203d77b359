// `ediv discover`: the UPnP control point. Prints the hypervisor → VM → services tree of the
// management network, keeps it live with --watch, and invokes SOAP actions (`discover call`).
import type { Command } from 'commander';
import { InputError, OperationError } from '../common/errors.ts';
import { action, printJson } from './output.ts';
import { emulatedInstance } from '../emulated/layout.ts';
import { interfaceExists, resolveInterface } from '../discovery/netif.ts';
import { ControlPoint } from '../discovery/control-point.ts';
import type { DiscoveryTree, TreeService, TreeVm } from '../discovery/control-point.ts';
import { closeHttpClient, soapCall } from '../discovery/http-client.ts';
import { UpnpError } from '../discovery/types.ts';
import { renderTree } from '../discovery/render.ts';

interface DiscoverOpts {
  interface?: string;
  timeout?: string;
  mx?: string;
  json?: boolean;
  watch?: boolean;
}

function parseSeconds(value: string, what: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw InputError.at(what, undefined, undefined, `must be a number of seconds between ${min} and ${max}, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** --interface, else the emulated cluster's bridge when it exists here. */
function chooseInterface(name: string | undefined) {
  if (name) return resolveInterface({ interface: name });
  const bridge = emulatedInstance(0).bridge;
  if (interfaceExists(bridge)) return resolveInterface({ interface: bridge });
  throw InputError.at('--interface', undefined, undefined, `give the management interface to search on (no emulated cluster bridge ${bridge} here)`);
}

async function startControlPoint(opts: DiscoverOpts): Promise<ControlPoint> {
  const iface = chooseInterface(opts.interface);
  const mx = parseSeconds(opts.mx ?? '1', '--mx', 1, 5);
  const cp = new ControlPoint({ iface, mx, log: (m) => process.stderr.isTTY && process.stderr.write(`ediv: ${m}\n`) });
  await cp.start();
  await cp.searchFor('upnp:rootdevice');
  return cp;
}

async function discover(opts: DiscoverOpts): Promise<number> {
  const timeoutMs = parseSeconds(opts.timeout ?? '3', '--timeout', 0.1, 3600) * 1000;
  const cp = await startControlPoint(opts);
  if (opts.watch) return watch(cp, opts);
  await sleepUntilSettled(cp, timeoutMs);
  const tree = cp.tree();
  await cp.stop();
  closeHttpClient();
  if (opts.json) printJson(tree);
  else process.stdout.write(renderTree(tree));
  return 0;
}

/** Waits the timeout, plus a little while a description fetch is still under way. */
async function sleepUntilSettled(cp: ControlPoint, ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  const end = Date.now() + 5000;
  while (cp.busy() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

async function watch(cp: ControlPoint, opts: DiscoverOpts): Promise<number> {
  let last = '';
  const show = () => {
    const tree = cp.tree();
    const text = JSON.stringify(tree);
    if (text === last) return;
    last = text;
    if (opts.json) process.stdout.write(JSON.stringify({ type: 'tree', time: new Date().toISOString(), tree }) + '\n');
    else process.stdout.write(`--- ${new Date().toISOString()}\n${renderTree(tree)}`);
  };
  cp.on('change', show);
  // Search again now and then: catches devices whose announcements were lost.
  const again = setInterval(() => void cp.searchFor('upnp:rootdevice'), 60_000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(again);
  await cp.stop();
  closeHttpClient();
  return 0;
}

/** The VM a user names: UDN, deployment/vm, or a VM name unique in the tree. */
export function findVm(tree: DiscoveryTree, ref: string): TreeVm[] {
  const all = [...tree.hypervisors.flatMap((h) => h.vms), ...tree.vms];
  if (ref.startsWith('uuid:')) return all.filter((v) => v.udn === ref);
  const slash = ref.indexOf('/');
  if (slash > 0) return all.filter((v) => v.deployment === ref.slice(0, slash) && v.name === ref.slice(slash + 1));
  return all.filter((v) => v.name === ref);
}

function servicesWith(vm: TreeVm, actionName: string, serviceType?: string): TreeService[] {
  return vm.services.filter(
    (s) => (!serviceType || s.serviceType === serviceType) && (s.actions ?? []).some((a) => a.name === actionName),
  );
}

function parseArgs(args: string[]): [string, string][] {
  return args.map((a) => {
    const i = a.indexOf('=');
    if (i <= 0) throw InputError.at('arguments', undefined, undefined, `${JSON.stringify(a)}: give action arguments as Name=value`);
    return [a.slice(0, i), a.slice(i + 1)];
  });
}

async function call(vmRef: string, actionName: string, rawArgs: string[], opts: DiscoverOpts & { service?: string }): Promise<number> {
  const args = parseArgs(rawArgs);
  const timeout = opts.timeout ?? '5';
  const timeoutMs = parseSeconds(timeout, '--timeout', 0.1, 3600) * 1000;
  const cp = await startControlPoint(opts);
  try {
    // Done as soon as the VM is found with the action; give a self-advertisement a moment to merge.
    await cp.waitFor((t) => findVm(t, vmRef).some((v) => servicesWith(v, actionName, opts.service).length > 0), timeoutMs);
    const matches = findVm(cp.tree(), vmRef);
    if (matches.length === 0) throw new OperationError(`no VM ${JSON.stringify(vmRef)} found on the management network within ${timeout} s`);
    if (matches.length > 1) {
      throw InputError.at('vm', undefined, undefined, `${JSON.stringify(vmRef)} names ${matches.length} VMs (${matches.map((m) => `${m.deployment}/${m.name}`).join(', ')}): give deployment/vm or the UDN`);
    }
    const vm = matches[0]!;
    const svcs = servicesWith(vm, actionName, opts.service);
    if (svcs.length === 0) {
      const known = vm.services.flatMap((s) => (s.actions ?? []).map((a) => a.name));
      throw InputError.at('action', undefined, undefined, `VM ${vm.name ?? vm.udn} has no action ${JSON.stringify(actionName)}${known.length ? ` (it has: ${[...new Set(known)].join(', ')})` : ''}`);
    }
    if (svcs.length > 1) {
      throw InputError.at('action', undefined, undefined, `several services of ${vm.name} have ${actionName}: choose one with --service (${svcs.map((s) => s.serviceType).join(', ')})`);
    }
    const svc = svcs[0]!;
    let result: Record<string, string>;
    try {
      result = await soapCall(svc.controlUrl, svc.serviceType, actionName, args);
    } catch (err) {
      if (err instanceof UpnpError) {
        throw new OperationError(`${actionName} on ${vm.name ?? vm.udn} failed: UPnP error ${err.code}: ${err.message}`, {
          details: { upnpErrorCode: err.code, upnpErrorDescription: err.message },
        });
      }
      throw err;
    }
    const out = { vm: vm.name, deployment: vm.deployment, host: vm.host, udn: vm.udn, serviceType: svc.serviceType, action: actionName, result };
    if (opts.json) printJson({ ok: true, ...out });
    else {
      process.stdout.write(`${actionName} on ${vm.deployment}/${vm.name}: ok\n`);
      for (const [k, v] of Object.entries(result)) process.stdout.write(`  ${k}: ${v}\n`);
    }
    return 0;
  } finally {
    await cp.stop();
    closeHttpClient();
  }
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
