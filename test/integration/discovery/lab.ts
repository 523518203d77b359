// A small network lab for the discovery tests: namespaces <prefix>-<node> joined to one bridge
// inside <prefix>-sw (multicast snooping off), addresses from 198.18.6.0/24. Nothing is put in
// the root namespace; everything is removed by name, processes by pid.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const exec = promisify(execFile);
export const NODE = process.execPath;
export const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
export const EDIV = path.join(REPO, 'bin', 'ediv');
export const SERVE_CLI = path.join(import.meta.dirname, 'serve-cli.ts');

export async function ip(...args: string[]): Promise<string> {
  return (await exec('ip', args)).stdout;
}

export class Lab {
  readonly prefix: string;
  readonly sw: string;
  readonly bridge: string;
  private readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly pids: number[] = [];
  readonly tmp: string;

  constructor(prefix = 'edivd') {
    this.prefix = prefix;
    this.sw = `${prefix}-sw`;
    this.bridge = `${prefix}br`;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  }

  ns(node: string): string {
    return `${this.prefix}-${node}`;
  }

  async addNamespace(name: string): Promise<void> {
    await ip('netns', 'add', name);
    this.namespaces.push(name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
  }

  async up(): Promise<void> {
    await this.addNamespace(this.sw);
    await ip('-n', this.sw, 'link', 'add', this.bridge, 'type', 'bridge', 'mcast_snooping', '0');
    await ip('-n', this.sw, 'link', 'set', this.bridge, 'up');
  }

  /** A node namespace with interface mgmt0 at 198.18.6.<octet>/24 on the lab bridge. */
  async addNode(node: string, octet: number): Promise<{ ns: string; address: string }> {
    const ns = this.ns(node);
    await this.addNamespace(ns);
    const port = `p-${node}`.slice(0, 15);
    await ip('link', 'add', 'mgmt0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.sw);
    await ip('-n', this.sw, 'link', 'set', port, 'master', this.bridge, 'up');
    const address = `198.18.6.${octet}`;
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'mgmt0');
    await ip('-n', ns, 'link', 'set', 'mgmt0', 'up');
    return { ns, address };
  }

  /** A netns VM hanging off a host namespace by a veth (eth0 inside the VM). */
  async addVm(hostNode: string, vm: string): Promise<string> {
    const ns = this.ns(`${hostNode}-${vm}`);
    await this.addNamespace(ns);
    await ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `v-${vm}`.slice(0, 15), 'netns', this.ns(hostNode));
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
    return ns;
  }

  /** Whether the link is set up (administratively). */
  async linkUp(ns: string, dev: string): Promise<boolean> {
    const info = JSON.parse(await ip('-n', ns, '-j', 'link', 'show', 'dev', dev)) as { flags: string[] }[];
    return info[0]!.flags.includes('UP');
  }

  /**
   * Whether the link has carrier (its cable plugged in: a stopped agent VM's is not), once it is
   * `expected` or 3 s have passed (the kernel reports carrier changes with a delay).
   */
  async carrier(ns: string, dev: string, expected: boolean): Promise<boolean> {
    let has = false;
    for (let i = 0; i < 30; i++) {
      const info = JSON.parse(await ip('-n', ns, '-j', 'link', 'show', 'dev', dev)) as { flags: string[] }[];
      has = !info[0]!.flags.includes('NO-CARRIER');
      if (has === expected) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return has;
  }

  /**
   * Runs a command in a namespace's network (nsenter, not `ip netns exec`: namespaces the
   * command makes must stay visible outside its own mount namespace), tracked for cleanup.
   */
  spawnIn(ns: string, argv: string[], withStdin = false): ChildProcess {
    const child = spawn('nsenter', [`--net=/run/netns/${ns}`, ...argv], { stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    this.procs.push(child);
    return child;
  }

  async runIn(ns: string, argv: string[], timeoutMs = 60_000, input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
    return new Promise((resolve) => {
      const child = this.spawnIn(ns, argv, input !== undefined);
      if (input !== undefined) child.stdin!.end(input);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(t);
        resolve({ stdout, stderr, code: code ?? -1 });
      });
    });
  }

  /** `ediv discover …` in a namespace. */
  ediv(ns: string, args: string[], timeoutMs?: number) {
    return this.runIn(ns, [NODE, EDIV, ...args], timeoutMs);
  }

  /** serve() in a host namespace (what `ediv agent serve` does); remembers daemon pids. */
  async serve(ns: string, request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const r = await this.runIn(ns, [NODE, '--disable-warning=ExperimentalWarning', SERVE_CLI, JSON.stringify(request)]);
    if (r.code !== 0) throw new Error(`serve failed (${r.code}): ${r.stderr}${r.stdout}`);
    const res = JSON.parse(r.stdout) as Record<string, unknown>;
    if (typeof res.pid === 'number') this.pids.push(res.pid);
    return res;
  }

  trackPid(pid: number): void {
    this.pids.push(pid);
  }

  async down(): Promise<void> {
    for (const c of this.procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const ns of [...this.namespaces].reverse()) await ip('netns', 'del', ns).catch(() => {});
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
