// `ediv cluster up|down|status`: the emulated cluster (N hosts on this machine, each a network
// namespace with its own sshd). `ediv cluster check` comes from ./cluster-check.ts when present.
import type { Command } from 'commander';
import {
  clusterDown,
  clusterStatus,
  clusterUp,
  defaultClusterDir,
} from '../emulated/cluster.ts';
import { EMULATED } from '../emulated/layout.ts';
import { progressFor } from '../controller/progress.ts';
import { action, printJson } from './output.ts';
import { intOption } from './option-values.ts';
import { clusterStatusJson, renderClusterDown, renderClusterStatus } from './render/emulated-cluster.ts';

interface CommonOpts {
  instance?: string;
  dir?: string;
  json?: boolean;
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
    .option('--bare [hosts]', 'make hosts bare, like fresh machines: this ediv is hidden from them and the controller brings its agent (a comma-separated list of host numbers; all without one)')
    .option('--json', 'print the result as JSON (progress as JSON lines on stderr)')
    .action(
      action(async (o: CommonOpts & { local?: string; bare?: string | true }) => {
        const hosts = intOption('--local', o.local, 1, EMULATED.maxHosts);
        const instance = instanceOf(o);
        const bare = o.bare === undefined ? undefined : o.bare === true ? Array.from({ length: hosts }, (_, i) => i + 1) : o.bare.split(',').map((v) => intOption('--bare', v.trim(), 1, hosts));
        const { progress, onProgress } = progressReporter(o.json);
        const r = await clusterUp({ hosts, instance, dir: o.dir, onProgress, ...(bare ? { bare } : {}) }).finally(() => progress.done());
        if (o.json) printJson({ ...clusterStatusJson(r), alreadyUp: r.alreadyUp });
        else process.stdout.write((r.alreadyUp ? 'already up\n' : '') + renderClusterStatus(r));
      }),
    );

  instanceOptions(cluster
    .command('down'))
    .summary('remove the emulated cluster (root)')
    .description('Remove the emulated cluster: sshd processes, namespaces, links, bridge and generated files (needs root).')
    .option('--json', 'print what was removed as JSON')
    .action(
      action(async (o: CommonOpts) => {
        const { progress, onProgress } = progressReporter(o.json);
        const r = await clusterDown({ instance: instanceOf(o), dir: o.dir, onProgress }).finally(() => progress.done());
        if (o.json) printJson({ ok: true, ...r });
        else process.stdout.write(renderClusterDown(r));
      }),
    );

  instanceOptions(cluster
    .command('status'))
    .summary('show the emulated cluster')
    .description('Show the emulated cluster: hosts, addresses, whether each sshd answers. Exit 1 when not fully up.')
    .option('--json', 'print {"hosts":[{"name","address","up","sshd"}],"mgmtInterface","clusterFile",...}')
    .action(
      action(async (o: CommonOpts) => {
        const s = await clusterStatus({ instance: instanceOf(o), dir: o.dir });
        if (o.json) printJson(clusterStatusJson(s));
        else process.stdout.write(renderClusterStatus(s));
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

/** Which emulated cluster a command acts on. */
function instanceOptions(cmd: Command): Command {
  return cmd.option('--instance <K>', 'instance number', '0').option('--dir <D>', 'cluster directory, if not the default');
}
