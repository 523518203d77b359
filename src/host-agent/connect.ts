// `ediv agent connect <request>`: a shell (or one command) inside a VM, joined to the agent's
// own stdin/stdout/stderr — over SSH, the pseudo-terminal the controller asked for. The VM is
// entered the way its driver runs exec commands (Driver.enter); the exit status is the VM
// program's. The request comes as one base64 argument, because stdin is the user's terminal.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { OperationError } from '../common/errors.ts';
import type { ConnectRequest } from '../protocol/agent.ts';
import { driverFor } from './drivers/registry.ts';
import { oneOffArgv } from './drivers/netns/exec.ts';
import { parseFragment } from './fragment.ts';
import { driverContext } from './inventory.ts';
import { readApplied, readVmStates } from './store.ts';
import { decodeArgRequest, warnOnStderr } from './arg-request.ts';
import { checkOwner } from './owner.ts';

/** What runs when no command is given: the VM's bash as a login shell, else its sh. */
const LOGIN_SHELL = ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l'];

export function decodeConnectRequest(arg: string | undefined): ConnectRequest {
  return decodeArgRequest<ConnectRequest>('connect', arg);
}

/** Runs the VM program with this process's stdio; resolves with its exit code. */
export async function connect(req: ConnectRequest, stateDir: string): Promise<number> {
  const applied = readApplied(stateDir, req.deployment);
  if (!applied) throw new OperationError(`deployment ${req.deployment} is not on host ${req.host}`);
  checkOwner(stateDir, 'connect', req, warnOnStderr('connect'));
  const driver = driverFor(applied.driver);
  const vm = parseFragment(applied.fragmentXml, req.deployment, driver, [req.vm]).vms.find((v) => v.name === req.vm);
  if (!vm) throw new OperationError(`VM ${req.vm} is not on host ${req.host}`);
  const state = readVmStates(stateDir, req.deployment)[req.vm];
  if (state === 'suspended' || state === 'stopped') throw new OperationError(`VM ${req.vm} is ${state} (ediv vm ${state === 'stopped' ? 'start' : 'resume'} it first)`);
  const argv = [...driver.enter(driverContext(stateDir, req.deployment), vm), ...(req.command ? oneOffArgv(req.command) : LOGIN_SHELL)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}
