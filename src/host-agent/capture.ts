// `ediv agent capture <request>`: the packets of a lab net on this host, as a pcap stream on
// stdout (tcpdump on the net's bridge, each packet written as it comes: -U). Its messages go to
// stderr. The bridge's name comes from the journal (a managed="no" net's is the host's own).
import { spawn } from 'node:child_process';
import { OperationError } from '../common/errors.ts';
import type { CaptureRequest } from '../protocol/agent.ts';
import { decodeArgRequest, warnOnStderr } from './arg-request.ts';
import { checkOwner } from './owner.ts';
import { bridgeKey } from './drivers/netns/desired.ts';
import { driverContext } from './inventory.ts';
import { readApplied } from './store.ts';
import { listLinks } from './sys.ts';

export function decodeCaptureRequest(arg: string | undefined): CaptureRequest {
  return decodeArgRequest<CaptureRequest>('capture', arg);
}

/** Captures; resolves with tcpdump's exit code. */
export async function capture(req: CaptureRequest, stateDir: string): Promise<number> {
  if (!readApplied(stateDir, req.deployment)) throw new OperationError(`deployment ${req.deployment} is not on host ${req.host}`);
  checkOwner(stateDir, 'capture', req, warnOnStderr('capture'));
  const journaled = driverContext(stateDir, req.deployment).journal.get(bridgeKey(req.net))?.name;
  const bridge = journaled ?? ((await listLinks()).get(req.net)?.kind === 'bridge' ? req.net : undefined);
  if (!bridge) throw new OperationError(`net ${req.net} of ${req.deployment} has no bridge on host ${req.host}`);
  const argv = ['-i', bridge, '-U', '-w', '-', ...(req.count ? ['-c', String(req.count)] : [])];
  const child = spawn('tcpdump', argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => {
    child.once('error', () => {
      process.stderr.write('tcpdump is not installed on this host (Debian package tcpdump)\n');
      resolve(127);
    });
    child.once('exit', (code) => resolve(code ?? 0));
  });
}
