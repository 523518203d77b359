// A cluster document as read from a file, before validation: the plain data plus a way to
// find where any part of it came from (line/column), so that schema and semantic errors can
// point at the offending node. YAML and JSON are read here; cluster-conf.ts builds the same
// thing from EDIV's cluster.conf.
import { CST, Lexer, LineCounter, isAlias, isCollection, isMap, isNode, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { InputError, type InputProblem } from '../common/errors.ts';

export type DocPath = readonly (string | number)[];

export interface Position {
  line?: number;
  column?: number;
}

export interface LocatedDoc {
  file: string;
  data: unknown;
  /** Where the value at `path` is (or its key, when `key`); falls back to the nearest ancestor. */
  locate(path: DocPath, key?: boolean): Position;
  /** How the user names the field at `path` in this file format (for messages). */
  describe(path: DocPath): string;
}

/** `hosts[1].ssh.port` style naming used in YAML/JSON messages. */
export function describeJsonPath(path: DocPath): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s === '' ? 'the document' : s;
}

/** Walks the YAML node tree along `path`; returns the deepest node reached (and the key node of the last map step). */
function walk(root: Node | null, path: DocPath): { node: Node | null; keyNode?: Node; complete: boolean } {
  let node = root;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { node, keyNode, complete: false };
      keyNode = pair.key as Node;
      node = (pair.value as Node | null) ?? keyNode;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      keyNode = undefined;
      node = node.items[seg] as Node;
    } else {
      return { node, keyNode, complete: false };
    }
  }
  return { node, keyNode, complete: true };
}

/** Line/column of a character offset, 1-based. */
function positionOf(lc: LineCounter, offset: number): Position {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

/** A JSON number, from its first character. */
const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** A JSON string, from its opening quote: no raw control characters, only JSON's escapes. */
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const JSON_LITERAL = /true|false|null/y;

/**
 * Where JSON text first goes wrong, for JSON.parse messages that give no position (V8 says
 * "Unexpected token 'I', ..." for `Infinity`, `NaN`, a stray comma). An iterative scan with a
 * stack of open containers and what may come next; the end of the text when it stops early.
 */
function jsonErrorOffset(text: string): number {
  const open: string[] = [];
  let expect: 'value' | 'key' | 'colon' | 'next' = 'value';
  let justOpened = false; // right after '{' or '[': the closing bracket may come at once
  let i = 0;
  const take = (re: RegExp): boolean => {
    re.lastIndex = i;
    if (!re.test(text)) return false;
    i = re.lastIndex;
    return true;
  };
  const close = () => {
    open.pop();
    i++;
    expect = 'next';
  };
  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
    const c = text[i];
    if (c === undefined) return i;
    const closer = open[open.length - 1] === '{' ? '}' : ']';
    const empty = justOpened && c === closer;
    justOpened = false;
    if (empty) {
      close();
    } else if (expect === 'value' && (c === '{' || c === '[')) {
      open.push(c);
      i++;
      expect = c === '{' ? 'key' : 'value';
      justOpened = true;
    } else if (expect === 'value') {
      if (!take(JSON_STRING) && !take(JSON_NUMBER) && !take(JSON_LITERAL)) return i;
      expect = 'next';
    } else if (expect === 'key') {
      if (!take(JSON_STRING)) return i;
      expect = 'colon';
    } else if (expect === 'colon') {
      if (c !== ':') return i;
      i++;
      expect = 'value';
    } else if (open.length > 0 && c === ',') {
      i++;
      expect = open[open.length - 1] === '{' ? 'key' : 'value';
    } else if (open.length > 0 && c === closer) {
      close();
    } else {
      return i; // neither ',' nor the closing bracket, or text after the value
    }
  }
}

/**
 * A JSON.parse failure as a located problem: the offset from "position N" when V8 gives one,
 * else from jsonErrorOffset. V8's quote of the text around the error is dropped (it can hold
 * newlines, and the location says where).
 */
function jsonSyntaxProblem(text: string, file: string, err: Error): InputProblem {
  const m = /position (\d+)/.exec(err.message);
  const what = err.message
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/ (?:in JSON )?at position \d+/, '')
    .replace(/, ("|\.\.\.").*$/s, '');
  const offset = m ? Number(m[1]) : jsonErrorOffset(text);
  return { loc: { file, ...offsetPosition(text, offset) }, message: `invalid JSON: ${what}` };
}

/**
 * Bounds on what a YAML (or JSON) cluster file may make the parser build. A real cluster file
 * has a few hundred nodes, 4 levels deep; these stop a small file from costing much time, memory
 * or stack: the yaml library keeps ~200 bytes per node and recurses per nesting level, and an
 * alias bomb ("billion laughs") expands exponentially.
 */
export const YAML_LIMITS = {
  /** Lexer tokens (scalars, indicators, spaces): about 1 000 hosts' worth. */
  tokens: 200_000,
  /** Nesting levels (the cluster schema needs 5). */
  depth: 64,
  /** Anchors (&a) and aliases (*a), each. */
  aliases: 1_000,
  /** Nodes after every alias is expanded. */
  expandedNodes: 100_000,
} as const;

/** Line/column (1-based) of a string offset, counted as the yaml library counts them. */
export function offsetPosition(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const nl = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - nl };
}

/** The lexer's markers: tokens that stand for no source text. */
const MARKERS = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);
/** Tokens that start a node (in block context their column gives the nesting). */
const NODE_STARTS = new Set([
  'scalar',
  'single-quoted-scalar',
  'double-quoted-scalar',
  'block-scalar-header',
  'seq-item-ind',
  'explicit-key-ind',
  'flow-map-start',
  'flow-seq-start',
  'alias',
]);

/**
 * Scans the text with yaml's streaming lexer (no tree, no recursion) before anything is built:
 * too many tokens, anchors or aliases, or nesting too deep (estimated from flow brackets and the
 * columns of block nodes) is refused at the token that crosses the bound.
 */
function scanYaml(text: string, file: string, what: string): void {
  let offset = 0;
  let lineStart = 0;
  let tokens = 0;
  let anchors = 0;
  let aliases = 0;
  let flow = 0;
  let scalarNext = false;
  let blockScalar = false;
  const blockColumns: number[] = [];
  const refuse = (message: string): never => {
    throw new InputError({ loc: { file, ...offsetPosition(text, offset) }, message: `${what}: ${message}` });
  };
  for (const tok of new Lexer().lex(text)) {
    if (MARKERS.has(tok)) {
      scalarNext = tok === CST.SCALAR;
      continue;
    }
    // A block scalar's body (after `|` or `>`) is the header's node, not one starting at column 0.
    const type = scalarNext ? (blockScalar ? 'block-scalar-body' : 'scalar') : CST.tokenType(tok);
    if (scalarNext) blockScalar = false;
    if (type === 'block-scalar-header') blockScalar = true;
    scalarNext = false;
    if (++tokens > YAML_LIMITS.tokens) refuse(`more than ${YAML_LIMITS.tokens} tokens: far more than a cluster file needs`);
    if (type === 'anchor' && ++anchors > YAML_LIMITS.aliases) refuse(`more than ${YAML_LIMITS.aliases} anchors (&name)`);
    if (type === 'alias' && ++aliases > YAML_LIMITS.aliases) refuse(`more than ${YAML_LIMITS.aliases} aliases (*name)`);
    if (type === 'doc-start') blockColumns.length = 0;
    if (NODE_STARTS.has(type ?? '')) {
      // A block node sits inside every block node that starts at a smaller column.
      if (flow === 0) {
        const column = offset - lineStart;
        while (blockColumns.length > 0 && blockColumns[blockColumns.length - 1]! >= column) blockColumns.pop();
        blockColumns.push(column);
      }
      if (blockColumns.length + flow > YAML_LIMITS.depth) refuse(`nested more than ${YAML_LIMITS.depth} levels deep`);
    }
    if (type === 'flow-map-start' || type === 'flow-seq-start') flow++;
    else if ((type === 'flow-map-end' || type === 'flow-seq-end') && flow > 0) flow--;
    const nl = tok.lastIndexOf('\n');
    if (nl !== -1) lineStart = offset + nl + 1;
    offset += tok.length;
  }
}

/**
 * Walks the parsed tree (recursion bounded by YAML_LIMITS.depth) and refuses, at the node: an
 * alias to a node that contains it (a cycle toJS would follow), an alias whose expansion nests
 * too deep, and a document that expands to more than YAML_LIMITS.expandedNodes nodes.
 */
function checkYamlTree(root: Node | null, lc: LineCounter, file: string, what: string): void {
  const anchored = new Map<string, Node>();
  const open = new Set<Node>();
  const measured = new Map<Node, { size: number; height: number }>();
  let total = 0;
  const refuse = (node: Node, message: string): never => {
    throw new InputError({ loc: { file, ...(node.range ? positionOf(lc, node.range[0]) : {}) }, message: `${what}: ${message}` });
  };
  const count = (node: Node, n: number) => {
    total += n;
    if (total > YAML_LIMITS.expandedNodes) refuse(node, `expands to more than ${YAML_LIMITS.expandedNodes} nodes (too many or nested aliases)`);
  };
  /** Size and height of the node, with aliases expanded. */
  const walk = (node: Node, depth: number): { size: number; height: number } => {
    if (depth > YAML_LIMITS.depth) refuse(node, `nested more than ${YAML_LIMITS.depth} levels deep`);
    if (isAlias(node)) {
      const source = anchored.get(node.source);
      if (source === undefined) return refuse(node, `alias *${node.source} has no anchor &${node.source} before it`);
      // An anchored node still being walked contains this alias: toJS would build a cycle.
      if (open.has(source)) return refuse(node, `alias *${node.source} refers to a node that contains it`);
      const m = measured.get(source)!;
      if (depth + m.height > YAML_LIMITS.depth) refuse(node, `alias *${node.source} nests the document more than ${YAML_LIMITS.depth} levels deep`);
      count(node, m.size);
      return m;
    }
    count(node, 1);
    if (node.anchor) anchored.set(node.anchor, node);
    open.add(node);
    let size = 1;
    let height = 0;
    const child = (c: unknown) => {
      if (!isNode(c)) return;
      const m = walk(c, depth + 1);
      size += m.size;
      height = Math.max(height, m.height);
    };
    if (isCollection(node)) {
      for (const item of node.items) {
        if (isPair(item)) {
          child(item.key);
          child(item.value);
        } else child(item);
      }
    }
    open.delete(node);
    const m = { size, height: height + 1 };
    measured.set(node, m);
    return m;
  };
  if (root) walk(root, 1);
}

/** Parses YAML text into a Document; a parser that runs out of stack is an InputError, not a crash. */
function parseYaml(text: string, file: string, what: string, lineCounter: LineCounter): Document.Parsed {
  try {
    return parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  } catch (err) {
    throw InputError.at(file, undefined, undefined, `cannot read ${what}: ${err instanceof RangeError ? 'nested too deeply' : (err as Error).message}`);
  }
}

/**
 * Reads YAML (or JSON, which is read strictly with JSON.parse first, then through the YAML
 * parser for node positions). Syntax errors, duplicate keys, alias bombs, cycles and nesting
 * beyond YAML_LIMITS are InputErrors at the offending place.
 */
export function readYamlOrJson(text: string, file: string, format: 'yaml' | 'json'): LocatedDoc {
  const what = format === 'json' ? 'JSON' : 'YAML';
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (err) {
      throw new InputError(jsonSyntaxProblem(text, file, err as Error));
    }
  }
  scanYaml(text, file, `invalid ${what}`);
  const lineCounter = new LineCounter();
  const doc = parseYaml(text, file, what, lineCounter);
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => {
        const message = /call stack/i.test(e.message) ? 'nested too deeply' : e.message.split('\n')[0];
        return { loc: { file, ...positionOf(lineCounter, e.pos[0]) }, message: `invalid ${what}: ${message}` };
      }),
    );
  }
  const root = doc.contents as Node | null;
  checkYamlTree(root, lineCounter, file, `invalid ${what}`);
  let data: unknown;
  try {
    // checkYamlTree has bounded the expansion; yaml's own (coarser) alias limit stays as a backstop.
    data = doc.toJS({ maxAliasCount: 10 * YAML_LIMITS.expandedNodes });
  } catch (err) {
    throw InputError.at(file, undefined, undefined, `cannot read ${what}: ${(err as Error).message}`);
  }
  return {
    file,
    data,
    describe: describeJsonPath,
    locate(path, key = false) {
      const { node, keyNode, complete } = walk(root, path);
      const target = complete && key && keyNode ? keyNode : node;
      if (!target?.range) return { line: 1, column: 1 };
      return positionOf(lineCounter, target.range[0]);
    },
  };
}
