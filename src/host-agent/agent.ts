// `ediv agent <op>`: the host side of ediv. runAgentOp validates the request, runs the op and
// returns its result; progress events go to `emit`. Errors are thrown (InputError = bad request,
// OperationError = the host could not do it); the CLI turns them into the result line.
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../common/errors.ts';
import { requireRoot } from '../common/root.ts';
import { AGENT_OPS, isAgentOp } from '../protocol/agent.ts';
import type {
  AgentOp,
  ApplyRequest,
  ApplyResult,
  DestroyRequest,
  DestroyResult,
  ExecRequest,
  ExecResult,
  ProgressEvent,
  StatusRequest,
  StatusResult,
  VmState,
} from '../protocol/agent.ts';
import { validateRequest } from './validate.ts';
import { capabilities, facts, loadAverage } from './facts.ts';
import { Journal } from './journal.ts';
import { NameAllocator } from './naming.ts';
import { desiredState, type DesiredState } from './desired.ts';
import { checkBridgePorts } from './bridge-limit.ts';
import { parseFragment } from './fragment.ts';
import { checkVlanSupport } from './backplanes/vlan.ts';
import { applyNetns, destroyNetns, holderKey, netnsKey, PARALLEL, type DriverContext } from './drivers/netns.ts';
import { execOnVm } from './drivers/netns-exec.ts';
import { listLinks, netnsDirShared, processStart } from './sys.ts';
import {
  DEFAULT_STATE_DIR,
  deploymentDir,
  listDeployments,
  readApplied,
  readVmStates,
  tagOf,
  vmDir,
  withLock,
  writeApplied,
  writeVmStates,
} from './store.ts';
import { vmStates } from './inventory.ts';
import { mapLimit } from '../common/parallel.ts';


export interface AgentOptions {
  stateDir?: string;
  emit(line: ProgressEvent): void;
}

export async function runAgentOp(op: AgentOp, request: unknown, opts: AgentOptions): Promise<unknown> {
  if (!isAgentOp(op)) throw new OperationError(`unknown agent op ${JSON.stringify(op)} (known: ${AGENT_OPS.join(', ')})`);
  validateRequest(op, request);
  const stateDir = path.resolve(opts.stateDir ?? DEFAULT_STATE_DIR);
  switch (op) {
    case 'facts':
      return facts(stateDir);
    case 'apply':
      return apply(request as ApplyRequest, stateDir, opts.emit);
    case 'exec':
      return exec(request as ExecRequest, stateDir, opts.emit);
    case 'destroy':
      return destroy(request as DestroyRequest, stateDir, opts.emit);
    case 'status':
      return status(request as StatusRequest, stateDir);
    case 'serve':
      return serveOp(request, stateDir, opts.emit);
  }
}

function requireAgentRoot(op: string): void {
  requireRoot(`agent ${op}`, 'it creates network namespaces, bridges and links');
}

function driverContext(stateDir: string, deployment: string, emit: AgentOptions['emit']): DriverContext {
  return {
    stateDir,
    deployment,
    journal: Journal.open(deploymentDir(stateDir, deployment)),
    emit,
    vmDir: (vm) => vmDir(stateDir, deployment, vm),
  };
}

/** Link names every deployment of this state dir already has, keyed as the allocator keys them. */
function knownLinkNames(stateDir: string): [string, string][] {
  return listDeployments(stateDir).flatMap((d) =>
    Journal.open(deploymentDir(stateDir, d))
      .resources()
      .filter((r) => r.kind === 'bridge' || r.kind === 'veth' || r.kind === 'vxlan')
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

async function apply(req: ApplyRequest, stateDir: string, emit: AgentOptions['emit']): Promise<ApplyResult> {
  const scenario = await parseFragment(req.fragmentXml, req.deployment, req.vms);
  requireAgentRoot('apply');
  // Everything that can be refused is refused before anything is made.
  const caps = await capabilities(stateDir);
  const vlanNets = req.backplane.filter((b) => b.kind === 'vlan').map((b) => b.net);
  if (vlanNets.length) checkVlanSupport(caps.vlan8021q, vlanNets);
  if (req.backplane.some((b) => b.kind === 'vxlan') && !caps.vxlan) {
    throw new OperationError(`this host's kernel cannot make VXLAN devices; the vxlan backplane is not available here`);
  }
  if (!netnsDirShared()) {
    emit({
      type: 'progress',
      step: 'warning',
      message: '/run/netns is not a shared mount here (agent run by `ip netns exec`?): VM namespaces are visible only in this mount namespace',
    });
  }
  return withLock(stateDir, async () => {
    const links = await listLinks();
    for (const b of req.backplane) {
      if (!links.has(b.trunk)) throw new OperationError(`backplane trunk interface ${b.trunk} (net ${b.net}) does not exist on host ${req.host}`);
    }
    const tag = tagOf(stateDir);
    const names = new NameAllocator(tag, knownLinkNames(stateDir), links.keys());
    const desired = desiredState({
      scenario,
      deployment: req.deployment,
      tag,
      backplane: req.backplane,
      vms: req.vms,
      names,
      trunkMtu: (t) => links.get(t)?.mtu,
    });
    const ctx = driverContext(stateDir, req.deployment, emit);
    checkBridgePorts(desired, req.host, req.vms ? keptVmPorts(ctx.journal, desired) : undefined);
    writeApplied(stateDir, {
      deployment: req.deployment,
      host: req.host,
      fragmentXml: req.fragmentXml,
      scenarioDir: req.scenarioDir,
      backplane: req.backplane,
      driver: req.driver ?? 'netns',
    });
    const outcome = await applyNetns(ctx, desired, !req.vms);
    const states = readVmStates(stateDir, req.deployment);
    const created = new Set(outcome.created);
    for (const vm of desired.vms) if (created.has(vm.netns) || !states[vm.vm]) states[vm.vm] = 'running';
    for (const vm of Object.keys(states)) if (!ctx.journal.configuredVms().has(vm)) delete states[vm];
    writeVmStates(stateDir, req.deployment, states);
    return {
      deployment: req.deployment,
      vms: desired.vms.map((v) => ({ name: v.vm, state: states[v.vm] ?? 'running' })),
      links: [
        ...desired.nets.flatMap((n) => [n.bridge, ...(n.backplane ? [n.backplane.dev] : [])]),
        ...desired.vms.flatMap((v) => v.ifaces.map((i) => i.outer)),
      ],
    };
  });
}

async function exec(req: ExecRequest, stateDir: string, emit: AgentOptions['emit']): Promise<ExecResult> {
  const applied = readApplied(stateDir, req.deployment);
  if (!applied) throw new OperationError(`deployment ${req.deployment} is not on host ${req.host}`);
  const scenario = await parseFragment(applied.fragmentXml, req.deployment, req.vms);
  requireAgentRoot('exec');
  const journal = Journal.open(deploymentDir(stateDir, req.deployment));
  const states = readVmStates(stateDir, req.deployment);
  const wanted = req.vms ? new Set(req.vms) : undefined;
  const vms = scenario.vms.filter((v) => (!wanted || wanted.has(v.name)) && journal.configuredVms().has(v.name));
  const suspended = vms.filter((v) => states[v.name] === 'suspended').map((v) => v.name);
  if (suspended.length) throw new OperationError(`cannot run sequence ${req.seq}: VM(s) ${suspended.join(', ')} are suspended`);
  let done = 0;
  const results = await mapLimit(vms, PARALLEL, async (vm) => {
    const ns = journal.get(netnsKey(vm.name))!.name;
    const holder = journal.get(holderKey(vm.name));
    const holderPid = holder?.pid && processStart(holder.pid) === holder.start ? holder.pid : undefined;
    const commands = await execOnVm({ vm, netns: ns, holderPid }, scenario, req.seq, applied.scenarioDir);
    emit({ type: 'progress', step: 'exec', message: vm.name, done: ++done, total: vms.length });
    return { name: vm.name, commands };
  });
  return { deployment: req.deployment, seq: req.seq, vms: results };
}

async function destroy(req: DestroyRequest, stateDir: string, emit: AgentOptions['emit']): Promise<DestroyResult> {
  const dir = deploymentDir(stateDir, req.deployment);
  if (!fs.existsSync(dir)) return { deployment: req.deployment, removed: [] };
  requireAgentRoot('destroy');
  return withLock(stateDir, async () => {
    const ctx = driverContext(stateDir, req.deployment, emit);
    emit({ type: 'progress', step: 'destroy', message: `${ctx.journal.resources().length} journaled resource(s)` });
    const removed = await destroyNetns(ctx, req.vms);
    ctx.journal.compact();
    if (ctx.journal.isEmpty()) {
      fs.rmSync(dir, { recursive: true, force: true });
    } else {
      const states = readVmStates(stateDir, req.deployment);
      for (const vm of req.vms ?? []) delete states[vm];
      writeVmStates(stateDir, req.deployment, states);
    }
    return { deployment: req.deployment, removed };
  });
}

async function status(req: StatusRequest, stateDir: string): Promise<StatusResult> {
  const loadAvg = loadAverage();
  const deployments = (req.deployment ? [req.deployment] : listDeployments(stateDir)).filter((d) =>
    fs.existsSync(deploymentDir(stateDir, d)),
  );
  return {
    loadAvg,
    deployments: deployments.map((d) => ({
      name: d,
      vms: Object.entries(vmStates(stateDir, d)).map(([name, state]: [string, VmState]) => ({ name, state })),
    })),
  };
}

async function serveOp(request: unknown, stateDir: string, emit: AgentOptions['emit']): Promise<unknown> {
  const mod = '../discovery/serve.ts';
  let serve: (req: unknown, ctx: { stateDir: string; emit: AgentOptions['emit'] }) => Promise<unknown>;
  try {
    serve = ((await import(mod)) as { serve: typeof serve }).serve;
  } catch (err) {
    throw new OperationError(`the discovery module (src/discovery/serve.ts) is not available: ${(err as Error).message}`);
  }
  return serve(request, { stateDir, emit });
}
