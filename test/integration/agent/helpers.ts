// Helpers for the agent integration tests: "host" namespaces named edivt-*, the agent run
// inside them, and leftover checks. Everything is removed by exact name or pid.
import { expect } from 'chai';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edivBin } from '../../../src/common/paths.ts';
import type { AgentLine, ResultLine } from '../../../src/protocol/agent.ts';
import { pidsInNetns } from '../../../src/host-agent/sys.ts';

export const isRoot = process.getuid?.() === 0;
export const PREFIX = 'edivt-';

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function trySh(cmd: string, args: string[]): void {
  try {
    sh(cmd, args);
  } catch {
    /* already gone */
  }
}

export function addHostNs(name: string): void {
  sh('ip', ['netns', 'add', name]);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/**
 * Two host namespaces whose eth0 ends of one veth are their trunks, addressed `<net>.1/24` and
 * `<net>.2/24` (`net`: three octets, e.g. 198.18.250): two hosts for backplane tests.
 */
function addTrunkedHostPair(h1: string, h2: string, net: string): void {
  addHostNs(h1);
  addHostNs(h2);
  sh('ip', ['-n', h1, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h2]);
  sh('ip', ['-n', h1, 'addr', 'add', `${net}.1/24`, 'dev', 'eth0']);
  sh('ip', ['-n', h2, 'addr', 'add', `${net}.2/24`, 'dev', 'eth0']);
  sh('ip', ['-n', h1, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', h2, 'link', 'set', 'eth0', 'up']);
}

/**
 * A suite's two trunked hosts (addTrunkedHostPair) and their agent state directories, made
 * afresh before its tests (skipped, saying why, without root) and removed after them, with
 * whatever namespaces `deployment` left. Returns the state directory of each host, by name.
 */
export function useTrunkedHostPair(o: { h1: string; h2: string; net: string; deployment: string }): Record<string, string> {
  const state: Record<string, string> = {};
  before(function () {
    if (!isRoot) {
      console.log('    (skipped: the agent integration tests need root)');
      this.skip();
    }
    removeNamespaces([...namespacesWith(`${o.deployment}.`), o.h1, o.h2]);
    addTrunkedHostPair(o.h1, o.h2, o.net);
    state[o.h1] = tempDir(o.h1);
    state[o.h2] = tempDir(o.h2);
  });
  after(() => {
    if (!isRoot) return;
    removeNamespaces(namespacesWith(`${o.deployment}.`));
    removeNamespaces([o.h1, o.h2]);
    for (const d of Object.values(state)) fs.rmSync(d, { recursive: true, force: true });
  });
  return state;
}

/**
 * Destroys `deployment` on both hosts of a trunked pair at once and checks that neither keeps
 * anything of it: both succeed, no VM namespace is left, no link but lo and eth0 in either host.
 */
export async function destroyOnBothAndCheck(h1: string, h2: string, deployment: string, state: Record<string, string>): Promise<void> {
  const [d1, d2] = await Promise.all([
    runAgent(h1, 'destroy', { deployment, host: 'host1' }, state[h1]!),
    runAgent(h2, 'destroy', { deployment, host: 'host2' }, state[h2]!),
  ]);
  expect(d1.code).to.equal(0);
  expect(d2.code).to.equal(0);
  expect(namespacesWith(`${deployment}.`)).to.deep.equal([]);
  expect(linksIn(h1, ['lo', 'eth0'])).to.deep.equal([]);
  expect(linksIn(h2, ['lo', 'eth0'])).to.deep.equal([]);
}

/**
 * A suite's `before`: skips (saying why) without root; else makes host namespace `name` afresh
 * (one left by an interrupted run is removed first) and returns a new state directory.
 */
export function freshHostNs(ctx: Mocha.Context, name: string, label: string): string {
  if (!isRoot) {
    console.log('    (skipped: the agent integration tests need root)');
    ctx.skip();
  }
  removeNamespaces([name]);
  addHostNs(name);
  return tempDir(label);
}

export interface AgentRun {
  code: number;
  lines: AgentLine[];
  result: ResultLine;
}

/** Spawns the agent inside host namespace `hostNs` (nsenter: same mount namespace as ours). */
export function startAgent(hostNs: string, op: string, request: unknown, stateDir: string) {
  const child = spawn('nsenter', [`--net=/run/netns/${hostNs}`, process.execPath, edivBin, 'agent', op, '--state-dir', stateDir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(JSON.stringify(request));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const done = new Promise<AgentRun>((resolve) => {
    child.on('close', (code) => {
      const lines = out
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as AgentLine);
      const result = lines.filter((l): l is ResultLine => l.type === 'result').pop() ?? {
        type: 'result',
        ok: false,
        error: { message: `no result line; stderr: ${err}` },
      };
      resolve({ code: code ?? -1, lines, result });
    });
  });
  return { child, done, output: () => out };
}

export function runAgent(hostNs: string, op: string, request: unknown, stateDir: string): Promise<AgentRun> {
  return startAgent(hostNs, op, request, stateDir).done;
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `edivt-${label}-`));
}

/** Namespaces whose names start with `prefix` (VM namespaces are `<deployment>.<vm>.<tag>`). */
export function namespacesWith(prefix: string): string[] {
  try {
    return fs.readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** Links in a host namespace other than the ones named. */
export function linksIn(hostNs: string, except: string[] = ['lo']): string[] {
  const out = JSON.parse(sh('ip', ['-n', hostNs, '-j', 'link', 'show'])) as { ifname: string }[];
  return out.map((l) => l.ifname).filter((n) => !except.includes(n));
}

/** Removes test namespaces by exact name, killing (by pid) whatever runs inside first. */
export function removeNamespaces(names: string[]): void {
  const pids = [...pidsInNetns(names).values()].flat();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const n of names) trySh('ip', ['netns', 'del', n]);
}

/** A VNX 2.0 document. */
export function vnx(name: string, nets: string[], vms: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<vnx>
  <global><version>2.0</version><scenario_name>${name}</scenario_name></global>
${nets.map((n) => `  <net name="${n}" mode="virtual_bridge"/>`).join('\n')}
${vms}
</vnx>
`;
}

/** `n` VMs spread over `nets` nets, one interface each, addresses 10.<net>.x.y/16. */
export function bigFragment(name: string, n: number, nets = 4): string {
  const netNames = Array.from({ length: nets }, (_, i) => `N${i}`);
  const vms = Array.from({ length: n }, (_, i) => {
    const net = i % nets;
    const host = Math.floor(i / nets) + 1;
    return `  <vm name="v${i}" type="lxc"><if id="1" net="N${net}"><ipv4>10.${100 + net}.${host >> 8}.${host & 255}/16</ipv4></if></vm>`;
  }).join('\n');
  return vnx(name, netNames, vms);
}
