// `ediv graph`'s renderers: the dot and mermaid texts are parsed back (small parsers below,
// strict about quoting) and checked against the graph they were made from.
import { expect } from 'chai';
import type { LabGraph } from '../../../src/controller/graph.ts';
import { renderDot, renderMermaid } from '../../../src/cli/render/graph.ts';
import { GRAPH_LAB, graphOf } from '../../helpers/graph-lab.ts';

// ---- a dot parser for what renderDot writes ------------------------------------------------

type Attrs = Record<string, string>;
interface ParsedDot {
  name: string;
  nodes: Map<string, { attrs: Attrs; cluster?: string }>;
  edges: { from: string; to: string; attrs: Attrs }[];
  clusters: Map<string, Attrs>;
}

/** Tokens: quoted strings (decoded as a label reads them: \" → ", \\ → \, \n → newline), words, punctuation. */
function dotTokens(text: string): { t: string; quoted: boolean }[] {
  const out: { t: string; quoted: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '"') {
      let s = '';
      for (i++; text[i] !== '"'; i++) {
        if (i >= text.length) throw new Error('unterminated string');
        if (text[i] === '\n') throw new Error('raw newline in a string');
        if (text[i] === '\\') {
          const n = text[++i];
          s += n === 'n' ? '\n' : n;
        } else s += text[i];
      }
      i++;
      out.push({ t: s, quoted: true });
    } else if (text.startsWith('--', i)) {
      out.push({ t: '--', quoted: false });
      i += 2;
    } else if (/[{}[\];,=]/.test(c)) {
      out.push({ t: c, quoted: false });
      i++;
    } else {
      const m = /^[A-Za-z0-9_.#]+/.exec(text.slice(i));
      if (!m) throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 20))}`);
      out.push({ t: m[0], quoted: false });
      i += m[0].length;
    }
  }
  return out;
}

function parseDot(text: string): ParsedDot {
  const toks = dotTokens(text);
  let p = 0;
  const peek = () => toks[p]?.t;
  const next = () => {
    if (p >= toks.length) throw new Error('unexpected end');
    return toks[p++]!.t;
  };
  const expectTok = (t: string) => {
    const got = next();
    if (got !== t) throw new Error(`expected ${t}, got ${got}`);
  };
  const attrs = (): Attrs => {
    const a: Attrs = {};
    if (peek() !== '[') return a;
    next();
    while (peek() !== ']') {
      const k = next();
      expectTok('=');
      a[k] = next();
      if (peek() === ',') next();
    }
    next();
    return a;
  };
  const doc: ParsedDot = { name: '', nodes: new Map(), edges: [], clusters: new Map() };
  const stmts = (cluster: string | undefined, clusterAttrs: Attrs) => {
    while (peek() !== '}') {
      const id = next();
      if (id === 'subgraph') {
        const name = next();
        expectTok('{');
        const a: Attrs = {};
        doc.clusters.set(name, a);
        stmts(name, a);
        expectTok('}');
      } else if (peek() === '=') {
        next();
        clusterAttrs[id] = next();
        expectTok(';');
      } else if (peek() === '--') {
        next();
        const to = next();
        doc.edges.push({ from: id, to, attrs: attrs() });
        expectTok(';');
      } else {
        const a = attrs();
        if (!['node', 'edge', 'graph'].includes(id)) {
          if (doc.nodes.has(id)) throw new Error(`node ${id} defined twice`);
          doc.nodes.set(id, { attrs: a, cluster });
        }
        expectTok(';');
      }
    }
  };
  expectTok('graph');
  doc.name = next();
  expectTok('{');
  stmts(undefined, {});
  expectTok('}');
  if (p !== toks.length) throw new Error('text after the graph');
  return doc;
}

// ---- a mermaid parser for what renderMermaid writes ----------------------------------------

/** Mermaid's entity codes back to text, <br> to newlines; a raw quote inside a label is an error. */
function mermaidDecode(s: string): string {
  if (s.includes('"')) throw new Error(`raw quote in ${s}`);
  return s
    .replace(/<br>/g, '\n')
    .replace(/#(\w+);/g, (_m, code: string) => {
      const named: Record<string, string> = { quot: '"', lt: '<', gt: '>' };
      return named[code] ?? String.fromCharCode(Number(code));
    });
}

interface ParsedMermaid {
  nodes: Map<string, { label: string; shape: string; group?: string }>;
  groups: Map<string, string>;
  edges: { from: string; to: string; label: string }[];
  classes: Map<string, string>;
}

function parseMermaid(text: string): ParsedMermaid {
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).to.equal('flowchart LR');
  const doc: ParsedMermaid = { nodes: new Map(), groups: new Map(), edges: [], classes: new Map() };
  let group: string | undefined;
  for (const line of lines.slice(1).map((l) => l.trim())) {
    let m: RegExpExecArray | null;
    if ((m = /^subgraph (\w+)\["([^"]*)"\]$/.exec(line))) {
      expect(group, 'nested subgraph').to.equal(undefined);
      group = m[1]!;
      doc.groups.set(group, mermaidDecode(m[2]!));
    } else if (line === 'end') group = undefined;
    else if ((m = /^(\w+) ---(?:\|"([^"]*)"\|)? (\w+)$/.exec(line))) doc.edges.push({ from: m[1]!, to: m[3]!, label: mermaidDecode(m[2] ?? '') });
    else if ((m = /^(\w+)(\[|\(\[|\{\{)"([^"]*)"(\]|\]\)|\}\})$/.exec(line))) {
      expect(doc.nodes.has(m[1]!), `node ${m[1]} defined twice`).to.equal(false);
      doc.nodes.set(m[1]!, { label: mermaidDecode(m[3]!), shape: m[2]!, group });
    } else if ((m = /^class ([\w,]+) (\w+)$/.exec(line))) for (const id of m[1]!.split(',')) doc.classes.set(id, m[2]!);
    else if (!line.startsWith('classDef ')) throw new Error(`unexpected mermaid line ${JSON.stringify(line)}`);
  }
  return doc;
}

// ---- the tests -----------------------------------------------------------------------------

/** Names with every character the renderers must escape. */
const AWKWARD: LabGraph = {
  scenario: 'lab "x"',
  backplane: 'vlan',
  hosts: [
    { name: 'host.a-1', vms: ['r"1[x]', 'back\\slash'], hostSection: { ifaces: [{ net: 'n (a|b) #1 <y>', addresses: ['10.0.0.9/24'] }] } },
    { name: 'host "b"', vms: ['end'] },
  ],
  nets: [
    { name: 'n (a|b) #1 <y>', spanning: { id: 7, hosts: ['host "b"', 'host.a-1'] } },
    { name: 'l{o}c"al', host: 'host "b"' },
  ],
  links: [
    { vm: 'r"1[x]', iface: 1, net: 'n (a|b) #1 <y>', addresses: ['10.0.0.1/24', 'say "hi"'] },
    { vm: 'back\\slash', iface: 2, net: 'n (a|b) #1 <y>', addresses: [] },
    { vm: 'end', iface: 3, net: 'n (a|b) #1 <y>', addresses: [] },
    { vm: 'end', iface: 4, net: 'l{o}c"al', addresses: ['2001:db8::1/64'] },
  ],
};

describe('ediv graph renderers', () => {
  let graph: LabGraph;
  before(async () => {
    graph = await graphOf(GRAPH_LAB, 2);
  });

  describe('dot', () => {
    it('has every VM as a node in its host cluster, every net as a node, one edge per interface', () => {
      const dot = parseDot(renderDot(graph));
      expect(dot.name).to.equal('g-lab');
      const labelOf = (id: string) => dot.nodes.get(id)?.attrs.label;
      for (const h of graph.hosts) {
        expect(dot.clusters.get(`cluster_${h.name}`)).to.include({ label: h.name });
        for (const vm of h.vms) {
          expect(labelOf(`vm:${vm}`), vm).to.equal(vm);
          expect(dot.nodes.get(`vm:${vm}`)!.cluster).to.equal(`cluster_${h.name}`);
        }
      }
      const netIds = [...dot.nodes.keys()].filter((id) => id.startsWith('net:'));
      expect(netIds).to.have.members(['net:Net0', 'net:lan.a-1@host1', 'net:virbr0@host1', 'net:idle@host1', 'net:virbr0@host2']);
      for (const n of graph.nets) expect(netIds.some((id) => labelOf(id)!.startsWith(n.name)), n.name).to.equal(true);
      expect(dot.edges.map((e) => [e.from, e.to, e.attrs.label])).to.have.deep.members([
        ['vm:a', 'net:Net0', 'if1\n10.0.0.1/24\n2001:db8::1/64'],
        ['vm:a', 'net:lan.a-1@host1', 'if2\ndhcp'],
        ['vm:a', 'net:virbr0@host1', 'if3'],
        ['vm:c', 'net:lan.a-1@host1', 'if1\n10.1.0.3/24'],
        ['vm:b', 'net:Net0', 'if1\n10.0.0.2/24'],
        ['vm:b', 'net:virbr0@host2', 'if2'],
        ['host:host1', 'net:Net0', '10.0.0.254/24'],
      ]);
      for (const e of dot.edges) expect(dot.nodes.has(e.to), e.to).to.equal(true);
    });

    it('draws a spanning net once, outside the hosts, labelled with its backplane id; the <host> section on its host', () => {
      const dot = parseDot(renderDot(graph));
      const net0 = dot.nodes.get('net:Net0')!;
      expect(net0.cluster).to.equal(undefined);
      expect(net0.attrs.label).to.equal('Net0 · vxlan 1000');
      expect(dot.nodes.get('net:lan.a-1@host1')!.attrs.label).to.equal('lan.a-1');
      expect(dot.nodes.get('net:virbr0@host2')!.cluster).to.equal('cluster_host2');
      const vmsOnNet0 = dot.edges.filter((e) => e.to === 'net:Net0' && e.from.startsWith('vm:')).map((e) => dot.nodes.get(e.from)!.cluster);
      expect(new Set(vmsOnNet0)).to.deep.equal(new Set(['cluster_host1', 'cluster_host2']));
      expect(dot.nodes.get('host:host1')).to.deep.include({ cluster: 'cluster_host1' });
      expect(dot.nodes.get('host:host1')!.attrs.label).to.equal('<host>');
    });

    it('quotes and escapes every name and label (quotes, brackets, backslashes, dots, dashes)', () => {
      const text = renderDot(AWKWARD);
      const dot = parseDot(text);
      expect(dot.name).to.equal('lab "x"');
      expect(dot.clusters.get('cluster_host "b"')).to.include({ label: 'host "b"' });
      expect(dot.nodes.get('vm:r"1[x]')).to.deep.include({ cluster: 'cluster_host.a-1' });
      expect(dot.nodes.get('vm:r"1[x]')!.attrs.label).to.equal('r"1[x]');
      expect(dot.nodes.get('vm:back\\slash')!.attrs.label).to.equal('back\\slash');
      expect(dot.nodes.get('net:n (a|b) #1 <y>')!.attrs.label).to.equal('n (a|b) #1 <y> · vlan 7');
      expect(dot.nodes.get('net:l{o}c"al@host "b"')!.cluster).to.equal('cluster_host "b"');
      expect(dot.edges.find((e) => e.from === 'vm:r"1[x]')!.attrs.label).to.equal('if1\n10.0.0.1/24\nsay "hi"');
      expect(text).to.contain('"back\\\\slash"');
    });
  });

  describe('mermaid', () => {
    it('a flowchart LR with a subgraph per host holding its VMs; every net a node; spanning nets marked', () => {
      const mm = parseMermaid(renderMermaid(graph));
      const byLabel = new Map([...mm.nodes].map(([id, n]) => [n.label, { id, ...n }]));
      expect([...mm.groups.values()]).to.deep.equal(['host1', 'host2']);
      for (const h of graph.hosts) {
        for (const vm of h.vms) expect(mm.groups.get(byLabel.get(vm)!.group!), vm).to.equal(h.name);
      }
      const nets = [...mm.nodes.values()].filter((n) => n.shape === '([');
      expect(nets.map((n) => [n.label, n.group && mm.groups.get(n.group)])).to.have.deep.members([
        ['Net0 · vxlan 1000', undefined],
        ['lan.a-1', 'host1'],
        ['virbr0', 'host1'],
        ['idle', 'host1'],
        ['virbr0', 'host2'],
      ]);
      const net0 = byLabel.get('Net0 · vxlan 1000')!;
      expect(mm.classes.get(net0.id)).to.equal('spanning');
      expect(mm.classes.size).to.equal(1);
      const label = (id: string) => mm.nodes.get(id)!.label;
      expect(mm.edges.filter((e) => e.to === net0.id).map((e) => [label(e.from), e.label])).to.have.deep.members([
        ['a', 'if1\n10.0.0.1/24\n2001:db8::1/64'],
        ['b', 'if1\n10.0.0.2/24'],
        ['<host>', '10.0.0.254/24'],
      ]);
      expect(mm.edges).to.have.length(7);
      for (const e of mm.edges) expect(mm.nodes.has(e.from) && mm.nodes.has(e.to)).to.equal(true);
    });

    it('escapes labels (quotes, brackets, <, >, #, |) and never uses a name as an id', () => {
      const text = renderMermaid(AWKWARD);
      const mm = parseMermaid(text);
      expect([...mm.groups.values()]).to.deep.equal(['host.a-1', 'host "b"']);
      const labels = [...mm.nodes.values()].map((n) => n.label);
      expect(labels).to.have.members(['r"1[x]', 'back\\slash', 'end', '<host>', 'n (a|b) #1 <y> · vlan 7', 'l{o}c"al']);
      expect([...mm.nodes.keys()].every((id) => /^(vm|net|hs)\d+$/.test(id))).to.equal(true);
      expect(mm.edges.map((e) => e.label)).to.include('if1\n10.0.0.1/24\nsay "hi"');
      expect(text).to.contain('#quot;').and.contain('#lt;host#gt;').and.contain('#35;1');
    });
  });
});
