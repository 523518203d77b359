// Two emulated hosts (namespaces edivt-h1, edivt-h2 joined by a veth pair, 198.18.250.0/24),
// each with its own agent state directory, a net spanning both on the vxlan backplane.
import { expect } from 'chai';
import fs from 'node:fs';
import type { AgentExecResult, ApplyResult } from '../../../src/protocol/agent.ts';
import { useTrunkedHostPair, destroyOnBothAndCheck, namespacesWith, runAgent, sh, vnx } from './helpers.ts';

const H1 = 'edivt-h1';
const H2 = 'edivt-h2';
const DEP = 'edivt-vx';
const VNI = 4242;

const checks =
  '<exec seq="ping" type="verbatim">ping -c1 -W3 10.60.0.2 &amp;&amp; ping -c1 -W3 10.60.0.3</exec>' +
  '<exec seq="ping" type="verbatim">ping -c1 -W3 -M do -s 1422 10.60.0.2</exec>' +
  '<exec seq="ping" type="verbatim">ping -c1 -W3 -6 2001:db8:60::2</exec>';

const fragment1 = vnx(
  `${DEP}_host1`,
  ['N'],
  `<vm name="a1" type="lxc"><if id="1" net="N"><ipv4>10.60.0.1/24</ipv4><ipv6>2001:db8:60::1/64</ipv6></if>${checks}</vm>`,
);
const fragment2 = vnx(
  `${DEP}_host2`,
  ['N'],
  '<vm name="b1" type="lxc"><if id="1" net="N"><ipv4>10.60.0.2/24</ipv4><ipv6>2001:db8:60::2/64</ipv6></if></vm>' +
    '<vm name="b2" type="lxc"><if id="1" net="N"><ipv4>10.60.0.3/24</ipv4></if></vm>',
);

describe('integration: two hosts, a net spanning both on vxlan', function () {
  this.timeout(120_000);
  const state = useTrunkedHostPair({ h1: H1, h2: H2, net: '198.18.250', deployment: DEP });

  it('applies both fragments with their vxlan backplane; MTU = trunk - 50 on the device and the VM interfaces', async () => {
    const [r1, r2] = await Promise.all([
      runAgent(H1, 'apply', {
        deployment: DEP,
        host: 'host1',
        fragmentXml: fragment1,
        backplane: [{ kind: 'vxlan', net: 'N', id: VNI, trunk: 'eth0', localAddress: '198.18.250.1', remotes: ['198.18.250.2'] }],
      }, state[H1]),
      runAgent(H2, 'apply', {
        deployment: DEP,
        host: 'host2',
        fragmentXml: fragment2,
        backplane: [{ kind: 'vxlan', net: 'N', id: VNI, trunk: 'eth0', localAddress: '198.18.250.2', remotes: ['198.18.250.1'] }],
      }, state[H2]),
    ]);
    expect(r1.code, JSON.stringify(r1.result)).to.equal(0);
    expect(r2.code, JSON.stringify(r2.result)).to.equal(0);
    // Namespace names differ per host although the deployment and the machine are the same.
    expect(namespacesWith(`${DEP}.`)).to.have.length(3);
    const vx = (r1.result.result as ApplyResult).links.find((l) => l === `vxlan${VNI}`)!; // named after its VNI, as the fragment's external says
    const details = JSON.parse(sh('ip', ['-n', H1, '-j', '-d', 'link', 'show', 'dev', vx]))[0];
    expect(details.linkinfo.info_kind).to.equal('vxlan');
    expect(details.linkinfo.info_data).to.include({ id: VNI, local: '198.18.250.1', port: 4789 });
    expect(details.mtu).to.equal(1450);
    expect(sh('bridge', ['-n', H1, 'fdb', 'show', 'dev', vx])).to.contain('00:00:00:00:00:00 dst 198.18.250.2');
    const a1 = namespacesWith(`${DEP}.a1.`)[0];
    expect(JSON.parse(sh('ip', ['-n', a1, '-j', 'link', 'show', 'dev', 'eth1']))[0].mtu).to.equal(1450);
  });

  it('VMs on different hosts ping each other (IPv4, IPv6, full-MTU frames unfragmented)', async () => {
    const r = await runAgent(H1, 'exec', { deployment: DEP, host: 'host1', seq: 'ping' }, state[H1]);
    const cmds = (r.result.result as AgentExecResult).vms[0].commands;
    for (const c of cmds) expect(c.exitCode, `${c.command}\n${c.stdout}${c.stderr}`).to.equal(0);
  });

  it('destroy on both hosts leaves nothing on either', async () => {
    await destroyOnBothAndCheck(H1, H2, DEP, state);
    expect(fs.readdirSync(`${state[H1]}/deployments`)).to.deep.equal([]);
    expect(fs.readdirSync(`${state[H2]}/deployments`)).to.deep.equal([]);
  });
});
