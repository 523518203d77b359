// Text report of `ediv vm <action>`: each VM with its host and its state afterwards.
import type { VmActionReport } from '../../controller/vm-action.ts';

export function renderVmAction(r: VmActionReport): string {
  const width = Math.max(2, ...r.vms.map((v) => v.vm.length));
  let s = '';
  for (const v of r.vms) s += `${v.vm.padEnd(width)}  ${v.host}  ${v.state}${v.error ? `  (${v.error})` : ''}\n`;
  for (const f of r.failedHosts) s += `!! ${f.host}: ${f.error}\n`;
  return s;
}
