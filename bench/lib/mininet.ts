// The Mininet 2.3 baseline of the benchmarks (bench/host-apply.ts, bench/deploy.ts): Mininet
// (LinuxBridge switches, no controller) builds the same hosts on the same nets, inside a
// namespace of the benchmark's, then stops them; bench/host-mininet.py does the work.
import { execa, type ResultPromise } from 'execa';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Scenario } from '../../src/scenario/model.ts';

export interface MininetTopology {
  switches: string[];
  hosts: { name: string; links: { switch: string; ip?: string }[] }[];
}

export interface MininetTimes {
  /** Seconds from the first addSwitch to net.start() returning. */
  build: number;
  /** Seconds net.stop() took. */
  stop: number;
}

const PYTHON = '/usr/bin/python3'; // the distribution's, where the mininet package installs
const SCRIPT = path.join(import.meta.dirname, '..', 'host-mininet.py');

/** host-apply's lab: hosts h1..hn, host i on switch i mod nets, 10.(100 + i mod nets).x.y/16. */
export function flatTopology(n: number, nets: number, prefix = 'ediv4'): MininetTopology {
  const switches = Array.from({ length: nets }, (_, j) => `${prefix}s${j + 1}`);
  const hosts = Array.from({ length: n }, (_, i) => {
    const h = Math.floor(i / nets) + 1;
    return { name: `h${i + 1}`, links: [{ switch: switches[i % nets]!, ip: `10.${100 + (i % nets)}.${h >> 8}.${h & 255}/16` }] };
  });
  return { switches, hosts };
}

/** A scenario's VMs as Mininet hosts (h1.. in VM order), its nets as switches s1.. (in net order). */
export function scenarioTopology(s: Scenario): MininetTopology {
  const sw = new Map(s.nets.map((n, k) => [n.name, `s${k + 1}`]));
  return {
    switches: [...sw.values()],
    hosts: s.vms.map((vm, v) => ({
      name: `h${v + 1}`,
      links: vm.ifaces.map((i) => ({ switch: sw.get(i.net)!, ip: i.ipv4[0] ? `${i.ipv4[0].address}/${i.ipv4[0].prefix}` : undefined })),
    })),
  };
}

/** Why Mininet cannot run here, or undefined when it can. */
export async function mininetMissing(): Promise<string | undefined> {
  const r = await execa(PYTHON, ['-c', 'import mininet.net, mininet.nodelib'], { reject: false });
  if (r.exitCode === 0) return undefined;
  const why = String(r.stderr || r.stdout || r.message).trim().split('\n').pop();
  return `Mininet is not installed (${PYTHON} cannot import it: ${why}); apt-get install mininet`;
}

/**
 * Mininet builds `topology` inside the existing namespace `netns` and stops it: its times, or
 * why it failed (a string). `onChild` sees the process (to forward an interrupt to it).
 */
export async function mininetBuild(o: {
  netns: string;
  topology: MininetTopology;
  work: string;
  onChild?: (child: ResultPromise) => void;
}): Promise<MininetTimes | string> {
  const missing = await mininetMissing();
  if (missing) return missing;
  const file = path.join(o.work, `mininet-${o.topology.hosts.length}.json`);
  writeFileSync(file, JSON.stringify(o.topology));
  const child = execa('nsenter', [`--net=/run/netns/${o.netns}`, PYTHON, SCRIPT, file], { reject: false, maxBuffer: 1 << 26 });
  o.onChild?.(child);
  const r = await child;
  const line = String(r.stdout).trim().split('\n').pop() ?? '';
  try {
    const t = JSON.parse(line) as { build: number | null; stop: number };
    if (typeof t.build === 'number') return { build: t.build, stop: t.stop };
  } catch {
    // not JSON: the failure is in stderr
  }
  return `Mininet failed: ${String(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`;
}
