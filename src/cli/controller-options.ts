// Options shared by the commands that talk to the cluster's hosts (deploy, exec, undeploy,
// status, cluster check), so they read and behave the same everywhere.
import { Option, type Command } from 'commander';
import { PROGRESS_MODES } from '../controller/progress.ts';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** --accept-new-host-keys, --state and -v/--verbose. */
export function addConnectionOptions(cmd: Command, stateHelp = 'controller state directory (default /var/lib/ediv as root, else the XDG state dir)'): Command {
  return cmd
    .option('--accept-new-host-keys', 'add unknown SSH host keys to known_hosts (changed keys are always refused)')
    .option('--state <dir>', stateHelp)
    .option('-v, --verbose', 'show what runs on each host: every agent op sent, and every command the agents run (with the lines of their batches)')
    .addOption(
      new Option('--progress <mode>', 'progress on stderr: live (a terminal), plain lines, json lines, none; default json with --json, else live on a terminal, else plain')
        .choices([...PROGRESS_MODES]),
    );
}

/** --cluster for the commands that act on a recorded lab: the cluster file names the state store that records it. */
export function addStoreOption(cmd: Command): Command {
  return cmd.option(
    '--cluster <file>',
    "the cluster file whose state store (its state:) records the lab; default $EDIV_CLUSTER, else /etc/ediv/cluster.conf, else this machine's own store",
  );
}

/** --force: an administrator acting on a lab the hosts record as another owner's. */
export function addForceOption(cmd: Command): Command {
  return cmd.option('--force', "act even where a host records the lab as another owner's (an administrator taking over or cleaning up; every host logs it)");
}

/** EDIV's -M / -H filters: --vm and --host, comma-separated, repeatable. */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--vm <names>', 'only these VMs, comma-separated (EDIV -M); repeatable', collect)
    .option('--host <names>', 'only these hosts, comma-separated (EDIV -H); repeatable', collect);
}

/** Splits `a,b,c` option values (repeatable options are joined first); undefined when none is left. */
export function listOption(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

/** The --vm / --host filter of a command (EDIV -M / -H). */
export function targetFilter(opts: { vm?: string[]; host?: string[] }): { vms?: string[]; hosts?: string[] } {
  return { vms: listOption(opts.vm), hosts: listOption(opts.host) };
}
