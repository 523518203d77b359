// Per-deployment files in the agent state directory:
//   <stateDir>/deployments/<deployment>/journal.jsonl   resources (see journal.ts)
//   <stateDir>/deployments/<deployment>/applied.json    the last applied request (fragment, backplane, lab)
//   <stateDir>/deployments/<deployment>/owner.json      who the deployment belongs to (owner.ts)
//   <stateDir>/deployments/<deployment>/vm-state.json   running | stopped | suspended per VM
//   <stateDir>/deployments/<deployment>/files/<digest>/ the lab files the apply carried (lab-files.ts)
//   <stateDir>/deployments/<deployment>/vms/<vm>/       per-VM private directory (filetree views)
// plus <stateDir>/lock (one writer at a time), <stateDir>/facts-cache.json and
// <stateDir>/ownership.log (the forced requests on other owners' deployments, owner.ts).
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../common/errors.ts';
import type { BackplaneLink } from '../protocol/plan.ts';
import type { DeploymentOwner, VmState } from '../protocol/agent.ts';
import { processStart } from './sys.ts';
import { stateTag } from './naming.ts';
import { writeFileAtomic as writeFileAtomicAny } from '../common/atomic-write.ts';

function writeFileAtomic(file: string, text: string): void {
  writeFileAtomicAny(file, text, { durable: true });
}

export { AGENT_DEFAULT_STATE_DIR as DEFAULT_STATE_DIR } from '../protocol/agent.ts';

export interface Applied {
  deployment: string;
  /** The lab's display name (ApplyRequest.lab); absent: the deployment's. */
  lab?: string;
  host: string;
  fragmentXml: string;
  /** The set of lab files in use, `files/<digest>/` (lab-files.ts). */
  files?: string;
  backplane: BackplaneLink[];
  driver: string;
}

export function deploymentsDir(stateDir: string): string {
  return path.join(stateDir, 'deployments');
}
export function deploymentDir(stateDir: string, deployment: string): string {
  return path.join(deploymentsDir(stateDir), deployment);
}
export function vmDir(stateDir: string, deployment: string, vm: string): string {
  return path.join(deploymentDir(stateDir, deployment), 'vms', vm);
}

/** The state-dir tag that makes this agent's namespace names unique on the machine. */
export function tagOf(stateDir: string): string {
  fs.mkdirSync(stateDir, { recursive: true });
  return stateTag(fs.realpathSync(stateDir));
}


function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function readApplied(stateDir: string, deployment: string): Applied | undefined {
  return readJson<Applied>(path.join(deploymentDir(stateDir, deployment), 'applied.json'));
}
export function writeApplied(stateDir: string, a: Applied): void {
  writeFileAtomic(path.join(deploymentDir(stateDir, a.deployment), 'applied.json'), JSON.stringify(a) + '\n');
}

export function readOwner(stateDir: string, deployment: string): DeploymentOwner | undefined {
  return readJson<DeploymentOwner>(path.join(deploymentDir(stateDir, deployment), 'owner.json'));
}
export function writeOwner(stateDir: string, deployment: string, owner: DeploymentOwner): void {
  writeFileAtomic(path.join(deploymentDir(stateDir, deployment), 'owner.json'), JSON.stringify({ user: owner.user, store: owner.store }) + '\n');
}

export function readVmStates(stateDir: string, deployment: string): Record<string, VmState> {
  return readJson<Record<string, VmState>>(path.join(deploymentDir(stateDir, deployment), 'vm-state.json')) ?? {};
}
export function writeVmStates(stateDir: string, deployment: string, states: Record<string, VmState>): void {
  writeFileAtomic(path.join(deploymentDir(stateDir, deployment), 'vm-state.json'), JSON.stringify(states) + '\n');
}

export function listDeployments(stateDir: string): string[] {
  try {
    return fs.readdirSync(deploymentsDir(stateDir)).sort();
  } catch {
    return [];
  }
}

/**
 * Makes sure the state directory can be trusted before anything in it is read: it is made 0700
 * when missing; an existing one must be a directory owned by this user (root) that no one
 * else can write to. Its journals drive what the agent removes as root, so a directory others
 * can write to would let them choose.
 */
export function trustStateDir(stateDir: string): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(stateDir);
  const uid = process.geteuid?.() ?? st.uid;
  if (!st.isDirectory()) throw new OperationError(`state directory ${stateDir} is not a directory`);
  if (st.uid !== uid) throw new OperationError(`state directory ${stateDir} belongs to uid ${st.uid}, not to the agent's user (uid ${uid}): refusing to trust its journals`);
  if (st.mode & 0o022) {
    throw new OperationError(
      `state directory ${stateDir} is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)}): refusing to trust its journals; 'chmod 700 ${stateDir}' if no one else has written there`,
    );
  }
}

/** Runs `fn` holding the state directory's lock: one agent op at a time changes a state directory. */
export function withLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(stateDir, { recursive: true });
  return withDirLock(path.join(stateDir, 'lock'), `state directory ${stateDir}`, 120_000, fn);
}

/** Where the locks of network namespaces are (tmpfs: they go with the namespaces at reboot). */
const NETNS_LOCK_DIR = '/run/ediv';

/**
 * Runs `fn` holding the lock of the network namespace the agent runs in. Agents of different
 * state directories may share one (two emulated hosts in one namespace, a host listed twice):
 * while one chooses readable link names and makes the links, another must not choose the same.
 * Agents in different namespaces (every host of a real or emulated cluster) never wait.
 */
export function withNetnsLock<T>(fn: () => Promise<T>): Promise<T> {
  const netns = fs.statSync('/proc/self/ns/net');
  fs.mkdirSync(NETNS_LOCK_DIR, { recursive: true, mode: 0o700 });
  return withDirLock(path.join(NETNS_LOCK_DIR, `netns-${netns.dev}-${netns.ino}.lock`), 'the network namespace', 30 * 60_000, fn);
}

/**
 * Runs `fn` holding a lock: a directory made atomically, with the holder's pid; a lock left by
 * a dead agent is taken over. Waits at most `waitMs` for another holder.
 */
async function withDirLock<T>(lock: string, what: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), `${process.pid} ${processStart(process.pid)}\n`);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: string[] = [];
      try {
        holder = fs.readFileSync(path.join(lock, 'pid'), 'utf8').trim().split(' ');
      } catch {
        /* being written or removed */
      }
      const [pid, start] = holder.map(Number);
      // Stale: its agent is gone, or it died between making the lock and writing its pid.
      let age = 0;
      try {
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch {
        continue; // just removed
      }
      const stale = holder.length === 2 ? processStart(pid) !== start : age > 5_000;
      if (stale) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new OperationError(`${what} is locked by agent pid ${pid}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
