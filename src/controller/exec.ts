// `ediv exec`: run a command sequence of a deployed scenario on the hosts whose fragment has
// it (cmd-seq expanded), or a one-off command on the VMs chosen, gathering each VM's
// per-command output and exit status. A failed command or host makes the report ok: false,
// with the typed error.
import { CommandFailedError, HostFailedError, InputError, OperationError } from '../common/errors.ts';
import type { AgentExecResult, CommandOutcome } from '../protocol/agent.ts';
import type { Scenario } from '../scenario/model.ts';
import type { Plan } from '../protocol/plan.ts';
import type { Progress } from './progress.ts';
import { hostFailure, type HostFailure } from './host-failure.ts';
import { settleAll, type HostSessions } from './sessions.ts';
import type { StateStore } from '../state/store.ts';
import { labFields } from './owners.ts';
import { checkTargets } from './target-filter.ts';
import { expandSeq, mergeCmdSeqs, seqNames, type CmdSeqs } from '../scenario/sequences.ts';

/** A sequence (`seq`) or a one-off command (`command`: see AgentExecRequest.command). */
export interface ExecRequest {
  name: string;
  seq?: string;
  command?: string[];
  vms?: string[];
  hosts?: string[];
  /** --force: run even where a host records another owner's deployment (logged there). */
  force?: boolean;
}

export interface ExecReport {
  ok: boolean;
  scenario: string;
  /** The sequence run; absent for a one-off command. */
  seq?: string;
  command?: string[];
  vms: { vm: string; host: string; commands: CommandOutcome[] }[];
  failedHosts: HostFailure[];
  /** When not ok: HostFailedError when a host failed, else CommandFailedError. */
  error?: OperationError;
}

/** VMs of a fragment that have something to do for `seq` (an exec or a filetree). */
export function vmsWithSeq(fragment: Scenario, seq: string, cmdSeqs: CmdSeqs): string[] {
  const leaves = new Set(expandSeq(seq, mergeCmdSeqs(cmdSeqs, fragment.cmdSeqs), { file: `scenario ${fragment.name}` }));
  return fragment.vms
    .filter((vm) => [...vm.execs, ...vm.filetrees].some((x) => seqNames(x.seq).some((q) => leaves.has(q))))
    .map((vm) => vm.name);
}

/**
 * host → VMs to run on, after the --vm/--host filters: for a sequence, the VMs that have it
 * (InputError for an unknown one); for a one-off command, every VM.
 */
export function execTargets(plan: Plan, req: ExecRequest): Map<string, string[]> {
  if (req.command) return oneOffTargets(plan, req);
  const seq = req.seq!;
  const cmdSeqs = mergeCmdSeqs(...Object.values(plan.hosts).map((hp) => hp.fragment?.cmdSeqs));
  const targets = new Map<string, string[]>();
  let anywhere = false;
  for (const hp of Object.values(plan.hosts)) {
    let vms = vmsWithSeq(hp.fragment, seq, cmdSeqs);
    if (vms.length > 0) anywhere = true;
    if (req.hosts && !req.hosts.includes(hp.host)) continue;
    if (req.vms) vms = vms.filter((v) => req.vms!.includes(v));
    if (vms.length > 0) targets.set(hp.host, vms);
  }
  if (!anywhere) {
    throw InputError.commandLine(undefined, `sequence ${JSON.stringify(seq)} is not defined in scenario ${req.name}` + knownSeqs(plan));
  }
  return targets;
}

function oneOffTargets(plan: Plan, req: ExecRequest): Map<string, string[]> {
  const targets = new Map<string, string[]>();
  for (const hp of Object.values(plan.hosts)) {
    if (req.hosts && !req.hosts.includes(hp.host)) continue;
    const vms = hp.vms.filter((v) => !req.vms || req.vms.includes(v));
    if (vms.length > 0) targets.set(hp.host, vms);
  }
  return targets;
}

function knownSeqs(plan: Plan): string {
  const all = new Set<string>();
  for (const hp of Object.values(plan.hosts)) {
    for (const vm of hp.fragment?.vms ?? []) for (const x of [...vm.execs, ...vm.filetrees]) for (const q of seqNames(x.seq)) all.add(q);
    for (const s of hp.fragment?.cmdSeqs.keys() ?? []) all.add(s);
  }
  return all.size > 0 ? ` (known: ${[...all].sort().join(', ')})` : ' (it defines no sequences)';
}

export async function execScenario(
  req: ExecRequest,
  deps: { store: StateStore; sessions: HostSessions; progress: Progress },
): Promise<ExecReport> {
  const { store, sessions, progress } = deps;
  const rec = await store.requireScenario(req.name);
  if (rec.status !== 'running') {
    throw new OperationError(`scenario ${req.name} is ${rec.status}, not running`);
  }
  const plan = await store.plan(req.name);
  checkTargets({ vms: req.vms }, { vms: Object.keys(plan.mapping), unknownVm: `no such VM in ${req.name}` });
  const targets = execTargets(plan, req);
  const byName = new Map((await store.cluster(req.name)).hosts.map((h) => [h.name, h]));
  const results = await settleAll([...targets], async ([host, vms]) => {
    const what = req.command ? { command: req.command } : { seq: req.seq };
    const res = await sessions.run<AgentExecResult>(byName.get(host)!, 'exec', { ...labFields(rec, req.force), host, ...what, vms }, progress);
    progress.host(host, 'done');
    return res;
  });
  const report: ExecReport = { ok: true, scenario: req.name, ...(req.command ? { command: req.command } : { seq: req.seq }), vms: [], failedHosts: [] };
  for (const r of results) {
    const [host] = r.item;
    if (!r.ok) {
      report.failedHosts.push(hostFailure(host, r.error));
      continue;
    }
    for (const vm of r.value.vms) report.vms.push({ vm: vm.name, host, commands: vm.commands });
  }
  report.vms.sort((a, b) => a.vm.localeCompare(b.vm));
  report.error = execError(report);
  report.ok = report.error === undefined;
  progress.done();
  return report;
}

/** Why an exec failed: a host first, else the commands that exited non-zero; undefined when none did. */
function execError(r: ExecReport): OperationError | undefined {
  if (r.failedHosts.length > 0) {
    return new HostFailedError(`exec ${execLabel(r)} failed on ${r.failedHosts.map((f) => f.host).join(', ')}`, { host: r.failedHosts[0]!.host });
  }
  const failed = r.vms.flatMap((v) => v.commands.filter((c) => c.exitCode !== 0).map(() => v.vm));
  if (failed.length === 0) return undefined;
  return new CommandFailedError(`exec ${execLabel(r)}: ${failed.length} command(s) failed (in ${[...new Set(failed)].join(', ')})`);
}

/** What an exec ran, for messages: the sequence, or the one-off command (shortened). */
function execLabel(r: Pick<ExecReport, 'seq' | 'command'>): string {
  if (r.seq !== undefined) return r.seq;
  const text = (r.command ?? []).join(' ');
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}
