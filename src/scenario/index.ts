// Entry points of the scenario language: read a VNUML/VNX/OVF file into the Scenario model
// (with every semantic check), write a Scenario back as VNUML/VNX, check a Scenario.
import { InputError, type InputProblem } from '../common/errors.ts';
import type { Scenario } from './model.ts';
import { checkScenario, deployProblems } from './checks.ts';
import { parseVnxDocument } from './vnx-parse.ts';
import { readXml, readXmlFile, type XmlDocument } from './xml.ts';
import { ovfFromXml } from './ovf.ts';
import { escaped } from './quote.ts';

export { checkScenario, deployProblems } from './checks.ts';
export { writeScenario } from './vnx-write.ts';

/**
 * Which checks a parse runs. `deployable`: also deployProblems, what the host agents refuse at
 * apply (checks.ts): a user's scenario (parseScenarioFile: validate, plan, deploy) gets them; a
 * fragment a host agent re-reads to exec a lab it applied does not.
 */
export interface ParseOptions {
  deployable?: boolean;
}

/** Reads, parses and checks a scenario file (deployable by default); throws InputError listing every problem. */
export async function parseScenarioFile(path: string, opts: ParseOptions = { deployable: true }): Promise<Scenario> {
  return fromDocument(await readXmlFile(path), opts);
}

/** Parses and checks scenario text (`file` names it in messages); throws InputError. */
export function parseScenarioText(text: string, file: string, opts: ParseOptions = {}): Scenario {
  return fromDocument(readXml(text, file), opts);
}

/** Dispatches on the root element: <vnx>/<vnuml> here, an OVF <Envelope> to ovf.ts. */
function fromDocument(doc: XmlDocument, opts: ParseOptions): Scenario {
  const root = doc.root;
  if (root.localName === 'Envelope') return checked(ovfFromXml(doc), opts);
  if (root.tag !== 'vnx' && root.tag !== 'vnuml') {
    throw InputError.at(
      doc.file,
      root.line,
      root.column,
      `<${escaped(root.tag)}> is not a scenario: expected a VNX (<vnx>), VNUML (<vnuml>) or OVF (<Envelope>) document`,
    );
  }
  // The document is this function's own: the reader may let go of it as it goes.
  const { scenario, problems } = parseVnxDocument(doc, { release: true });
  return checked(scenario, opts, problems);
}

/** Runs the semantic checks; throws one InputError with all problems, sorted by position. */
function checked(s: Scenario, opts: ParseOptions, earlier: InputProblem[] = []): Scenario {
  const problems = [...earlier, ...checkScenario(s), ...(opts.deployable ? deployProblems(s) : [])];
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
