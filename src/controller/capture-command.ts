// `ediv capture LAB NET [--host H] [-c N] [-w FILE]`: the packets of one net of a running lab on
// one host (tcpdump on the net's bridge there, `ediv agent capture`), streamed back over the
// host's SSH connection as pcap: to a file, or to stdout for `| wireshark -k -i -`.
import { Readable } from 'node:stream';
import { InputError } from '../common/errors.ts';
import type { CaptureRequest } from '../protocol/agent.ts';
import type { CommonOptions } from './command-context.ts';
import { labHost, streamOnHost } from './lab-host-stream.ts';

export interface CaptureCommand extends CommonOptions {
  name: string;
  net: string;
  host?: string;
  count?: number;
}

/** The hosts that carry `net` in a recorded plan (their fragments have it). */
export function netHosts(plan: { hosts: Record<string, { host: string; fragment: { nets: { name: string }[] } }> }, net: string): string[] {
  return Object.values(plan.hosts)
    .filter((hp) => hp.fragment.nets.some((n) => n.name === net))
    .map((hp) => hp.host);
}

/** Captures until the count is reached, the stream's reader goes away or `signal` aborts; resolves with tcpdump's exit status. */
export async function captureCommand(cmd: CaptureCommand, out: NodeJS.WritableStream, say: (line: string) => void, signal?: AbortSignal): Promise<number> {
  const { host, lab } = await labHost(cmd, cmd.name, (plan) => {
    const carriers = netHosts(plan, cmd.net);
    if (carriers.length === 0) throw InputError.commandLine(undefined, `no net ${cmd.net} in ${cmd.name}`);
    if (cmd.host !== undefined && !carriers.includes(cmd.host)) throw InputError.commandLine('--host', `net ${cmd.net} of ${cmd.name} is on ${carriers.join(', ')}, not ${cmd.host}`);
    if (cmd.host === undefined && carriers.length > 1) say(`capturing ${cmd.net} on ${carriers[0]} (it is on ${carriers.join(', ')}: --host chooses)`);
    return cmd.host ?? carriers[0]!;
  });
  const request: CaptureRequest = { ...lab, host: host.name, net: cmd.net, ...(cmd.count ? { count: cmd.count } : {}) };
  try {
    const r = await streamOnHost(cmd, host, 'capture', request, { stdin: Readable.from([]), stdout: out, stderr: process.stderr }, signal);
    return signal?.aborted ? 0 : (r.exitCode ?? 0);
  } catch (err) {
    if (signal?.aborted) return 0; // stopped by the user: the capture so far is the result
    throw err;
  }
}
