// A small lab for the `ediv graph` tests, and its plan / graph for the emulated cluster.
import os from 'node:os';
import path from 'node:path';
import { graphOfPlan, type LabGraph } from '../../src/controller/graph.ts';
import { makePlan } from '../../src/controller/plan.ts';
import { emulatedCluster } from '../../src/emulated/layout.ts';
import type { Plan } from '../../src/protocol/plan.ts';
import { parseScenarioText } from '../../src/scenario/index.ts';

/** A lab for 2 round-robin hosts: a, c → host1; b → host2. */
export const GRAPH_LAB = `<vnx><global><version>2.0</version><scenario_name>g-lab</scenario_name></global>
  <net name="Net0" mode="virtual_bridge"/>
  <net name="lan.a-1" mode="virtual_bridge"/>
  <net name="virbr0" mode="virtual_bridge" managed="no"/>
  <net name="idle" mode="virtual_bridge"/>
  <vm name="a" type="lxc">
    <if id="1" net="Net0"><ipv4>10.0.0.1/24</ipv4><ipv6>2001:db8::1/64</ipv6></if>
    <if id="2" net="lan.a-1"><ipv4>dhcp</ipv4></if>
    <if id="3" net="virbr0"/>
    <if id="9" net="lo"><ipv4>10.255.0.1/32</ipv4></if>
  </vm>
  <vm name="b" type="lxc"><if id="1" net="Net0"><ipv4>10.0.0.2/24</ipv4></if><if id="2" net="virbr0"/></vm>
  <vm name="c" type="lxc"><if id="1" net="lan.a-1"><ipv4>10.1.0.3/24</ipv4></if></vm>
  <host><hostif net="Net0"><ipv4>10.0.0.254/24</ipv4></hostif></host>
</vnx>`;

/** The plan `ediv plan --local-hosts <hosts>` makes (the emulated cluster's dir is never used). */
export function planOf(xml: string, hosts: number): Promise<Plan> {
  const cluster = emulatedCluster(hosts, path.join(os.tmpdir(), 'ediv-graph-unused'));
  return makePlan({ scenario: parseScenarioText(xml, 'lab.xml'), cluster });
}

export async function graphOf(xml: string, hosts: number): Promise<LabGraph> {
  return graphOfPlan(await planOf(xml, hosts));
}
