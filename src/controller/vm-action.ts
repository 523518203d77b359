// `ediv vm start|stop|restart|suspend|resume LAB VM...`: a life-cycle action on VMs of a
// deployed scenario, over each host's SSH connection (the agent's `vm` op: the same semantics
// as the UPnP SOAP actions). The VMs are grouped by their host; hosts act in parallel.
import { HostFailedError, InputError, OperationError } from '../common/errors.ts';
import type { VmActionResult, VmLifeAction, VmState } from '../protocol/agent.ts';
import { accessibleLab, withContext, type CommonOptions } from './command-context.ts';
import { labFields } from './owners.ts';
import { hostFailure, type HostFailure } from './host-failure.ts';
import { settleAll } from './sessions.ts';

export interface VmActionCommand extends CommonOptions {
  name: string;
  action: VmLifeAction;
  vms: string[];
  force?: boolean;
}

export interface VmActionReport {
  ok: boolean;
  scenario: string;
  action: VmLifeAction;
  vms: { vm: string; host: string; state: VmState; error?: string }[];
  failedHosts: HostFailure[];
  error?: OperationError;
}

export async function vmActionCommand(cmd: VmActionCommand): Promise<VmActionReport> {
  return withContext(cmd, async (ctx) => {
    const { store, sessions, progress } = ctx;
    const rec = await accessibleLab(ctx, cmd.name);
    if (rec.status !== 'running') throw new OperationError(`scenario ${cmd.name} is ${rec.status}, not running`);
    const { mapping } = await store.plan(cmd.name);
    const unknown = cmd.vms.filter((vm) => !Object.hasOwn(mapping, vm));
    if (unknown.length) throw InputError.commandLine(undefined, `no such VM in ${cmd.name}: ${unknown.join(', ')} (its VMs: ${Object.keys(mapping).sort().join(', ')})`);
    const byHost = new Map<string, string[]>();
    for (const vm of new Set(cmd.vms)) byHost.set(mapping[vm]!, [...(byHost.get(mapping[vm]!) ?? []), vm]);
    const hosts = new Map((await store.cluster(cmd.name)).hosts.map((h) => [h.name, h]));
    const results = await settleAll([...byHost], ([host, vms]) =>
      sessions.run<VmActionResult>(hosts.get(host)!, 'vm', { ...labFields(rec, cmd.force), host, action: cmd.action, vms }, progress),
    );
    const report: VmActionReport = { ok: true, scenario: cmd.name, action: cmd.action, vms: [], failedHosts: [] };
    for (const r of results) {
      const [host] = r.item;
      if (!r.ok) report.failedHosts.push(hostFailure(host, r.error));
      else for (const v of r.value.vms) report.vms.push({ vm: v.name, host, state: v.state, ...(v.error ? { error: v.error } : {}) });
    }
    report.vms.sort((a, b) => a.vm.localeCompare(b.vm));
    const failedVms = report.vms.filter((v) => v.error);
    if (report.failedHosts.length) report.error = new HostFailedError(`vm ${cmd.action} failed on ${report.failedHosts.map((f) => f.host).join(', ')}`, { host: report.failedHosts[0]!.host });
    else if (failedVms.length) report.error = new OperationError(`vm ${cmd.action}: ${failedVms.map((v) => `${v.vm}: ${v.error}`).join('; ')}`);
    report.ok = report.error === undefined;
    progress.done();
    return report;
  });
}
