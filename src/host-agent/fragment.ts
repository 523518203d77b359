// The fragment an apply carries, parsed with the scenario reader (parseScenarioText), plus the
// agent's checks: the VM selection, and what the driver cannot do (its scenarioProblems).
import { InputError, type InputProblem } from '../common/errors.ts';
import type { Scenario } from '../scenario/model.ts';
import { parseScenarioText } from '../scenario/index.ts';
import type { Driver } from './drivers/driver.ts';

export function parseFragment(xml: string, deployment: string, driver: Driver, vms?: string[]): Scenario {
  const scenario = parseScenarioText(xml, `fragment of ${deployment}`);
  checkFragment(scenario, driver, vms);
  return scenario;
}

export function checkFragment(scenario: Scenario, driver: Driver, vms?: string[]): void {
  const problems: InputProblem[] = [];
  const names = new Set(scenario.vms.map((v) => v.name));
  for (const vm of vms ?? []) {
    if (!names.has(vm)) problems.push({ loc: { file: scenario.source.path }, message: `VM ${vm} is not in the fragment` });
  }
  problems.push(...driver.scenarioProblems(scenario));
  if (problems.length) throw new InputError(problems);
}
