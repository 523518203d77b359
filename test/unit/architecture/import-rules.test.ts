// The layering of src/ (docs/architecture.md): dependency-cruiser enforces the import rules in
// .dependency-cruiser.cjs; these tests show that it does (a violation and a cycle are caught)
// and check the one thing it cannot see: an import() of a computed name, which hides a
// dependency from every tool. Only the documented plugin loader may do that.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseSync } from '@swc/core';
import { cruise } from 'dependency-cruiser';
import { edivRoot } from '../../../src/common/paths.ts';

const require = createRequire(import.meta.url);
const rules = require(path.join(edivRoot, '.dependency-cruiser.cjs')) as { forbidden: unknown[]; options: Record<string, unknown> };

/** Files allowed to import() a computed name: the segmentator plugin loader (a plugin is code the user named). */
const COMPUTED_IMPORT_ALLOWED = new Set(['src/segmentators/registry.ts']);

async function violationsIn(root: string, dirs: string[]): Promise<{ rule: string; from: string; to: string }[]> {
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const result = await cruise(dirs, { ...rules.options, validate: true, ruleSet: { forbidden: rules.forbidden } } as never);
    const output = result.output as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    return output.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
  } finally {
    process.chdir(cwd);
  }
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every `import(...)` call whose argument is not a string literal, as "file:offset". */
function computedImports(file: string): number[] {
  const ast = parseSync(fs.readFileSync(file, 'utf8'), { syntax: 'typescript', target: 'es2022' });
  const found: number[] = [];
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    const n = node as { type?: string; callee?: { type?: string }; arguments?: { expression: { type: string } }[]; span?: { start: number } };
    if (n.type === 'CallExpression' && n.callee?.type === 'Import' && n.arguments?.[0]?.expression.type !== 'StringLiteral') found.push(n.span?.start ?? 0);
    for (const v of Object.values(n)) visit(v);
  };
  visit(ast);
  return found;
}

describe('architecture: import rules', function () {
  this.timeout(60_000);

  it('src/ and bin/ follow every rule', async () => {
    expect(await violationsIn(edivRoot, ['src', 'bin'])).to.deep.equal([]);
  });

  it('catches a layer violation, an import of the CLI and a cycle', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-layers-'));
    try {
      const put = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text);
      };
      put('src/discovery/serve.ts', "import { vmStates } from '../host-agent/inventory.ts';\nexport const x = vmStates;\n");
      put('src/host-agent/inventory.ts', 'export const vmStates = 1;\n');
      put('src/controller/deploy.ts', "import { main } from '../cli/main.ts';\nexport const y = main;\n");
      put('src/cli/main.ts', 'export const main = 1;\n');
      put('src/common/a.ts', "import { b } from './b.ts';\nexport const a = b;\n");
      put('src/common/b.ts', "import { a } from './a.ts';\nexport const b = () => a;\n");
      const found = await violationsIn(root, ['src']);
      const names = found.map((v) => `${v.rule}: ${v.from} -> ${v.to}`);
      expect(names).to.include('discovery-layer: src/discovery/serve.ts -> src/host-agent/inventory.ts');
      expect(names).to.include('nothing-imports-cli: src/controller/deploy.ts -> src/cli/main.ts');
      expect(found.some((v) => v.rule === 'no-cycles' && v.from === 'src/common/a.ts')).to.equal(true);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('no import() of a computed name outside the plugin loader', () => {
    const offenders = walk(path.join(edivRoot, 'src'))
      .map((f) => path.relative(edivRoot, f))
      .filter((f) => !COMPUTED_IMPORT_ALLOWED.has(f) && computedImports(path.join(edivRoot, f)).length > 0);
    expect(offenders).to.deep.equal([]);
  });

  it('the scan finds a computed import', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-imports-')), 'x.ts');
    try {
      fs.writeFileSync(file, "const mod = '../discovery/serve.ts';\nawait import(mod);\nawait import('./fine.ts');\n");
      expect(computedImports(file)).to.have.length(1);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
