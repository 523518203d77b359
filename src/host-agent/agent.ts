// `ediv agent <op>`: the host side of ediv. runAgentOp validates the request, picks the driver
// (drivers/registry.ts) and runs the op: the parts common to every driver are here (fragment
// parsing, backplane capability checks, the owner check (owner.ts) and the backplane ids in use
// here (backplane-ids.ts), the state directory's lock, applied.json, owner.json and
// vm-state.json); the driver makes, runs and removes the VMs. Progress events go to `emit`.
// Errors are thrown (InputError = bad request, OperationError = the host could not do it); the
// CLI turns them into the result line. (`serve` is the discovery daemon's: src/cli/agent.ts.)
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../common/errors.ts';
import { requireRoot } from '../common/root.ts';
import { AGENT_OPS, isAgentOp } from '../protocol/agent.ts';
import type {
  AgentExecRequest,
  AgentExecResult,
  AgentOp,
  ApplyRequest,
  ApplyResult,
  DestroyRequest,
  DestroyResult,
  ProgressEvent,
  StatusRequest,
  StatusResult,
  VmActionRequest,
  VmActionResult,
  VmState,
  VmUsage,
} from '../protocol/agent.ts';
import type { VmAction } from '../protocol/vm-inventory.ts';
import { validateRequest } from './validate.ts';
import { capabilities, facts, hostUsage, loadAverage } from './facts.ts';
import { cpuPercent } from '../protocol/agent.ts';
import { parseFragment } from './fragment.ts';
import { checkBackplaneSupport } from './backplanes/registry.ts';
import { driverFor } from './drivers/registry.ts';
import { resetOpOutputAllowance } from './drivers/netns/exec.ts';
import { deploymentDriver, driverContext, vmAction, vmStates } from './inventory.ts';
import { deploymentLinks } from './links.ts';
import { checkLabFiles, labFileResolver, removeOtherLabFiles, storeLabFiles } from './lab-files.ts';
import { checkOwner, type OwnedOp, type OwnerCheckRequest } from './owner.ts';
import { sameOwner } from '../protocol/owner.ts';
import { checkBackplaneIds } from './backplane-ids.ts';
import {
  DEFAULT_STATE_DIR,
  deploymentDir,
  listDeployments,
  readApplied,
  readOwner,
  readVmStates,
  trustStateDir,
  withLock,
  withNetnsLock,
  writeApplied,
  writeOwner,
  writeVmStates,
} from './store.ts';

export interface AgentOptions {
  stateDir?: string;
  emit(line: ProgressEvent): void;
}

export async function runAgentOp(op: AgentOp, request: unknown, opts: AgentOptions): Promise<unknown> {
  if (!isAgentOp(op)) throw new OperationError(`unknown agent op ${JSON.stringify(op)} (known: ${AGENT_OPS.join(', ')})`);
  validateRequest(op, request);
  resetOpOutputAllowance(); // per op, also when a session runs several in one process
  const stateDir = path.resolve(opts.stateDir ?? DEFAULT_STATE_DIR);
  trustStateDir(stateDir);
  switch (op) {
    case 'facts':
      return facts(stateDir);
    case 'apply':
      return apply(request as ApplyRequest, stateDir, opts.emit);
    case 'exec':
      return exec(request as AgentExecRequest, stateDir, opts.emit);
    case 'destroy':
      return destroy(request as DestroyRequest, stateDir, opts.emit);
    case 'status':
      return status(request as StatusRequest, stateDir);
    case 'vm':
      return vmLifeAction(request as VmActionRequest, stateDir, opts.emit);
    case 'connect':
    case 'capture':
      throw new OperationError(`${op} streams: run it as \`ediv agent ${op} <request>\` (src/cli/agent.ts)`);
    case 'serve':
      throw new OperationError('the serve op belongs to the discovery daemon: run it as `ediv agent serve` (src/cli/agent.ts)');
  }
}

function requireAgentRoot(op: string): void {
  requireRoot(`agent ${op}`, 'it creates network namespaces, bridges and links');
}

/** The owner check of a request (owner.ts), a forced one said as a progress warning. */
function checkOwnerOf(stateDir: string, op: OwnedOp, req: OwnerCheckRequest, emit: AgentOptions['emit']) {
  return checkOwner(stateDir, op, req, (message) => emit({ type: 'progress', step: 'warning', message }));
}

async function apply(req: ApplyRequest, stateDir: string, emit: AgentOptions['emit']): Promise<ApplyResult> {
  const driver = driverFor(req.driver);
  const scenario = parseFragment(req.fragmentXml, req.deployment, driver, req.vms);
  checkLabFiles(scenario, req.files);
  requireAgentRoot('apply');
  // Everything that can be refused is refused before anything is made.
  const caps = await capabilities(stateDir);
  checkBackplaneSupport(caps, req.backplane);
  driver.preflight(caps, emit);
  // The state directory's lock, then the namespace's: link names are chosen and made under both.
  // The ids in use and the owner are checked under the first, before anything is written (the
  // ids first: a forced apply they refuse is not logged as forced).
  return withLock(stateDir, async () => {
    checkBackplaneIds(stateDir, req);
    const recorded = checkOwnerOf(stateDir, 'apply', req, emit);
    return withNetnsLock(async () => {
      const ctx = driverContext(stateDir, req.deployment, emit);
      const lab = req.lab ?? req.deployment;
      const prepared = await driver.prepareApply(ctx, { host: req.host, scenario, backplane: req.backplane, vms: req.vms, caps, lab });
      // Recorded before anything is made (the first apply's owner, or a forced take-over's), and
      // applied.json with its backplane ids: an apply that fails from here on keeps them claimed.
      if (req.owner && !sameOwner(recorded, req.owner)) writeOwner(stateDir, req.deployment, req.owner);
      const files = storeLabFiles(deploymentDir(stateDir, req.deployment), req.files);
      writeApplied(stateDir, {
        deployment: req.deployment,
        ...(req.lab !== undefined ? { lab: req.lab } : {}),
        host: req.host,
        fragmentXml: req.fragmentXml,
        files,
        backplane: req.backplane,
        driver: driver.name,
      });
      removeOtherLabFiles(deploymentDir(stateDir, req.deployment), files);
      const made = new Set((await prepared.run()).made);
      const states = readVmStates(stateDir, req.deployment);
      for (const vm of prepared.vms) if (made.has(vm) || !states[vm]) states[vm] = 'running';
      for (const vm of Object.keys(states)) if (!ctx.journal.configuredVms().has(vm)) delete states[vm];
      writeVmStates(stateDir, req.deployment, states);
      return {
        deployment: req.deployment,
        vms: prepared.vms.map((name) => ({ name, state: states[name] ?? 'running' })),
        links: prepared.links,
        made: prepared.vms.filter((vm) => made.has(vm)),
      };
    });
  });
}

async function exec(req: AgentExecRequest, stateDir: string, emit: AgentOptions['emit']): Promise<AgentExecResult> {
  const applied = readApplied(stateDir, req.deployment);
  if (!applied) throw new OperationError(`deployment ${req.deployment} is not on host ${req.host}`);
  const driver = driverFor(applied.driver);
  const scenario = parseFragment(applied.fragmentXml, req.deployment, driver, req.vms);
  requireAgentRoot('exec');
  checkOwnerOf(stateDir, 'exec', req, emit);
  const ctx = driverContext(stateDir, req.deployment, emit);
  const states = readVmStates(stateDir, req.deployment);
  const wanted = req.vms ? new Set(req.vms) : undefined;
  const vms = scenario.vms.filter((v) => (!wanted || wanted.has(v.name)) && ctx.journal.configuredVms().has(v.name));
  const suspended = vms.filter((v) => states[v.name] === 'suspended').map((v) => v.name);
  const what = req.seq !== undefined ? `sequence ${req.seq}` : 'the command';
  if (suspended.length) throw new OperationError(`cannot run ${what}: VM(s) ${suspended.join(', ')} are suspended`);
  const files = labFileResolver(deploymentDir(stateDir, req.deployment), applied.files);
  const run = req.command ? { command: req.command } : { seq: req.seq! };
  const results = await driver.exec(ctx, { scenario, vms, run, files });
  return { deployment: req.deployment, ...(req.seq !== undefined ? { seq: req.seq } : {}), vms: results };
}

/** `ediv vm`: the action on each VM in turn (restart: stop, then start); a VM's failure is its own. */
async function vmLifeAction(req: VmActionRequest, stateDir: string, emit: AgentOptions['emit']): Promise<VmActionResult> {
  if (!readApplied(stateDir, req.deployment)) throw new OperationError(`deployment ${req.deployment} is not on host ${req.host}`);
  requireAgentRoot('vm');
  checkOwnerOf(stateDir, 'vm', req, emit);
  const steps: Exclude<VmAction, 'status'>[] = req.action === 'restart' ? ['stop', 'start'] : [req.action];
  const vms: VmActionResult['vms'] = [];
  for (const vm of req.vms) {
    try {
      const now = vmStates(stateDir, req.deployment)[vm];
      if (now === undefined) throw new OperationError(`VM ${vm} is not on host ${req.host}`);
      if (now === 'missing') throw new OperationError(`VM ${vm} is missing (its namespace is gone): redeploy it`);
      let state: VmState = now;
      for (const step of steps) state = (await vmAction(stateDir, req.deployment, vm, step)).state;
      vms.push({ name: vm, state });
    } catch (err) {
      vms.push({ name: vm, state: vmStates(stateDir, req.deployment)[vm] ?? 'missing', error: (err as Error).message });
    }
  }
  return { deployment: req.deployment, vms };
}

async function destroy(req: DestroyRequest, stateDir: string, emit: AgentOptions['emit']): Promise<DestroyResult> {
  const dir = deploymentDir(stateDir, req.deployment);
  if (!fs.existsSync(dir)) return { deployment: req.deployment, removed: [] };
  requireAgentRoot('destroy');
  return withLock(stateDir, async () => {
    checkOwnerOf(stateDir, 'destroy', req, emit);
    const ctx = driverContext(stateDir, req.deployment, emit);
    emit({ type: 'progress', step: 'destroy', message: `${ctx.journal.resources().length} journaled resource(s)` });
    const removed = await deploymentDriver(stateDir, req.deployment).destroy(ctx, req.vms);
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
  // A CPU sample: every VM's CPU time now and after sampleMs (one wait for all of them).
  const before = req.sampleMs ? new Map(deployments.map((d) => [d, vmUsages(stateDir, d)])) : undefined;
  const started = performance.now();
  if (req.sampleMs) await new Promise((r) => setTimeout(r, req.sampleMs));
  const seconds = (performance.now() - started) / 1000;
  return {
    loadAvg,
    host: hostUsage(),
    deployments: await Promise.all(
      deployments.map(async (d) => {
        const vms = vmsWithUsage(stateDir, d, before && { before: before.get(d)!, seconds });
        const who = labAndOwner(stateDir, d);
        if (!(req.detail && req.deployment)) return { name: d, ...who, vms };
        const links = await deploymentLinks(driverContext(stateDir, d).journal);
        return { name: d, ...who, vms: vms.map((v) => ({ ...v, links: links.vms[v.name] ?? [] })), nets: links.nets };
      }),
    ),
  };
}

/** A deployment's lab name, owner and backplane ids, where they are recorded (`ediv status --all` lists them). */
function labAndOwner(stateDir: string, deployment: string): Pick<StatusResult['deployments'][number], 'lab' | 'owner' | 'backplane'> {
  const applied = readApplied(stateDir, deployment);
  const owner = readOwner(stateDir, deployment);
  const backplane = applied?.backplane.map((b) => ({ kind: b.kind, id: b.id, net: b.net }));
  return { ...(applied?.lab ? { lab: applied.lab } : {}), ...(owner ? { owner } : {}), ...(backplane?.length ? { backplane } : {}) };
}

/** What each VM of a deployment uses now, where its driver counts it (the container driver: its cgroups). */
function vmUsages(stateDir: string, deployment: string): Record<string, VmUsage> {
  return deploymentDriver(stateDir, deployment).vmUsage?.(driverContext(stateDir, deployment)) ?? {};
}

/**
 * A deployment's VMs with their states and what they use; with `sample` (their usage `seconds`
 * ago), the CPU share used since.
 */
function vmsWithUsage(stateDir: string, deployment: string, sample?: { before: Record<string, VmUsage>; seconds: number }): StatusResult['deployments'][number]['vms'] {
  const usage = vmUsages(stateDir, deployment);
  return Object.entries(vmStates(stateDir, deployment)).map(([name, state]: [string, VmState]) => ({ name, state, ...roundUsage(usage[name], sample && { before: sample.before[name], seconds: sample.seconds }) }));
}

function roundUsage(u: VmUsage | undefined, sample?: { before: VmUsage | undefined; seconds: number }): VmUsage {
  const out: VmUsage = {};
  if (u?.cpuSeconds !== undefined) out.cpuSeconds = Math.round(u.cpuSeconds * 100) / 100;
  if (u?.memMB !== undefined) out.memMB = Math.round(u.memMB * 10) / 10;
  const cpu = cpuPercent(sample?.before?.cpuSeconds, u?.cpuSeconds, sample?.seconds);
  if (cpu !== undefined) out.cpuPercent = cpu;
  return out;
}

