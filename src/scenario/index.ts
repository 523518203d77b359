// Entry points of the scenario language: read a VNUML/VNX/OVF file into the Scenario model
// (with every semantic check), write a Scenario back as VNUML/VNX, check a Scenario.
import { InputError, type InputProblem } from '../common/errors.ts';
import type { Scenario } from './model.ts';
import { checkScenario } from './checks.ts';
import { parseVnxDocument } from './vnx-parse.ts';
import { readXml, readXmlFile, type XmlDocument } from './xml.ts';
import { ovfFromXml } from './ovf.ts';

export { checkScenario } from './checks.ts';
export { writeScenario } from './vnx-write.ts';

/** Reads, parses and checks a scenario file; throws InputError listing every problem. */
export async function parseScenarioFile(path: string): Promise<Scenario> {
  return fromDocument(await readXmlFile(path));
}

/** Parses and checks scenario text (`file` names it in messages); throws InputError. */
export function parseScenarioText(text: string, file: string): Scenario {
  return fromDocument(readXml(text, file));
}

/** Dispatches on the root element: <vnx>/<vnuml> here, an OVF <Envelope> to ovf.ts. */
function fromDocument(doc: XmlDocument): Scenario {
  const root = doc.root;
  if (root.localName === 'Envelope') return checked(ovfFromXml(doc));
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
