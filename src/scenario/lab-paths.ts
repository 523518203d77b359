// The paths a scenario names for files of the lab — filetree sources and `<exec type="file">`
// scripts — are relative to the scenario's directory. A fragment written elsewhere (`ediv plan
// --out DIR`) gets them as absolute paths, so it runs (with ediv, or with VNX itself) from any
// directory of this machine.
import path from 'node:path';
import type { Scenario } from './model.ts';

/** `s` with every relative lab-file path made absolute from `dir` (the scenario's directory). */
export function withLabPathsFrom(s: Scenario, dir: string): Scenario {
  const abs = (p: string) => (path.isAbsolute(p.trim()) ? p : path.resolve(dir, p.trim()));
  return {
    ...s,
    vms: s.vms.map((vm) => ({
      ...vm,
      filetrees: vm.filetrees.map((f) => ({ ...f, source: abs(f.source) })),
      execs: vm.execs.map((x) => (x.type === 'file' ? { ...x, text: abs(x.text) } : x)),
    })),
    ...(s.host ? { host: { ...s.host, execs: s.host.execs.map((x) => (x.type === 'file' ? { ...x, text: abs(x.text) } : x)) } } : {}),
  };
}
