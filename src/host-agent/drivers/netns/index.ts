// The netns driver: a VM is a network namespace (plus, with filetrees, a holder process with
// its own mount and UTS namespaces); one bridge per net in the agent's namespace, a veth per VM
// interface, backplane links for spanning nets; link shaping, management links (<vm_mgmt>) and
// the <host> section. See docs/host-agent.md, "The netns driver".
import type { InputProblem } from '../../../common/errors.ts';
import { OperationError } from '../../../common/errors.ts';
import type { Capability } from '../../../protocol/agent.ts';
import { isBackplaneKind } from '../../../protocol/backplane.ts';
import { mapLimit } from '../../../common/parallel.ts';
import { Journal } from '../../journal.ts';
import { NameAllocator } from '../../naming.ts';
import { deploymentDir, listDeployments, tagOf } from '../../store.ts';
import { listLinks, netnsDirShared, processStart } from '../../sys.ts';
import { backplaneFor, checkTrunks } from '../../backplanes/registry.ts';
import type { ApplyInput, Driver, DriverContext, PreparedApply } from '../driver.ts';
import type { Vm } from '../../../scenario/model.ts';
import { checkBridgePorts } from './bridge-limit.ts';
import { desiredState, type DesiredState } from './desired.ts';
import { enterVm, execOnVm } from './exec.ts';
import { applyNetns, destroyNetns, holderKey, netnsKey, PARALLEL, type MachineLayer } from './resources.ts';
import { filetreeRootProblem } from './vm-holder.ts';
import { netnsVmAction, netnsVmStates } from './vm-life-cycle.ts';

/** Kernel capabilities the driver cannot work without. */
const NEEDS: [Capability, string][] = [
  ['netns', 'network namespaces'],
  ['bridge', 'Linux bridges'],
  ['veth', 'veth pairs'],
];

/** Link names every deployment of this state dir already has, keyed as the allocator keys them. */
function knownLinkNames(stateDir: string): [string, string][] {
  return listDeployments(stateDir).flatMap((d) =>
    Journal.open(deploymentDir(stateDir, d))
      .resources()
      .filter((r) => r.kind === 'bridge' || r.kind === 'veth' || r.kind === 'hostif' || (isBackplaneKind(r.kind) && backplaneFor(r.kind).allocatedNames))
      .map((r): [string, string] => [`${d}|${r.key}`, r.name]),
  );
}

/** Per net, interfaces of journaled VMs an apply of only some VMs leaves on the bridge. */
function keptVmPorts(journal: Journal, desired: DesiredState): Map<string, number> {
  const applied = new Set(desired.vms.map((v) => v.vm));
  const out = new Map<string, number>();
  for (const r of journal.resources()) {
    if (r.kind === 'veth' && r.net !== undefined && r.vm !== undefined && !applied.has(r.vm)) out.set(r.net, (out.get(r.net) ?? 0) + 1);
  }
  return out;
}

export const netnsDriver: Driver = {
  name: 'netns',

  scenarioProblems(scenario) {
    const problems: InputProblem[] = [];
    for (const vm of scenario.vms) {
      for (const f of vm.filetrees) {
        const why = filetreeRootProblem(f.root);
        if (why) problems.push({ loc: f.loc ?? { file: scenario.source.path }, message: `VM ${vm.name}: ${why}` });
      }
    }
    return problems;
  },

  preflight(caps, emit) {
    const lacking = NEEDS.filter(([cap]) => !caps[cap]).map(([, what]) => what);
    if (lacking.length) throw new OperationError(`this host's kernel lacks ${lacking.join(', ')}: the netns driver cannot run here`);
    if (!netnsDirShared()) {
      emit({
        type: 'progress',
        step: 'warning',
        message: '/run/netns is not a shared mount here (agent run by `ip netns exec`?): VM namespaces are visible only in this mount namespace',
      });
    }
  },

  prepareApply: (ctx, input) => prepareNetworkApply(ctx, input),

  destroy: destroyNetns,

  enter: (ctx, vm) => enterVm(...netnsTarget(ctx, vm.name)),

  async exec(ctx, { scenario, vms, run, files }) {
    let done = 0;
    return mapLimit(vms, PARALLEL, async (vm) => {
      const [ns, holderPid] = netnsTarget(ctx, vm.name);
      const commands = await execOnVm({ vm, netns: ns, holderPid }, scenario, run, files);
      ctx.emit({ type: 'progress', step: 'exec', message: vm.name, done: ++done, total: vms.length });
      return { name: vm.name, commands };
    });
  },

  vmStates: (ctx, recorded) => netnsVmStates(ctx.journal, recorded),

  vmAction: (ctx, vm, action, current) => netnsVmAction(ctx.journal, vm, action, current),
};

/** A VM's namespace and, when it has one, its holder's pid (its private file views). */
function netnsTarget(ctx: DriverContext, vm: string): [netns: string, holderPid: number | undefined] {
  const ns = ctx.journal.get(netnsKey(vm))!.name;
  const holder = ctx.journal.get(holderKey(vm));
  return [ns, holder?.pid && processStart(holder.pid) === holder.start ? holder.pid : undefined];
}

/**
 * An apply of the VMs' network side (namespaces, bridges, veths, addresses, routes, backplane
 * links), with the machine layer a driver adds on top (default: the netns driver's holders).
 */
export async function prepareNetworkApply(
  ctx: DriverContext,
  input: ApplyInput,
  layer: { machineOf?: (vm: Vm) => Record<string, unknown>; machine?: MachineLayer } = {},
): Promise<PreparedApply> {
  const links = await listLinks();
  checkTrunks(input.backplane, links, input.host);
  const tag = tagOf(ctx.stateDir);
  const names = new NameAllocator(tag, knownLinkNames(ctx.stateDir), links.keys());
  const desired = desiredState({
    scenario: input.scenario,
    deployment: ctx.deployment,
    lab: input.lab,
    tag,
    backplane: input.backplane,
    vms: input.vms,
    names,
    trunkMtu: (t) => links.get(t)?.mtu,
    hostBridge: (name) => links.get(name)?.kind === 'bridge',
    machineOf: layer.machineOf,
    shapingSupport: { tbf: input.caps?.tbf ?? true, netem: input.caps?.netem ?? false },
    host: input.host,
  });
  checkBridgePorts(desired, input.host, input.vms ? keptVmPorts(ctx.journal, desired) : undefined);
  for (const message of desired.warnings ?? []) ctx.emit({ type: 'progress', step: 'warning', message });
  if (!layer.machine?.dhcp) {
    for (const vm of desired.vms) {
      const asking = vm.ifaces.filter((i) => i.dhcp?.length).map((i) => i.inner);
      if (asking.length) ctx.emit({ type: 'progress', step: 'warning', message: `vm ${vm.vm}: interface(s) ${asking.join(', ')} ask for DHCP; a netns VM runs no DHCP client (it would use the host's files): left without an address (the container driver runs the VM's client)` });
    }
  }
  return {
    vms: desired.vms.map((v) => v.vm),
    links: [
      ...desired.nets.flatMap((n) => [n.bridge, ...(n.backplane ? [n.backplane.dev] : [])]),
      ...desired.vms.flatMap((v) => [...v.ifaces.map((i) => i.outer), ...(v.mgmt ? [v.mgmt.outer] : [])]),
      ...(desired.host?.ifaces ?? []).flatMap((h) => [h.outer, h.port]),
    ],
    async run() {
      const created = new Set((await applyNetns(ctx, desired, !input.vms, layer.machine)).created);
      return { made: desired.vms.filter((v) => created.has(v.netns)).map((v) => v.vm) };
    },
  };
}
