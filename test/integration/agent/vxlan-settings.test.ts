// The cluster file's vxlan.port and trunkMTU through the real agent: two emulated hosts
// (namespaces edivt-vp1, edivt-vp2 joined by a veth pair, 198.18.251.0/24, MTU 1500), a net
// spanning both on the vxlan backplane with UDP port 14789 and a trunk MTU of 1400, so the VXLAN
// device, the bridge and the VM interfaces get 1350. Everything is removed by exact name.
import { expect } from 'chai';
import type { AgentExecResult, ApplyResult } from '../../../src/protocol/agent.ts';
import type { BackplaneLink } from '../../../src/protocol/plan.ts';
import { useTrunkedHostPair, destroyOnBothAndCheck, linksIn, namespacesWith, runAgent, sh, vnx } from './helpers.ts';

const H1 = 'edivt-vp1';
const H2 = 'edivt-vp2';
const DEP = 'edivt-vxp';
const VNI = 4343;
const PORT = 14789;
const TRUNK_MTU = 1400;
const MTU = TRUNK_MTU - 50;

const checks =
  '<exec seq="ping" type="verbatim">ping -c1 -W3 10.61.0.2</exec>' +
  // The largest IPv4 packet the VMs' MTU allows crosses unfragmented; one byte more does not leave the VM.
  `<exec seq="ping" type="verbatim">ping -c1 -W3 -M do -s ${MTU - 28} 10.61.0.2</exec>` +
  `<exec seq="ping" type="verbatim">! ping -c1 -W1 -M do -s ${MTU - 27} 10.61.0.2</exec>`;

const fragment1 = vnx(`${DEP}_host1`, ['N'], `<vm name="a1" type="lxc"><if id="1" net="N"><ipv4>10.61.0.1/24</ipv4></if>${checks}</vm>`);
const fragment2 = vnx(`${DEP}_host2`, ['N'], '<vm name="b1" type="lxc"><if id="1" net="N"><ipv4>10.61.0.2/24</ipv4></if></vm>');

function link(local: string, remote: string, more: Partial<BackplaneLink> = {}): BackplaneLink {
  return { kind: 'vxlan', net: 'N', id: VNI, trunk: 'eth0', localAddress: local, remotes: [remote], port: PORT, trunkMTU: TRUNK_MTU, ...more };
}

describe('integration: a vxlan backplane on a non-default UDP port, with a trunk MTU', function () {
  this.timeout(120_000);
  const state = useTrunkedHostPair({ h1: H1, h2: H2, net: '198.18.251', deployment: DEP });

  it('refuses a trunkMTU above the trunk interface’s MTU before making anything', async () => {
    const r = await runAgent(H1, 'apply', {
      deployment: DEP,
      host: 'host1',
      fragmentXml: fragment1,
      backplane: [link('198.18.251.1', '198.18.251.2', { trunkMTU: 9000 })],
    }, state[H1]);
    expect(r.code, JSON.stringify(r.result)).to.equal(1);
    expect(r.result.error?.message).to.match(/trunkMTU 9000 \(net N\) is more than the MTU 1500 of trunk interface eth0 on host host1; nothing was changed/);
    expect(namespacesWith(`${DEP}.`)).to.deep.equal([]);
    expect(linksIn(H1, ['lo', 'eth0'])).to.deep.equal([]);
  });

  it(`applies both fragments: the VXLAN device has dstport ${PORT} and MTU ${MTU} (trunkMTU ${TRUNK_MTU} - 50), the VM interfaces too`, async () => {
    const [r1, r2] = await Promise.all([
      runAgent(H1, 'apply', { deployment: DEP, host: 'host1', fragmentXml: fragment1, backplane: [link('198.18.251.1', '198.18.251.2')] }, state[H1]),
      runAgent(H2, 'apply', { deployment: DEP, host: 'host2', fragmentXml: fragment2, backplane: [link('198.18.251.2', '198.18.251.1')] }, state[H2]),
    ]);
    expect(r1.code, JSON.stringify(r1.result)).to.equal(0);
    expect(r2.code, JSON.stringify(r2.result)).to.equal(0);
    for (const [ns, local, result] of [[H1, '198.18.251.1', r1], [H2, '198.18.251.2', r2]] as const) {
      const vx = (result.result.result as ApplyResult).links.find((l) => l === `vxlan${VNI}`);
      expect(vx, `links of ${ns}`).to.equal(`vxlan${VNI}`);
      // What `ip -d link show` prints, as a person would read it ...
      const text = sh('ip', ['-n', ns, '-d', 'link', 'show', 'dev', vx!]);
      expect(text).to.match(new RegExp(`\\bmtu ${MTU}\\b`));
      expect(text).to.match(new RegExp(`vxlan id ${VNI} .*local ${local.replace(/\./g, '\\.')}.* dstport ${PORT}\\b`, 's'));
      // ... and as JSON.
      const details = JSON.parse(sh('ip', ['-n', ns, '-j', '-d', 'link', 'show', 'dev', vx!]))[0];
      expect(details.linkinfo.info_data).to.include({ id: VNI, local, port: PORT });
      expect(details.mtu).to.equal(MTU);
      expect(JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', details.master]))[0].mtu, 'bridge MTU').to.equal(MTU);
      // The kernel listens on the configured port, not on 4789.
      const udp = sh('ip', ['netns', 'exec', ns, 'ss', '-H', '-uln']);
      expect(udp).to.match(new RegExp(`:${PORT}\\b`));
      expect(udp).to.not.match(/:4789\b/);
    }
    const a1 = namespacesWith(`${DEP}.a1.`)[0]!;
    expect(JSON.parse(sh('ip', ['-n', a1, '-j', 'link', 'show', 'dev', 'eth1']))[0].mtu).to.equal(MTU);
  });

  it('a ping crosses from host1’s VM to host2’s over that port, full-MTU frames unfragmented', async () => {
    const r = await runAgent(H1, 'exec', { deployment: DEP, host: 'host1', seq: 'ping' }, state[H1]);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    const cmds = (r.result.result as AgentExecResult).vms[0]!.commands;
    expect(cmds).to.have.length(3);
    for (const c of cmds) expect(c.exitCode, `${c.command}\n${c.stdout}${c.stderr}`).to.equal(0);
  });

  it('a re-apply with another port and trunk MTU remakes the link (and the VM interfaces), and the ping still crosses', async () => {
    const more = { port: PORT + 1, trunkMTU: TRUNK_MTU - 100 };
    const [r1, r2] = await Promise.all([
      runAgent(H1, 'apply', { deployment: DEP, host: 'host1', fragmentXml: fragment1, backplane: [link('198.18.251.1', '198.18.251.2', more)] }, state[H1]),
      runAgent(H2, 'apply', { deployment: DEP, host: 'host2', fragmentXml: fragment2, backplane: [link('198.18.251.2', '198.18.251.1', more)] }, state[H2]),
    ]);
    expect(r1.code, JSON.stringify(r1.result)).to.equal(0);
    expect(r2.code, JSON.stringify(r2.result)).to.equal(0);
    for (const ns of [H1, H2]) {
      const details = JSON.parse(sh('ip', ['-n', ns, '-j', '-d', 'link', 'show', 'dev', `vxlan${VNI}`]))[0];
      expect(details.linkinfo.info_data.port).to.equal(PORT + 1);
      expect(details.mtu).to.equal(MTU - 100);
      expect(JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', details.master]))[0].mtu, 'bridge MTU').to.equal(MTU - 100);
    }
    const a1 = namespacesWith(`${DEP}.a1.`)[0]!;
    expect(JSON.parse(sh('ip', ['-n', a1, '-j', 'link', 'show', 'dev', 'eth1']))[0].mtu).to.equal(MTU - 100);
    const r = await runAgent(H1, 'exec', { deployment: DEP, host: 'host1', command: ['ping', '-c1', '-W3', '-M', 'do', '-s', String(MTU - 100 - 28), '10.61.0.2'] }, state[H1]);
    const c = (r.result.result as AgentExecResult).vms[0]!.commands[0]!;
    expect(c.exitCode, `${c.stdout}${c.stderr}`).to.equal(0);
  });

  it('destroy on both hosts leaves nothing on either', async () => {
    await destroyOnBothAndCheck(H1, H2, DEP, state);
  });
});
