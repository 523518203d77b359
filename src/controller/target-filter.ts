// EDIV's -M / -H filters (--vm, --host): every name given must be one the command can act on,
// else the command is refused (exit 2) before anything is touched.
import { InputError, commandLineProblem } from '../common/errors.ts';

export interface TargetFilter {
  vms?: string[];
  hosts?: string[];
}

/** The names a filter may use, and what to say about one that is not among them. */
export interface TargetScope {
  vms: Iterable<string>;
  /** e.g. "no such VM in lab" */
  unknownVm: string;
  /** Left out: --host is not checked. */
  hosts?: Iterable<string>;
  unknownHost?: string;
}

/** Throws one InputError listing every --vm and --host value outside the scope. */
export function checkTargets(filter: TargetFilter, scope: TargetScope): void {
  const vms = new Set(scope.vms);
  const hosts = scope.hosts && new Set(scope.hosts);
  const problems = [
    ...(filter.vms ?? []).filter((v) => !vms.has(v)).map((v) => commandLineProblem(`--vm ${v}`, scope.unknownVm)),
    ...(hosts ? (filter.hosts ?? []).filter((h) => !hosts.has(h)) : []).map((h) => commandLineProblem(`--host ${h}`, scope.unknownHost ?? 'unknown host')),
  ];
  if (problems.length > 0) throw new InputError(problems);
}
