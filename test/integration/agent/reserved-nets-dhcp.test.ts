// Interfaces VNX scenarios give that are not a plain static address on a declared net, on one
// host namespace (edivt-rd1): `<ipv4>dhcp</ipv4>` (the container VM's own DHCP client gets an
// address from a DHCP server — dnsmasq — that another VM of the lab runs), and the reserved nets
// `lo` (loopback addresses), `unconnected` (an interface plugged into nothing) and `vm_mgmt`.
import { expect } from 'chai';
import fs from 'node:fs';
import { initBinary } from '../../../src/host-agent/drivers/container/machine.ts';
import type { AgentExecResult, ProgressEvent } from '../../../src/protocol/agent.ts';
import { freshHostNs, isRoot, sh, linksIn, namespacesWith, removeNamespaces, runAgent, vnx, type AgentRun } from './helpers.ts';

const HOST = 'edivt-rd1';
const DEP = 'edivt-dhcp';
const haveTools = fs.existsSync('/usr/sbin/dnsmasq') && fs.existsSync('/sbin/dhclient') && initBinary() !== undefined;

const HOST_BRIDGE = 'edivtvbr0';
const fragment = vnx(
  DEP,
  ['N0', 'Spare', 'Lan2'],
  `  <vm name="srv" type="lxc">
    <if id="1" net="N0"><ipv4>10.78.0.1/24</ipv4></if>
    <if id="2" net="lo"><ipv4>10.255.0.1/32</ipv4></if>
    <if id="3" net="unconnected"><ipv4>10.79.0.1/24</ipv4></if>
    <exec seq="serve" type="verbatim">dnsmasq --interface=eth1 --bind-interfaces --port=0 --user=root --dhcp-range=10.78.0.50,10.78.0.59,255.255.255.0 --pid-file=/run/dnsmasq.pid --dhcp-leasefile=/run/dnsmasq.leases</exec>
    <exec seq="links" type="verbatim">ip -o -4 addr show dev lo; ip -o -4 addr show dev eth3</exec>
  </vm>
  <vm name="far" type="lxc">
    <if id="1" net="Lan2"><ipv4>10.78.0.9/24</ipv4></if>
    <exec seq="ping" type="verbatim">ping -c1 -W3 10.78.0.1</exec>
  </vm>
  <vm name="cli" type="lxc">
    <if id="1" net="N0"><ipv4>dhcp</ipv4></if>
    <if id="2" net="${HOST_BRIDGE}"><ipv4>10.80.0.2/24</ipv4></if>
    <exec seq="addr" type="verbatim">ip -o -4 addr show dev eth1</exec>
  </vm>`,
).replace('<net name="Spare"', `<net name="${HOST_BRIDGE}" mode="virtual_bridge" managed="no"/>\n  <net name="Spare"`)
  .replace('<net name="Lan2" mode="virtual_bridge"/>', '<net name="Lan2" mode="openvswitch"><connection name="c1" net="N0"/></net>');

describe('integration: DHCP interfaces, reserved nets (lo, unconnected), a host bridge (managed="no"), a net without VMs, a <connection>', function () {
  this.timeout(120_000);
  let stateDir: string;

  before(function () {
    if (isRoot && !haveTools) {
      console.log('    (skipped: needs dnsmasq, dhclient and catatonit or tini: run scripts/setup)');
      this.skip();
    }
    stateDir = freshHostNs(this, HOST, 'dhcp');
    // The host's own bridge (as libvirt's virbr0 is): the lab uses it, never removes it.
    sh('ip', ['-n', HOST, 'link', 'add', HOST_BRIDGE, 'type', 'bridge']);
  });

  after(async () => {
    if (!isRoot || !stateDir) return;
    await runAgent(HOST, 'destroy', { deployment: DEP, host: 'h1' }, stateDir);
    removeNamespaces([...namespacesWith(`${DEP}.`), HOST]);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const exec = async (seq: string, vm: string) => {
    const r = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq, vms: [vm] }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    return (r.result.result as AgentExecResult).vms[0]!.commands;
  };
  const warnings = (r: AgentRun) => r.lines.filter((l): l is ProgressEvent => l.type === 'progress' && l.step === 'warning').map((l) => l.message ?? '');

  it('a container VM whose address is dhcp gets one from the lab’s DHCP server', async () => {
    const r = await runAgent(HOST, 'apply', { deployment: DEP, host: 'h1', fragmentXml: fragment, backplane: [], driver: 'container' }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(warnings(r)).to.deep.equal([]);
    expect(await exec('addr', 'cli')).to.satisfy((c: { stdout: string }[]) => !/inet /.test(c[0]!.stdout));
    await exec('serve', 'srv');
    // dhclient started at boot keeps asking; the server has just come up.
    let text = '';
    for (let i = 0; i < 60 && !/inet 10\.78\.0\.5\d\/24/.test(text); i++) {
      await new Promise((res) => setTimeout(res, 500));
      text = (await exec('addr', 'cli'))[0]!.stdout;
    }
    expect(text).to.match(/inet 10\.78\.0\.5\d\/24/);
  });

  it('an interface on lo adds a loopback address; one on unconnected is in the VM, plugged into nothing', async () => {
    const [links] = await exec('links', 'srv');
    expect(links!.stdout).to.match(/lo\s+inet 10\.255\.0\.1\/32/);
    expect(links!.stdout).to.match(/eth3\s+inet 10\.79\.0\.1\/24/);
    // On the host side: srv's and cli's eth1 on the net's bridge; cli's eth2 on the host's own
    // bridge; srv's eth3 on none; nothing for lo; a bridge for Spare, which no VM is on.
    const hostLinks = JSON.parse(sh('ip', ['-n', HOST, '-j', '-d', 'link', 'show'])) as { ifname: string; master?: string; linkinfo?: { info_kind?: string } }[];
    const veths = hostLinks.filter((l) => l.linkinfo?.info_kind === 'veth');
    expect(veths).to.have.length(7); // srv 2, cli 2, far 1, the connection's 2 ends
    expect(veths.filter((l) => l.master === undefined)).to.have.length(1);
    expect(veths.filter((l) => l.master === HOST_BRIDGE)).to.have.length(1);
    const bridges = hostLinks.filter((l) => l.linkinfo?.info_kind === 'bridge').map((l) => l.ifname);
    expect(bridges).to.have.length(4); // N0's, Spare's, Lan2's, the host's own
  });

  it('a <connection> links two nets: a VM on Lan2 reaches one on N0', async () => {
    const [ping] = await exec('ping', 'far');
    expect(ping!.exitCode, ping!.stdout + ping!.stderr).to.equal(0);
  });

  it('destroy leaves nothing but the host’s own bridge (the DHCP client and server died with their VMs)', async () => {
    const r = await runAgent(HOST, 'destroy', { deployment: DEP, host: 'h1' }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(namespacesWith(`${DEP}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([HOST_BRIDGE]);
  });
});
