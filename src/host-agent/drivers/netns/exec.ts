// Running exec sequences inside netns VMs. Each command's text is ONE argument to `sh -c` run
// inside the VM: `nsenter` into the holder's namespaces when the VM has one (private file
// views, own hostname), else `ip netns exec <ns>`. Output goes to files rather than pipes so
// that a daemon started by a command (keeping its stdout open) does not hold the command up.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperationError } from '../../../common/errors.ts';
import type { Exec, Filetree, Scenario, Vm } from '../../../scenario/model.ts';
import type { CommandOutcome } from '../../../protocol/agent.ts';
import { mustRun } from '../../sys.ts';
import { expandSeq, inSeq, type CmdSeqs } from '../../../scenario/sequences.ts';
import { namePattern, patternMatches } from '../../../protocol/lab-files.ts';
import type { ExecInput, LabFileResolver } from '../driver.ts';
import { traceCommand } from '../../../common/run.ts';

export type Step = { kind: 'filetree'; filetree: Filetree } | { kind: 'exec'; exec: Exec };

/** What running `seq` on a VM does: per expanded sequence, its filetrees, then its execs. */
export function vmSteps(vm: Vm, seq: string, cmdSeqs: CmdSeqs): Step[] {
  return expandSeq(seq, cmdSeqs, { file: 'fragment' }).flatMap((s) => [
    ...vm.filetrees.filter((f) => inSeq(f, s)).map((filetree): Step => ({ kind: 'filetree', filetree })),
    ...vm.execs.filter((e) => inSeq(e, s)).map((exec): Step => ({ kind: 'exec', exec })),
  ]);
}

/** How to enter a VM: argv prefix before the program to run in it. */
export function enterVm(netns: string, holderPid?: number): string[] {
  return holderPid ? ['nsenter', '-t', String(holderPid), '-n', '-m', '-u', '--'] : ['ip', 'netns', 'exec', netns];
}

/**
 * The argv of a one-off command in a VM (AgentExecRequest.command): one word is shell text for
 * the VM's `sh -c`, several are a program and its arguments.
 */
export function oneOffArgv(command: string[]): string[] {
  return command.length === 1 ? ['sh', '-c', command[0]!] : command;
}

/** Runs a one-off command (AgentExecRequest.command) inside the VM: its one outcome. */
export async function runOneOff(enter: string[], command: string[]): Promise<CommandOutcome[]> {
  return [await runArgvInVm(enter, oneOffArgv(command), command.join(' '))];
}

/** Runs `sh -c text` inside the VM and captures stdout, stderr and the exit status. */
export function runInVm(enter: string[], text: string): Promise<CommandOutcome> {
  return runArgvInVm(enter, ['sh', '-c', text], text);
}

/**
 * How much of one stream of one command the agent sends back. Everything a command prints
 * travels in the agent's one JSON result (and a sequence runs on every VM at once), so a
 * command that prints gigabytes must not make the agent read them.
 */
export const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
/** And of all the commands of one agent op together (runAgentOp resets it at the start of each op). */
export const MAX_OP_OUTPUT_BYTES = 16 * 1024 * 1024;
let opOutputLeft = MAX_OP_OUTPUT_BYTES;

/** The first bytes of a command's output file (within both bounds), with a note of what was left out. */
export function readOutput(file: string, max = MAX_OUTPUT_BYTES): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const allowed = Math.min(max, opOutputLeft);
    const buf = Buffer.alloc(Math.min(size, allowed));
    const got = buf.length ? fs.readSync(fd, buf, 0, buf.length, 0) : 0;
    opOutputLeft -= got;
    const text = buf.subarray(0, got).toString('utf8');
    if (size <= allowed) return text;
    const why = allowed < max ? ` (the agent's answer carries at most ${formatMB(MAX_OP_OUTPUT_BYTES)} of output in all)` : '';
    return `${text}\n[ediv: output truncated at ${formatMB(got)} of ${formatMB(size)}${why}]\n`;
  } finally {
    fs.closeSync(fd);
  }
}

/** A fresh op-wide output allowance: at the start of each op (an agent session runs several). */
export function resetOpOutputAllowance(): void {
  opOutputLeft = MAX_OP_OUTPUT_BYTES;
}

function formatMB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Runs `argv` inside the VM (after `enter`) and captures stdout, stderr and the exit status. */
export async function runArgvInVm(enter: string[], argv: string[], label = argv.join(' ')): Promise<CommandOutcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-exec-'));
  try {
    const out = fs.openSync(path.join(dir, 'out'), 'w');
    const err = fs.openSync(path.join(dir, 'err'), 'w');
    traceCommand([...enter, ...argv]);
    const child = spawn(enter[0]!, [...enter.slice(1), ...argv], { stdio: ['ignore', out, err] });
    fs.closeSync(out);
    fs.closeSync(err);
    const exitCode = await new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
    return {
      command: label,
      stdout: readOutput(path.join(dir, 'out')),
      stderr: readOutput(path.join(dir, 'err')),
      exitCode,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The command text of an exec: verbatim text, or the content of the named script file (a lab file). */
export function execText(e: Exec, files: LabFileResolver): string {
  if (e.type === 'verbatim') return e.text;
  const file = files(e.text.trim());
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new OperationError(`exec file ${e.text.trim()} (sequence ${e.seq}) cannot be read: ${(err as Error).message}`);
  }
}

/** Source entries of a filetree (lab files): a directory's contents, a file, or a `dir/*`-style pattern. */
export function filetreeSources(f: Filetree, files: LabFileResolver): string[] {
  const src = files(f.source.trim());
  const re = namePattern(path.basename(src));
  if (re) {
    const dir = path.dirname(src);
    return patternMatches(fs.readdirSync(dir), re).map((n) => path.join(dir, n));
  }
  if (!fs.existsSync(src)) throw new OperationError(`filetree source ${f.source.trim()} (sequence ${f.seq}) is not among the lab files`);
  if (fs.statSync(src).isDirectory()) return fs.readdirSync(src).sort().map((n) => path.join(src, n));
  return [src];
}

/** Copies a filetree into the VM's private view (inside its mount namespace). */
export async function copyFiletree(holderPid: number, f: Filetree, files: LabFileResolver): Promise<CommandOutcome> {
  const sources = filetreeSources(f, files);
  const enter = ['nsenter', '-t', String(holderPid), '-m', '--'];
  const label = `filetree ${f.source} -> ${f.root}`;
  try {
    await mustRun(enter[0], [...enter.slice(1), 'mkdir', '-p', '--', f.root]);
    if (sources.length) await mustRun(enter[0], [...enter.slice(1), 'cp', '-R', '--', ...sources, f.root + '/']);
    const copied = sources.map((s) => path.posix.join(f.root, path.basename(s)));
    if (f.perms && copied.length) await mustRun(enter[0], [...enter.slice(1), 'chmod', '-R', '--', f.perms, ...copied]);
    const owner = f.user ? `${f.user}${f.group ? `:${f.group}` : ''}` : f.group ? `:${f.group}` : undefined;
    if (owner && copied.length) await mustRun(enter[0], [...enter.slice(1), 'chown', '-R', '--', owner, ...copied]);
    return { command: label, stdout: '', stderr: '', exitCode: 0 };
  } catch (err) {
    return { command: label, stdout: '', stderr: (err as Error).message, exitCode: 1 };
  }
}

export interface VmTarget {
  vm: Vm;
  netns: string;
  holderPid?: number;
}

/** Runs a sequence (step by step) or a one-off command on one VM, collecting each command's outcome. */
export async function execOnVm(t: VmTarget, scenario: Scenario, run: ExecInput['run'], files: LabFileResolver): Promise<CommandOutcome[]> {
  const enter = enterVm(t.netns, t.holderPid);
  if ('command' in run) return runOneOff(enter, run.command);
  const outcomes: CommandOutcome[] = [];
  for (const step of vmSteps(t.vm, run.seq, scenario.cmdSeqs)) {
    if (step.kind === 'filetree') {
      if (!t.holderPid) throw new OperationError(`VM ${t.vm.name} has no private file-system view for filetrees`);
      outcomes.push(await copyFiletree(t.holderPid, step.filetree, files));
    } else {
      outcomes.push(await runInVm(enter, execText(step.exec, files)));
    }
  }
  return outcomes;
}
