// A cluster document as read from a file, before validation: the plain data plus a way to
// find where any part of it came from (line/column), so that schema and semantic errors can
// point at the offending node. YAML and JSON are read here; cluster-conf.ts builds the same
// thing from EDIV's cluster.conf.
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
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

/** Converts "… at position N" in a JSON.parse message to line/column. */
function jsonSyntaxProblem(text: string, file: string, err: Error): InputProblem {
  const m = /position (\d+)/.exec(err.message);
  const message = `invalid JSON: ${err.message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/ in JSON at position \d+/, '')}`;
  if (!m) return { loc: { file }, message };
  const offset = Number(m[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { loc: { file, line, column }, message };
}

/**
 * Reads YAML (or JSON, which is read strictly with JSON.parse first, then through the YAML
 * parser for node positions). Syntax errors, duplicate keys and alias bombs are InputErrors.
 */
export function readYamlOrJson(text: string, file: string, format: 'yaml' | 'json'): LocatedDoc {
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (err) {
      throw new InputError(jsonSyntaxProblem(text, file, err as Error));
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => {
        const what = format === 'json' ? 'JSON' : 'YAML';
        return { loc: { file, ...positionOf(lineCounter, e.pos[0]) }, message: `invalid ${what}: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw InputError.at(file, undefined, undefined, `cannot read ${format.toUpperCase()}: ${(err as Error).message}`);
  }
  const root = doc.contents as Node | null;
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
