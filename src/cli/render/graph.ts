// `ediv graph`: the lab graph as graphviz dot and as a mermaid flowchart. Both draw the same
// scene (one host group per host with its VMs, its own nets and the <host> section; spanning
// nets outside every group, linked to VMs on several hosts), built once by `sceneOf`.
import { hostOfVm, netKey, netOn, type GraphNet, type LabGraph } from '../../controller/graph.ts';

type NodeKind = 'vm' | 'net' | 'spanning-net' | 'host-section';

interface SceneNode {
  /** Unique among the scene's nodes (a VM and a net may share a name). */
  key: string;
  label: string;
  kind: NodeKind;
}

interface Scene {
  name: string;
  groups: { host: string; nodes: SceneNode[] }[];
  /** Nodes on no single host: the spanning nets. */
  shared: SceneNode[];
  /** Labels may hold newlines (one line per interface id / address). */
  edges: { from: string; to: string; label: string }[];
}

/** How a <host> section node is labelled (the scenario element it stands for). */
const HOST_SECTION_LABEL = '<host>';

const vmKey = (vm: string) => `vm:${vm}`;
const netNodeKey = (net: GraphNet) => `net:${netKey(net)}`;
const hostSectionKey = (host: string) => `host:${host}`;

/** "Net0 · vxlan 1000" for a spanning net, else its name. */
export function netLabel(net: GraphNet, backplane: string): string {
  return net.spanning ? `${net.name} · ${backplane} ${net.spanning.id}` : net.name;
}

function sceneOf(graph: LabGraph): Scene {
  const netNode = (n: GraphNet): SceneNode => ({ key: netNodeKey(n), label: netLabel(n, graph.backplane), kind: n.spanning ? 'spanning-net' : 'net' });
  const groups = graph.hosts.map((h) => ({
    host: h.name,
    nodes: [
      ...h.vms.map((vm): SceneNode => ({ key: vmKey(vm), label: vm, kind: 'vm' })),
      ...(h.hostSection ? [{ key: hostSectionKey(h.name), label: HOST_SECTION_LABEL, kind: 'host-section' as const }] : []),
      ...graph.nets.filter((n) => n.host === h.name).map(netNode),
    ],
  }));
  // A net the model does not list (it always should) still gets an edge: to a node of its name.
  const netTo = (host: string | undefined, net: string) => {
    const n = host === undefined ? undefined : netOn(graph, host, net);
    return n ? netNodeKey(n) : `net:${net}`;
  };
  const hostOf = hostOfVm(graph);
  const edges = [
    ...graph.links.map((l) => ({ from: vmKey(l.vm), to: netTo(hostOf.get(l.vm), l.net), label: [`if${l.iface}`, ...l.addresses].join('\n') })),
    ...graph.hosts.flatMap((h) =>
      (h.hostSection?.ifaces ?? []).map((hi) => ({ from: hostSectionKey(h.name), to: netTo(h.name, hi.net), label: hi.addresses.join('\n') })),
    ),
  ];
  return { name: graph.scenario, groups, shared: graph.nets.filter((n) => n.host === undefined).map(netNode), edges };
}

// ---- graphviz dot ------------------------------------------------------------------------

/** A dot quoted string: every ID and label is one, so any name is safe ('.', '-', quotes, …). */
export function dotQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

const DOT_NODE_ATTRS: Record<NodeKind, string> = {
  vm: 'shape=box, style="rounded,filled", fillcolor="#eef3fb"',
  net: 'shape=ellipse',
  'spanning-net': 'shape=ellipse, style=bold, color="#1f5fbf", fontcolor="#1f5fbf"',
  'host-section': 'shape=house, style=filled, fillcolor="#f3f3f3"',
};

export function renderDot(graph: LabGraph): string {
  const scene = sceneOf(graph);
  const node = (n: SceneNode, indent: string) => `${indent}${dotQuote(n.key)} [label=${dotQuote(n.label)}, ${DOT_NODE_ATTRS[n.kind]}];`;
  const lines = [`graph ${dotQuote(scene.name)} {`, '  rankdir=LR;', '  node [fontname="Helvetica"];', '  edge [fontname="Helvetica", fontsize=10];'];
  for (const g of scene.groups) {
    lines.push(`  subgraph ${dotQuote(`cluster_${g.host}`)} {`, `    label=${dotQuote(g.host)};`, '    style=rounded;');
    for (const n of g.nodes) lines.push(node(n, '    '));
    lines.push('  }');
  }
  for (const n of scene.shared) lines.push(node(n, '  '));
  for (const e of scene.edges) lines.push(`  ${dotQuote(e.from)} -- ${dotQuote(e.to)} [label=${dotQuote(e.label)}];`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

// ---- mermaid -----------------------------------------------------------------------------

/**
 * Mermaid label text for inside "…": its entity codes for what would end the label or be read
 * as markup (`#` first: it starts those codes), newlines as <br>.
 */
export function mermaidText(s: string): string {
  return s
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/\|/g, '#124;')
    .replace(/\r?\n/g, '<br>');
}

const MERMAID_SHAPE: Record<NodeKind, [string, string]> = {
  vm: ['[', ']'],
  net: ['([', '])'],
  'spanning-net': ['([', '])'],
  'host-section': ['{{', '}}'],
};
const MERMAID_ID_PREFIX: Record<NodeKind, string> = { vm: 'vm', net: 'net', 'spanning-net': 'net', 'host-section': 'hs' };

export function renderMermaid(graph: LabGraph): string {
  const scene = sceneOf(graph);
  // Mermaid ids must be plain words: each node gets a short one, its name goes in the label.
  const ids = new Map<string, string>();
  const idOf = (key: string, kind: NodeKind = 'net') => {
    if (!ids.has(key)) ids.set(key, `${MERMAID_ID_PREFIX[kind]}${ids.size}`);
    return ids.get(key)!;
  };
  const node = (n: SceneNode, indent: string) => {
    const [open, close] = MERMAID_SHAPE[n.kind];
    return `${indent}${idOf(n.key, n.kind)}${open}"${mermaidText(n.label)}"${close}`;
  };
  const lines = ['flowchart LR'];
  scene.groups.forEach((g, i) => {
    lines.push(`  subgraph host${i}["${mermaidText(g.host)}"]`);
    for (const n of g.nodes) lines.push(node(n, '    '));
    lines.push('  end');
  });
  for (const n of scene.shared) lines.push(node(n, '  '));
  for (const e of scene.edges) {
    const label = e.label ? `|"${mermaidText(e.label)}"|` : '';
    lines.push(`  ${idOf(e.from)} ---${label} ${idOf(e.to)}`);
  }
  const spanning = scene.shared.filter((n) => n.kind === 'spanning-net').map((n) => idOf(n.key));
  if (spanning.length) lines.push('  classDef spanning stroke-width:3px,stroke:#1f5fbf', `  class ${spanning.join(',')} spanning`);
  return lines.join('\n') + '\n';
}
