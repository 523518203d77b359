// Running exec sequences in container VMs. Each command's text is ONE argument to `sh -c` run
// inside the VM (its namespaces, root, cgroups and capability bounding set). A filetree is
// streamed into the VM as a tar archive and unpacked by the VM's own tar, inside its root: a
// path in the VM (a symbolic link the VM made, say) can never lead outside it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { CommandOutcome } from '../../../protocol/agent.ts';
import type { Filetree, Scenario, Vm } from '../../../scenario/model.ts';
import { execText, filetreeSources, runInVm, runOneOff, vmSteps } from '../netns/exec.ts';
import { enterMachine } from './machine.ts';
import { run } from '../../sys.ts';
import type { ExecInput, LabFileResolver } from '../driver.ts';
import { traceCommand } from '../../../common/run.ts';

export interface ContainerTarget {
  vm: Vm;
  /** Host pid of the VM's PID 1. */
  pid: number;
  cgroupProcs: string[];
}

// In the VM: $1 = destination directory; the archive on stdin.
const UNPACK_SCRIPT = 'set -e; mkdir -p -- "$1"; tar -x -f - -C "$1" --no-same-owner';

/** Copies a filetree into the VM: tar on the host side, tar inside the VM. */
export async function copyFiletreeIntoVm(t: ContainerTarget, f: Filetree, files: LabFileResolver): Promise<CommandOutcome> {
  const label = `filetree ${f.source} -> ${f.root}`;
  try {
    const sources = filetreeSources(f, files);
    const enter = enterMachine(t.pid, t.cgroupProcs);
    if (sources.length) await pipeTar(sources, [...enter, 'sh', '-c', UNPACK_SCRIPT, 'ediv-unpack', f.root]);
    else await pipeTar([], [...enter, 'mkdir', '-p', '--', f.root]);
    const copied = sources.map((s) => path.posix.join(f.root, path.basename(s)));
    const owner = f.user ? `${f.user}${f.group ? `:${f.group}` : ''}` : f.group ? `:${f.group}` : undefined;
    for (const [cmd, arg] of [['chmod', f.perms], ['chown', owner]] as const) {
      if (!arg || copied.length === 0) continue;
      const r = await run(enter[0]!, [...enter.slice(1), cmd, '-R', '--', arg, ...copied]);
      if (r.exitCode !== 0) return { command: label, stdout: '', stderr: r.stderr, exitCode: r.exitCode };
    }
    return { command: label, stdout: '', stderr: '', exitCode: 0 };
  } catch (err) {
    return { command: label, stdout: '', stderr: (err as Error).message, exitCode: 1 };
  }
}

/** `tar -c` of the sources (by their base names) piped into `argv`; rejects with stderr on failure. */
function pipeTar(sources: string[], argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    traceCommand(argv);
    const sink = spawn(argv[0]!, argv.slice(1), { stdio: [sources.length ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    sink.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    let tarErr = '';
    if (sources.length) {
      const groups = new Map<string, string[]>();
      for (const s of sources) groups.set(path.dirname(s), [...(groups.get(path.dirname(s)) ?? []), path.basename(s)]);
      const args = ['-c', '-f', '-', ...[...groups].flatMap(([dir, names]) => ['-C', dir, '--', ...names])];
      traceCommand(['tar', ...args]);
      const tar = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      tar.stderr!.on('data', (b: Buffer) => (tarErr += b.toString()));
      tar.stdout!.pipe(sink.stdin!);
      tar.on('error', (e) => reject(e));
    }
    sink.on('error', (e) => reject(e));
    sink.on('exit', (code) => (code === 0 ? resolve() : reject(new Error((tarErr + err).trim() || `exit ${code}`))));
  });
}

/** Runs a sequence (step by step) or a one-off command on one VM, collecting each command's outcome. */
export async function runContainerSteps(t: ContainerTarget, scenario: Scenario, run: ExecInput['run'], files: LabFileResolver): Promise<CommandOutcome[]> {
  const enter = enterMachine(t.pid, t.cgroupProcs);
  if ('command' in run) return runOneOff(enter, run.command);
  const outcomes: CommandOutcome[] = [];
  for (const step of vmSteps(t.vm, run.seq, scenario.cmdSeqs)) {
    if (step.kind === 'filetree') outcomes.push(await copyFiletreeIntoVm(t, step.filetree, files));
    else outcomes.push(await runInVm(enter, execText(step.exec, files)));
  }
  return outcomes;
}
