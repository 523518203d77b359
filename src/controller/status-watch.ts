// `ediv status` as one call: the status report once, or (watching) again every interval until
// the signal aborts. A refresh that fails is passed to onError and the watch goes on.
import { accessibleLab, withContext, type CommonOptions } from './command-context.ts';
import { callerOf } from './owners.ts';
import { silentProgress } from './progress.ts';
import { scenarioStatus, type StatusReport } from './status.ts';
import { cpuPercent } from '../protocol/agent.ts';

export interface StatusCommand extends CommonOptions {
  name?: string;
  /** --all: every lab on the cluster (an administrator's view; others see their own, and what the hosts hold). */
  all?: boolean;
  /** Refresh every this many ms; 0: once. */
  intervalMs: number;
  /** Measure each VM's CPU use over this many ms (the hosts wait that long before answering). */
  sampleMs?: number;
}

export interface StatusView {
  show(report: StatusReport): void;
  /** A refresh that failed while watching (the first report's failure is thrown). */
  error(err: unknown): void;
  /** Ends the watch. */
  signal?: AbortSignal;
}

export async function statusCommand(cmd: StatusCommand, view: StatusView): Promise<void> {
  await withContext(cmd, async (ctx) => {
    if (cmd.name) await accessibleLab(ctx, cmd.name);
    const caller = callerOf(ctx.owner, ctx.clusterFile);
    const request = { name: cmd.name, caller, all: cmd.all, cluster: ctx.clusterFile, ...(cmd.sampleMs ? { sampleMs: cmd.sampleMs } : {}) };
    let last: { report: StatusReport; at: number } | undefined;
    const once = async (): Promise<void> => {
      const report = await scenarioStatus(request, { store: ctx.store, sessions: ctx.sessions, progress: silentProgress });
      const at = performance.now();
      // Watching without --sample: each VM's CPU share since the refresh before.
      if (last && !cmd.sampleMs) withCpuSince(report, last.report, (at - last.at) / 1000);
      last = { report, at };
      view.show(report);
    };
    await once();
    if (!cmd.intervalMs) return;
    while (await sleep(cmd.intervalMs, view.signal)) await once().catch((err: unknown) => view.error(err));
  });
}

/** Sets each VM's cpuPercent (where not sampled) from its CPU time now and in `before`, `seconds` earlier. */
export function withCpuSince(report: StatusReport, before: StatusReport, seconds: number): void {
  const was = new Map(before.scenarios.flatMap((s) => s.vms.map((v) => [`${s.name}\0${v.vm}\0${v.host}`, v.cpuSeconds] as const)));
  for (const s of report.scenarios) {
    for (const v of s.vms) {
      if (v.cpuPercent !== undefined) continue;
      const cpu = cpuPercent(was.get(`${s.name}\0${v.vm}\0${v.host}`), v.cpuSeconds, seconds);
      if (cpu !== undefined) v.cpuPercent = cpu;
    }
  }
}

/** Waits `ms`; false as soon as the signal aborts (at once when it already has). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve(true);
    }, ms);
    function stop(): void {
      clearTimeout(timer);
      resolve(false);
    }
    signal?.addEventListener('abort', stop, { once: true });
  });
}
