// `ediv cluster up|down|status`: the emulated cluster (N hosts on this machine, each a network
// namespace with its own sshd). `ediv cluster check` comes from ./cluster-check.ts when present.
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import {
  clusterDown,
  clusterStatus,
  clusterUp,
  defaultClusterDir,
} from '../emulated/cluster.ts';
import type { ClusterStatus } from '../emulated/cluster.ts';
import { EMULATED } from '../emulated/layout.ts';
import { progressFor } from '../controller/progress.ts';
import { action, printJson } from './output.ts';

interface CommonOpts {
  instance?: string;
  dir?: string;
  json?: boolean;
}

function intOption(name: string, value: string | undefined, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < min || n > max) {
    throw InputError.at('<command line>', undefined, undefined, `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value ?? '')})`);
  }
  return n;
}

function instanceOf(o: CommonOpts): number {
  return intOption('--instance', o.instance, 0, EMULATED.maxInstance, 0);
}

function progressReporter(json: boolean | undefined) {
  const progress = progressFor({ json });
  return {
    progress,
    onProgress: (message: string, host?: string) => (host ? progress.host(host, message) : progress.info(message)),
  };
}

function statusJson(s: ClusterStatus) {
  return {
    instance: s.instance,
    up: s.up,
    hosts: s.hosts.map((h) => ({ name: h.name, address: h.address, netns: h.netns, up: h.up, sshd: h.sshd })),
    mgmtInterface: s.mgmtInterface,
    controllerAddress: s.controllerAddress,
    clusterFile: s.clusterFile,
    dir: s.dir,
    backplane: s.backplane,
  };
}

function statusText(s: ClusterStatus): string {
  if (s.hosts.length === 0) return `no emulated cluster instance ${s.instance} (looked in ${s.dir})\n`;
  const lines = [
    `emulated cluster instance ${s.instance}: ${s.up ? 'up' : 'NOT fully up'}`,
    `  switch ${s.mgmtInterface} (controller ${s.controllerAddress}), backplane ${s.backplane ?? '?'}`,
    `  cluster file ${s.clusterFile}`,
    ...s.hosts.map(
      (h) => `  ${h.name.padEnd(8)} ${h.address.padEnd(15)} ${h.netns.padEnd(14)} ${h.up ? 'up' : 'DOWN'}${h.sshd ? `  sshd ${h.sshd}` : '  no sshd'}`,
    ),
  ];
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('Manage the emulated cluster: N hosts on this machine (network namespaces with their own sshd).');

  cluster
    .command('up')
    .summary('build an emulated cluster of N hosts on this machine (root)')
    .description(
      'Build an emulated cluster of N hosts on this machine (needs root): a network namespace per host ' +
        'with its own management address and OpenSSH server, a bridge as the cluster switch, generated ' +
        'keys and a pinned known_hosts, and a cluster file every command can use. A no-op when it is ' +
        'already up with N hosts.',
    )
    .requiredOption('--local <N>', `number of hosts (1-${EMULATED.maxHosts})`)
    .option('--instance <K>', `instance number 0-${EMULATED.maxInstance} (separate bridge, subnet, namespaces)`, '0')
    .option('--dir <D>', `where keys, cluster file and manifest go (default ${defaultClusterDir(0)}[-K])`)
    .option('--json', 'print the result as JSON (progress as JSON lines on stderr)')
    .action(
      action(async (o: CommonOpts & { local?: string }) => {
        const hosts = intOption('--local', o.local, 1, EMULATED.maxHosts);
        const instance = instanceOf(o);
        const { progress, onProgress } = progressReporter(o.json);
        const r = await clusterUp({ hosts, instance, dir: o.dir, onProgress }).finally(() => progress.done());
        if (o.json) printJson({ ...statusJson(r), alreadyUp: r.alreadyUp });
        else process.stdout.write((r.alreadyUp ? 'already up\n' : '') + statusText(r));
      }),
    );

  cluster
    .command('down')
    .summary('remove the emulated cluster (root)')
    .description('Remove the emulated cluster: sshd processes, namespaces, links, bridge and generated files (needs root).')
    .option('--instance <K>', 'instance number', '0')
    .option('--dir <D>', 'cluster directory, if not the default')
    .option('--json', 'print what was removed as JSON')
    .action(
      action(async (o: CommonOpts) => {
        const { progress, onProgress } = progressReporter(o.json);
        const r = await clusterDown({ instance: instanceOf(o), dir: o.dir, onProgress }).finally(() => progress.done());
        if (o.json) printJson({ ok: true, ...r });
        else process.stdout.write(r.removed.length ? `removed ${r.removed.length} items of the emulated cluster\n` : 'nothing to remove\n');
      }),
    );

  cluster
    .command('status')
    .summary('show the emulated cluster')
    .description('Show the emulated cluster: hosts, addresses, whether each sshd answers. Exit 1 when not fully up.')
    .option('--instance <K>', 'instance number', '0')
    .option('--dir <D>', 'cluster directory, if not the default')
    .option('--json', 'print {"hosts":[{"name","address","up","sshd"}],"mgmtInterface","clusterFile",...}')
    .action(
      action(async (o: CommonOpts) => {
        const s = await clusterStatus({ instance: instanceOf(o), dir: o.dir });
        if (o.json) printJson(statusJson(s));
        else process.stdout.write(statusText(s));
        return s.up ? 0 : 1;
      }),
    );

  registerOptionalCheck(cluster);
}

// `cluster check` lives in its own module (controller side); the command works without it.
type CheckModule = { registerClusterCheck?: (c: Command) => void };
const checkModule: CheckModule | undefined = await import('./cluster-check.ts').catch((err: NodeJS.ErrnoException) => {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') process.stderr.write(`ediv: warning: 'cluster check' unavailable: ${err?.message ?? err}\n`);
  return undefined;
});

function registerOptionalCheck(cluster: Command): void {
  checkModule?.registerClusterCheck?.(cluster);
}
