// Runs METIS (gpmetis, Debian package `metis`) on a scenario's VM–net hypergraph, for the
// mincut quality benchmark.
//
// METIS partitions graphs, not hypergraphs, so each net is expanded:
//   - nets of up to CLIQUE_MAX VMs: clique expansion, every pair joined by an edge of weight
//     round(60 / (s − 1)) (s = pins), so a cut net costs about the same whatever its size;
//   - larger nets (LANs): star expansion, a hub vertex of weight 0 joined to every pin with
//     weight 30 (a clique would add s² edges and overweight LANs).
// Parallel edges are merged by adding weights. The partition METIS returns for the VM
// vertices is then scored with exactly the same metric as ediv's (nets spanning hosts).
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Scenario } from '../../src/scenario/model.ts';

const CLIQUE_MAX = 8;
const SCALE = 60;

/** The METIS graph text for the scenario's VMs (vertices 1..n in document order, then net hubs). */
export function metisGraph(s: Scenario): { text: string; vms: number } {
  const byNet = new Map<string, number[]>();
  s.vms.forEach((vm, i) => {
    for (const f of vm.ifaces) {
      const list = byNet.get(f.net) ?? [];
      if (list[list.length - 1] !== i) list.push(i);
      byNet.set(f.net, list);
    }
  });
  const adj: Map<number, number>[] = s.vms.map(() => new Map());
  const vwgt: number[] = s.vms.map(() => 1);
  const link = (a: number, b: number, w: number) => {
    adj[a].set(b, (adj[a].get(b) ?? 0) + w);
    adj[b].set(a, (adj[b].get(a) ?? 0) + w);
  };
  for (const pins of byNet.values()) {
    const n = pins.length;
    if (n < 2) continue;
    if (n <= CLIQUE_MAX) {
      const w = Math.round(SCALE / (n - 1));
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) link(pins[i], pins[j], w);
    } else {
      const hub = adj.length;
      adj.push(new Map());
      vwgt.push(0);
      for (const p of pins) link(p, hub, SCALE / 2);
    }
  }
  let edges = 0;
  const lines = adj.map((m, v) => {
    edges += m.size;
    const parts = [String(vwgt[v])];
    for (const [u, w] of [...m.entries()].sort((a, b) => a[0] - b[0])) parts.push(String(u + 1), String(w));
    return parts.join(' ');
  });
  return { text: `${adj.length} ${edges / 2} 011\n${lines.join('\n')}\n`, vms: s.vms.length };
}

/** Partitions with gpmetis into k parts at the given imbalance (0.05 → -ufactor=50). */
export async function metisPartition(s: Scenario, k: number, imbalance: number, seed = 1): Promise<{ part: Int32Array; ms: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-metis-'));
  try {
    const g = metisGraph(s);
    const file = path.join(dir, 'graph');
    writeFileSync(file, g.text);
    const t = performance.now();
    await execa('gpmetis', [`-ufactor=${Math.round(imbalance * 1000)}`, `-seed=${seed}`, file, String(k)]);
    const ms = performance.now() - t;
    const parts = readFileSync(`${file}.part.${k}`, 'utf8').trim().split('\n').map(Number);
    return { part: Int32Array.from(parts.slice(0, g.vms)), ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
