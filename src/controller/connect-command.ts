// `ediv connect LAB VM [-- CMD...]`: a shell (or one command) inside a VM, wherever it runs:
// over the VM's host's SSH connection, on a pseudo-terminal when the user is at one (window size
// and its changes passed on; Ctrl-C goes to the VM's program, not to ediv), the exit status of
// the VM's program passed through. The request is one base64 argument of `ediv agent connect`.
import { InputError } from '../common/errors.ts';
import type { InteractiveIo } from '../transport/index.ts';
import type { CommonOptions } from './command-context.ts';
import { labHost, streamOnHost } from './lab-host-stream.ts';

export interface ConnectCommand extends CommonOptions {
  name: string;
  vm: string;
  /** A command instead of the VM's login shell (as `exec --`: one word is shell text). */
  command?: string[];
  force?: boolean;
}

/** Connects; resolves with the exit status of the VM's program. */
export async function connectCommand(cmd: ConnectCommand, io: InteractiveIo): Promise<number> {
  const { host, lab } = await labHost(cmd, cmd.name, ({ mapping }) => {
    const h = mapping[cmd.vm];
    if (h === undefined) throw InputError.commandLine(undefined, `no such VM in ${cmd.name}: ${cmd.vm} (its VMs: ${Object.keys(mapping).sort().join(', ')})`);
    return h;
  });
  const request = { ...lab, host: host.name, vm: cmd.vm, ...(cmd.command ? { command: cmd.command } : {}) };
  return (await streamOnHost(cmd, host, 'connect', request, io)).exitCode ?? 128;
}
