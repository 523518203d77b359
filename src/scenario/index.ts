// Entry points of the scenario language: read a VNUML/VNX/OVF file into the Scenario model
// (with every semantic check), write a Scenario back as VNUML/VNX, check a Scenario.
import { readFile } from 'node:fs/promises';
import { InputError, type InputProblem } from '../common/errors.ts';
import type { Scenario } from './model.ts';
import { checkScenario } from './checks.ts';
import { parseVnxDocument } from './vnx-parse.ts';
import { readXml, readXmlFile, type XmlDocument } from './xml.ts';

// TEMPORARY until src/scenario/ovf.ts (H2) lands: loaded by a computed specifier so this
// module works and type-checks without it. Replace by `import { parseOvfText } from './ovf.ts'`.
const ovfModule = './ovf' + '.ts';
const ovf = (await import(ovfModule).catch(() => undefined)) as
  | { parseOvfText(text: string, file: string): Scenario }
  | undefined;
function parseOvfText(text: string, file: string): Scenario {
  if (!ovf) throw InputError.at(file, undefined, undefined, 'OVF envelopes are not supported by this build');
  return ovf.parseOvfText(text, file);
}

export { checkScenario } from './checks.ts';
export { writeScenario } from './vnx-write.ts';

/** Reads, parses and checks a scenario file; throws InputError listing every problem. */
export async function parseScenarioFile(path: string): Promise<Scenario> {
  const doc = await readXmlFile(path);
  if (isOvf(doc)) return checked(parseOvfText(await readFile(path, 'utf8'), path));
  return fromDocument(doc);
}

/** Parses and checks scenario text (`file` names it in messages); throws InputError. */
export function parseScenarioText(text: string, file: string): Scenario {
  const doc = readXml(text, file);
  if (isOvf(doc)) return checked(parseOvfText(text, file));
  return fromDocument(doc);
}

function isOvf(doc: XmlDocument): boolean {
  return doc.root.localName === 'Envelope';
}

function fromDocument(doc: XmlDocument): Scenario {
  const root = doc.root;
  if (root.tag !== 'vnx' && root.tag !== 'vnuml') {
    throw InputError.at(
      doc.file,
      root.line,
      root.column,
      `<${root.tag}> is not a scenario: expected a VNX (<vnx>), VNUML (<vnuml>) or OVF (<Envelope>) document`,
    );
  }
  const { scenario, problems } = parseVnxDocument(doc);
  return checked(scenario, problems);
}

/** Runs the semantic checks; throws one InputError with all problems, sorted by position. */
function checked(s: Scenario, earlier: InputProblem[] = []): Scenario {
  const problems = [...earlier, ...checkScenario(s)];
  if (problems.length) throw new InputError(sortProblems(problems));
  return s;
}

export function sortProblems(problems: InputProblem[]): InputProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        (a.p.loc.line ?? 0) - (b.p.loc.line ?? 0) || (a.p.loc.column ?? 0) - (b.p.loc.column ?? 0) || a.i - b.i,
    )
    .map((x) => x.p);
}
