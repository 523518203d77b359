// Shared pieces of the controller e2e tests: run the real `ediv` CLI, look at what exists on
// the emulated hosts (instance 7: namespaces ediv7-host<i>), read the controller's state.
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edivBin, edivRoot } from '../../src/common/paths.ts';
import { emulatedHostNamespace } from '../../src/emulated/layout.ts';
import { pidAlive } from '../../src/common/process.ts';
import { openStateStore } from '../../src/state/open.ts';
import { tagOf } from '../../src/host-agent/store.ts';
import { thirdPartyPath } from '../helpers/third-party.ts';

export const INSTANCE = 7;
export const repoRoot = edivRoot;
/** A file of ../shared/third-party/vnx (not checked: a test needing it uses test/helpers/third-party.ts to skip without it). */
export const thirdParty = (f: string): string => thirdPartyPath('vnx', f);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json?: any;
}

/** Runs `ediv <args>` (the real launcher, Node 22) and parses stdout as JSON when asked to. */
export async function ediv(args: string[], opts: { env?: Record<string, string> } = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [edivBin, ...args], { reject: false, env: opts.env, timeout: 300_000 });
  const res: CliResult = { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  if (args.includes('--json')) {
    try {
      res.json = JSON.parse(res.stdout);
    } catch {
      // left undefined: the assertion that needs it reports stdout
    }
  }
  return res;
}

export async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await execa(cmd, args, { reject: false });
  return String(r.stdout);
}

/**
 * Tags of the agents of our emulated hosts: the agent names a VM namespace
 * `<deployment>.<vm>.<tag>`, the tag derived from its state directory, so other test suites
 * deploying a scenario of the same name are never mistaken for ours.
 */
let ourTags: string[] = [];
export function setAgentStateDirs(dirs: string[]): void {
  ourTags = dirs.map((d) => tagOf(d));
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Our agents' VM namespaces of lab `deployment`: `<lab>.<uid>.<vm>.<tag>` (or, for a lab
 * recorded before uids, `<lab>.<vm>.<tag>`); `deployment` may also be the full key.
 */
export async function vmNamespaces(deployment: string): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${deployment}.`) && ourTags.some((t) => n.endsWith(`.${t}`)))
    .sort();
}

/** The VM namespace of `vm` in lab `deployment`. */
export async function vmNamespace(deployment: string, vm: string): Promise<string> {
  const pattern = new RegExp(`^${escapeRe(deployment)}(\\.[a-z2-7]{6})?\\.${escapeRe(vm)}\\.[^.]+$`);
  const ns = (await vmNamespaces(deployment)).filter((n) => pattern.test(n));
  if (ns.length !== 1) throw new Error(`expected one namespace for ${deployment}/${vm}, found ${JSON.stringify(ns)}`);
  return ns[0]!;
}

export interface HostSnapshot {
  links: string[];
  pids: number[];
}

/** Links and (live) processes in each emulated host's namespace. */
export async function snapshotHosts(n: number, instance = INSTANCE): Promise<Record<string, HostSnapshot>> {
  const out: Record<string, HostSnapshot> = {};
  for (let i = 1; i <= n; i++) {
    const ns = emulatedHostNamespace(i, instance);
    const links = (await sh('ip', ['-n', ns, '-o', 'link', 'show']))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(': ')[1]!.split('@')[0]!)
      .sort();
    // A zombie has exited and holds nothing; it lasts until the sandbox's PID 1 reaps it.
    const pids = (await sh('ip', ['netns', 'pids', ns])).split('\n').filter(Boolean).map(Number).filter(pidAlive).sort((a, b) => a - b);
    out[`host${i}`] = { links, pids };
  }
  return out;
}

/**
 * Waits until the hosts' links and processes are back to `before` (sshd session processes of a
 * command that just ended may take a moment to exit). Returns the last snapshot.
 */
export async function settleTo(before: Record<string, HostSnapshot>, n: number, timeoutMs = 5000, instance = INSTANCE): Promise<Record<string, HostSnapshot>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await snapshotHosts(n, instance);
    if (JSON.stringify(now) === JSON.stringify(before) || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The ids the controller's state holds, per scenario. */
export async function recordedIds(stateDir: string): Promise<Record<string, number[]>> {
  const store = await openStateStore({ kind: 'sqlite', dir: stateDir });
  try {
    const out: Record<string, number[]> = {};
    for (const s of await store.listScenarios()) out[s.name] = (await store.ids(s.name)).map((i) => i.id);
    return out;
  } finally {
    await store.close();
  }
}

export async function ping(ns: string, address: string): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', address], { reject: false });
  return r.exitCode === 0;
}

/**
 * A suite's work directory and controller state on an emulated cluster: made in `before`,
 * and in `after` every lab still recorded is undeployed through the product, then removed.
 */
export function useLabState(ec: { cluster: { hosts: { agentStateDir?: string }[] }; beforeTeardown(fn: () => Promise<void>): void }, label: string): { work: () => string; state: () => string } {
  let work = '';
  let state = '';
  before(() => {
    work = mkdtempSync(path.join(os.tmpdir(), `ediv-${label}-`));
    state = path.join(work, 'state');
    setAgentStateDirs(ec.cluster.hosts.map((h) => h.agentStateDir!));
  });
  ec.beforeTeardown(async () => {
    if (state && existsSync(state)) for (const name of Object.keys(await recordedIds(state))) await ediv(['undeploy', name, '--purge', '--state', state]);
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });
  return { work: () => work, state: () => state };
}
