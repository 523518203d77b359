// A lab recorded in a state store as a deploy records it (scenario, hosts, VMs, plan with
// fragments), without any host: for the tests of what reads the store (shell completion).
import type { Cluster } from '../../src/protocol/cluster.ts';
import type { Plan } from '../../src/protocol/plan.ts';
import { currentUser, openStateStore } from '../../src/state/open.ts';
import { parseScenarioText } from '../../src/scenario/index.ts';

const cluster = { backplane: 'vxlan', source: { path: '/tmp/cluster.yaml' }, hosts: [] } as unknown as Cluster;

/** A fragment with `vms`, each with the exec and filetree sequences given, and the cmd-seqs given. */
function vnxFragment(name: string, vms: Record<string, { execs?: string[]; filetrees?: string[] }>, cmdSeqs: Record<string, string>): string {
  const seqs = Object.entries(cmdSeqs).map(([s, parts]) => `<cmd-seq seq="${s}">${parts}</cmd-seq>`).join('');
  const vm = Object.entries(vms).map(
    ([vmName, { execs = [], filetrees = [] }]) =>
      `<vm name="${vmName}" type="lxc"><if id="1" net="Net0"/>` +
      execs.map((s) => `<exec seq="${s}" type="verbatim">true</exec>`).join('') +
      filetrees.map((s) => `<filetree seq="${s}" root="/etc/">conf</filetree>`).join('') +
      '</vm>',
  );
  return `<vnx><global><version>2.0</version><scenario_name>${name}</scenario_name>${seqs}</global>` +
    `<net name="Net0" mode="virtual_bridge"/>${vm.join('')}</vnx>`;
}

export interface LabHost {
  vms: Record<string, { execs?: string[]; filetrees?: string[] }>;
  cmdSeqs?: Record<string, string>;
}

/** Records lab `name` in the state store in `stateDir`: host → its part. */
export async function recordLab(stateDir: string, name: string, hosts: Record<string, LabHost>): Promise<void> {
  const plan: Plan = {
    scenario: name,
    segmentator: 'round-robin',
    backplane: 'vxlan',
    mapping: Object.fromEntries(Object.entries(hosts).flatMap(([host, h]) => Object.keys(h.vms).map((vm) => [vm, host]))),
    spanning: [],
    hosts: Object.fromEntries(
      Object.entries(hosts).map(([host, h]) => {
        const fragmentName = `${name}_${host}`;
        const fragmentXml = vnxFragment(fragmentName, h.vms, h.cmdSeqs ?? {});
        const fragment = parseScenarioText(fragmentXml, `${fragmentName}.xml`);
        return [host, { host, vms: Object.keys(h.vms), fragmentName, fragmentXml, fragment, backplane: [] }];
      }),
    ),
    quality: { spanningNets: 0, crossHostAttachments: 0, imbalance: 0 },
  };
  const store = await openStateStore({ kind: 'sqlite', dir: stateDir });
  try {
    await store.createScenario({ name, user: currentUser(), sourcePath: `${name}.xml`, cluster, segmentator: 'round-robin', makePlan: () => plan });
  } finally {
    await store.close();
  }
}
