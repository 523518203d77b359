// End to end: `ediv rebalance --dry-run` from live figures (issue 17's rebalance, without the
// moves: `ediv move` is not there yet). Emulated cluster instance 48, 3 hosts. Three VMs are
// pinned to host1 at deploy (a restriction file) and each runs a busy loop; a fourth idles on
// host2. The plan from a CPU sample brings host1 under the threshold by moving its busy VMs to
// the other hosts; with the pins given again, nothing can move and host1 is reported; nothing
// is touched either way (the lab's mapping and VM processes are as before).
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { ediv, useLabState, type CliResult } from './helpers.ts';

const K = 48;
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const SCENARIO = `<?xml version="1.0"?>
<vnx><global><version>2.0</version><scenario_name>busy</scenario_name></global>
<net name="n1" mode="virtual_bridge"/><net name="n2" mode="virtual_bridge"/><net name="n3" mode="virtual_bridge"/><net name="n4" mode="virtual_bridge"/>
${['a', 'b', 'c', 'd'].map((vm, i) => `<vm name="${vm}" type="lxc"><if id="1" net="n${i + 1}"><ipv4>10.48.${i}.1/24</ipv4></if>
  <exec seq="spin" type="verbatim">sh -c 'while :; do :; done' &gt;/dev/null 2&gt;&amp;1 &amp; echo $! &gt; /tmp/spin</exec>
  <exec seq="rest" type="verbatim">kill $(cat /tmp/spin)</exec></vm>`).join('\n')}
</vnx>
`;
const PINS = `<deployment_restrictions>${['a', 'b', 'c'].map((vm) => `<vm_deploy_at vm="${vm}" host="host1"/>`).join('')}<vm_deploy_at vm="d" host="host2"/></deployment_restrictions>`;

describe('e2e: rebalance --dry-run plans moves from a live CPU sample', function () {
  this.timeout(300_000);
  const ec = useEmulatedCluster({ instance: K, hosts: 3, timeoutMs: 120_000 });
  const lab = useLabState(ec, 'rebalance');
  let scenario = '';
  let pins = '';
  const run = (args: string[]): Promise<CliResult> => ediv([...args, '--cluster', ec.clusterFile, '--state', lab.state()]);
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  before(async function () {
    scenario = path.join(lab.work(), 'busy.xml');
    pins = path.join(lab.work(), 'pins.xml');
    fs.writeFileSync(scenario, SCENARIO);
    fs.writeFileSync(pins, PINS);
    const dep = await run(['deploy', scenario, '--restrictions', pins, '--segmentator', 'constraints', '--json']);
    expect(dep.code, show(dep)).to.equal(0);
    const spin = await run(['exec', 'busy', 'spin', '--vm', 'a', '--vm', 'b', '--vm', 'c', '--json']);
    expect(spin.code, show(spin)).to.equal(0);
  });
  after(async () => {
    await run(['exec', 'busy', 'rest', '--vm', 'a', '--vm', 'b', '--vm', 'c']);
    await run(['undeploy', 'busy']);
  });

  const mapping = async () => Object.fromEntries(((await run(['status', 'busy', '--json'])).json.scenarios[0].vms as Json[]).map((v) => [v.vm, v.host]));

  it('moves the busy VMs off the overloaded host until none is above the threshold; nothing is touched', async () => {
    const before = await mapping();
    expect(before).to.deep.equal({ a: 'host1', b: 'host1', c: 'host1', d: 'host2' });
    const r = await run(['rebalance', 'busy', '--max-load', '0.6', '--sample', '1', '--dry-run', '--json']);
    expect(r.code, show(r)).to.equal(0);
    // Three spinning VMs share this machine's CPUs (every emulated host reports all of them).
    for (const vm of ['a', 'b', 'c']) expect(r.json.vmCpu[vm], vm).to.be.greaterThan(20);
    expect(r.json.vmCpu.d).to.be.below(10);
    const host1 = (r.json.loads as Json[]).find((l) => l.host === 'host1');
    expect(host1.before).to.be.greaterThan(0.6);
    expect(r.json.over).to.deep.equal([]);
    expect((r.json.loads as Json[]).every((l) => l.after <= 0.6 + 1e-9), JSON.stringify(r.json.loads)).to.equal(true);
    expect(r.json.moves.length).to.be.greaterThan(0);
    for (const m of r.json.moves as Json[]) expect([m.from, ['a', 'b', 'c'].includes(m.vm)]).to.deep.equal(['host1', true]);
    expect(r.json.applied).to.equal(false);
    expect(await mapping(), 'nothing moved').to.deep.equal(before);
    const text = await run(['rebalance', 'busy', '--max-load', '0.6', '--sample', '1', '--dry-run']);
    expect(text.stdout).to.match(/busy: \d move\(s\) to stay under 60% of each host's CPUs/);
  });

  it('with the pins given again nothing can move: host1 is reported; without --dry-run: exit 2, nothing done', async () => {
    const r = await run(['rebalance', 'busy', '--max-load', '0.6', '--sample', '1', '--dry-run', '--restrictions', pins, '--json']);
    expect(r.code, show(r)).to.equal(0);
    expect(r.json.moves).to.deep.equal([]);
    expect(r.json.over).to.deep.equal(['host1']);
    const real = await run(['rebalance', 'busy', '--max-load', '0.6']);
    expect(real.code).to.equal(2);
    expect(real.stderr).to.match(/give --dry-run to see the plan/);
  });
});
