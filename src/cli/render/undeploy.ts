// Text report of `ediv undeploy`: where the scenario was destroyed, the ids freed, the hosts that failed.
import type { UndeployReport } from '../../controller/undeploy.ts';

export function renderUndeploy(r: UndeployReport): string {
  const failed = r.failedHosts.map((f) => `!! ${f.host}: ${f.error}\n`).join('');
  if (r.record === 'partial') return `${r.scenario}: removed the selected VMs on ${r.destroyedHosts.join(', ') || 'no host'}\n${failed}`;
  let s = `${r.scenario}: destroyed on ${r.destroyedHosts.join(', ') || 'no host'}`;
  if (r.freedIds.length) s += `; freed ids ${r.freedIds.join(', ')}`;
  return s + '\n' + failed;
}
