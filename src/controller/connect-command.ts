// `ediv connect LAB VM [-- CMD...]`: a shell (or one command) inside a VM, wherever it runs:
// over the VM's host's SSH connection, on a pseudo-terminal when the user is at one (window size
// and its changes passed on; Ctrl-C goes to the VM's program, not to ediv), the exit status of
// the VM's program passed through. The request is one base64 argument of `ediv agent connect`.
import { InputError, OperationError } from '../common/errors.ts';
import { encodeArgRequest, type ConnectRequest } from '../protocol/agent.ts';
import { openTransport, type InteractiveIo } from '../transport/index.ts';
import { agentArgv } from '../transport/agent-run.ts';
import { stateDirOf, type CommonOptions } from './command-context.ts';
import { StateStore } from './state.ts';

export interface ConnectCommand extends CommonOptions {
  name: string;
  vm: string;
  /** A command instead of the VM's login shell (as `exec --`: one word is shell text). */
  command?: string[];
}

/** Connects; resolves with the exit status of the VM's program. */
export async function connectCommand(cmd: ConnectCommand, io: InteractiveIo): Promise<number> {
  const store = StateStore.open(stateDirOf(cmd));
  let host;
  try {
    const rec = store.requireScenario(cmd.name);
    if (rec.status !== 'running') throw new OperationError(`scenario ${cmd.name} is ${rec.status}, not running`);
    const { mapping } = store.plan(cmd.name);
    const hostName = mapping[cmd.vm];
    if (hostName === undefined) throw InputError.commandLine(undefined, `no such VM in ${cmd.name}: ${cmd.vm} (its VMs: ${Object.keys(mapping).sort().join(', ')})`);
    host = store.cluster(cmd.name).hosts.find((h) => h.name === hostName)!;
  } finally {
    store.close();
  }
  const request: ConnectRequest = { deployment: cmd.name, host: host.name, vm: cmd.vm, ...(cmd.command ? { command: cmd.command } : {}) };
  const transport = await openTransport(host, { acceptNewHostKeys: Boolean(cmd.acceptNewHostKeys) });
  try {
    const r = await transport.interactive([...agentArgv(host, 'connect'), encodeArgRequest(request)], io);
    return r.exitCode ?? 128;
  } finally {
    await transport.close();
  }
}
