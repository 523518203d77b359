// The fragment an apply carries, parsed with the scenario reader (H1's parseScenarioText), plus
// the checks the netns driver adds (VM selection, filetree roots).
import { InputError, type InputProblem } from '../common/errors.ts';
import type { Scenario } from '../scenario/model.ts';
import { filetreeRootProblem } from './drivers/vm-holder.ts';

type ParseText = (text: string, file: string) => Scenario;

/** Loaded at run time so the agent's other ops work without the scenario reader. */
async function scenarioReader(): Promise<ParseText> {
  const mod = '../scenario/index.ts';
  try {
    return ((await import(mod)) as { parseScenarioText: ParseText }).parseScenarioText;
  } catch (err) {
    throw new Error(`the scenario reader (src/scenario/index.ts) cannot be loaded: ${(err as Error).message}`);
  }
}

export async function parseFragment(xml: string, deployment: string, vms?: string[]): Promise<Scenario> {
  const parse = await scenarioReader();
  const scenario = parse(xml, `fragment of ${deployment}`);
  checkFragment(scenario, vms);
  return scenario;
}

export function checkFragment(scenario: Scenario, vms?: string[]): void {
  const problems: InputProblem[] = [];
  const names = new Set(scenario.vms.map((v) => v.name));
  for (const vm of vms ?? []) {
    if (!names.has(vm)) problems.push({ loc: { file: scenario.source.path }, message: `VM ${vm} is not in the fragment` });
  }
  for (const vm of scenario.vms) {
    for (const f of vm.filetrees) {
      const why = filetreeRootProblem(f.root);
      if (why) problems.push({ loc: f.loc ?? { file: scenario.source.path }, message: `VM ${vm.name}: ${why}` });
    }
  }
  if (problems.length) throw new InputError(problems);
}
