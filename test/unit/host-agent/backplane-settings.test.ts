// A backplane link's `port` and `trunkMTU` (the cluster file's vxlan.port and trunkMTU) on the
// host agent: the apply request's validation, the lines the vlan and vxlan backplanes run, and
// the trunk check made before anything. Pure logic: nothing is made.
import { expect } from 'chai';
import { InputError, OperationError } from '../../../src/common/errors.ts';
import type { BackplaneLink } from '../../../src/protocol/plan.ts';
import { checkTrunks } from '../../../src/host-agent/backplanes/registry.ts';
import { vlanLines } from '../../../src/host-agent/backplanes/vlan.ts';
import { vxlanLines } from '../../../src/host-agent/backplanes/vxlan.ts';
import { bridgeLines, vmHostLines } from '../../../src/host-agent/drivers/netns/commands.ts';
import { desiredState, netSpecHash } from '../../../src/host-agent/drivers/netns/desired.ts';
import { NameAllocator } from '../../../src/host-agent/naming.ts';
import { validateRequest } from '../../../src/host-agent/validate.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';

const vxlan: BackplaneLink = { kind: 'vxlan', net: 'N', id: 1001, trunk: 'eth0', localAddress: '198.18.0.11', remotes: ['198.18.0.12'] };
const vlan: BackplaneLink = { kind: 'vlan', net: 'N', id: 1234, trunk: 'eth0', remotes: [] };

const FRAGMENT = `<?xml version="1.0" encoding="UTF-8"?>
<vnx>
  <global><version>2.0</version><scenario_name>lab_h1</scenario_name></global>
  <net name="N" mode="virtual_bridge"/>
  <vm name="a" type="lxc"><if id="1" net="N"><ipv4>10.0.0.1/24</ipv4></if></vm>
</vnx>
`;

/** The net N as the agent would build it, its trunk interface having MTU `trunkMtu`. */
function netOf(link: BackplaneLink, trunkMtu = 1500) {
  const d = desiredState({
    scenario: parseScenarioText(FRAGMENT, 'lab_h1.xml'),
    deployment: 'lab',
    tag: 'tag1',
    backplane: [link],
    names: new NameAllocator('tag1', [], []),
    trunkMtu: () => trunkMtu,
  });
  return { net: d.nets.find((n) => n.net === 'N')!, vm: d.vms[0]! };
}

function problems(link: Record<string, unknown>): string[] {
  try {
    validateRequest('apply', { deployment: 'lab', host: 'h1', fragmentXml: '<vnx/>', backplane: [link] });
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return (err as InputError).problems.map((p) => p.message);
  }
  return [];
}

describe('backplane link settings: port and trunkMTU', () => {
  describe('the apply request validation', () => {
    it('accepts links with and without them (requests made before they existed keep the defaults)', () => {
      expect(problems({ ...vxlan })).to.deep.equal([]);
      expect(problems({ ...vxlan, port: 14789, trunkMTU: 9000 })).to.deep.equal([]);
      expect(problems({ ...vxlan, port: 1, trunkMTU: 118 })).to.deep.equal([]);
      expect(problems({ ...vxlan, port: 65535, trunkMTU: 65535 })).to.deep.equal([]);
      expect(problems({ ...vlan, trunkMTU: 68 })).to.deep.equal([]);
    });

    it('refuses a port that is not a UDP port, and a port on a vlan link', () => {
      for (const port of [0, 65536, -5, 4789.5, '4789', null]) {
        expect(problems({ ...vxlan, port }), JSON.stringify(port)).to.deep.equal(['backplane[0].port: must be a UDP port, an integer 1..65535']);
      }
      expect(problems({ ...vlan, port: 4789 })).to.deep.equal(['backplane[0].port: a vlan link has no port']);
    });

    it('refuses an impossible trunk MTU: out of 68..65535, or too small for the encapsulation', () => {
      for (const trunkMTU of [67, 65536, 1500.5, '1500', 0]) {
        expect(problems({ ...vxlan, trunkMTU }), JSON.stringify(trunkMTU)).to.deep.equal(['backplane[0].trunkMTU: must be an integer 68..65535']);
      }
      expect(problems({ ...vxlan, trunkMTU: 117 })).to.deep.equal(['backplane[0].trunkMTU: 117 leaves 67 bytes after the 50-byte VXLAN encapsulation; at least 118']);
      expect(problems({ ...vxlan, localAddress: '2001:db8::1', remotes: ['2001:db8::2'], trunkMTU: 137 })).to.deep.equal([
        'backplane[0].trunkMTU: 137 leaves 67 bytes after the 70-byte VXLAN encapsulation; at least 138',
      ]);
      // A bad localAddress is reported as such, not as a crash of the MTU check.
      expect(problems({ ...vxlan, localAddress: 42, trunkMTU: 1500 })).to.deep.equal(['backplane[0].localAddress: must be an IP address']);
    });
  });

  describe('the lines the backplanes run', () => {
    it('vxlan: dstport and the MTU derived from trunkMTU on the device, the bridge and the VM interfaces', () => {
      const { net, vm } = netOf({ ...vxlan, port: 14789, trunkMTU: 1400 });
      const b = net.backplane!;
      expect(vxlanLines(net, b)).to.deep.equal([
        `link add name ${b.dev} mtu 1350 type vxlan id 1001 local 198.18.0.11 dstport 14789 dev eth0`,
        `link set dev ${b.dev} master ${net.bridge} up`,
      ]);
      expect(bridgeLines(net)).to.deep.equal([`link add name ${net.bridge} mtu 1350 type bridge`]);
      expect(vmHostLines(vm)[1]).to.match(/ mtu 1350 type veth peer name eth1 mtu 1350 /);
      // Over IPv6 the encapsulation is 70 bytes.
      const v6 = netOf({ ...vxlan, localAddress: '2001:db8::1', remotes: ['2001:db8::2'], trunkMTU: 1400 }).net;
      expect(vxlanLines(v6, v6.backplane!)[0]).to.equal(`link add name ${v6.backplane!.dev} mtu 1330 type vxlan id 1001 local 2001:db8::1 dstport 4789 dev eth0`);
    });

    it('vxlan defaults unchanged: port 4789, MTU = the trunk interface’s - 50; an explicit 4789 builds (and hashes) the same', () => {
      const plain = netOf(vxlan).net;
      const b = plain.backplane!;
      expect(vxlanLines(plain, b)).to.deep.equal([
        `link add name ${b.dev} mtu 1450 type vxlan id 1001 local 198.18.0.11 dstport 4789 dev eth0`,
        `link set dev ${b.dev} master ${plain.bridge} up`,
      ]);
      const explicit = netOf({ ...vxlan, port: 4789 }).net;
      expect(explicit).to.deep.equal(plain);
      expect(netSpecHash(explicit)).to.equal(netSpecHash(plain));
      // Another port is another link: the net's hash changes, so a re-apply remakes it.
      expect(netSpecHash(netOf({ ...vxlan, port: 14789 }).net)).to.not.equal(netSpecHash(plain));
      // A jumbo trunk interface without trunkMTU: derived from the interface, as before.
      expect(netOf(vxlan, 9000).net.mtu).to.equal(8950);
      // trunkMTU wins over the interface's MTU.
      expect(netOf({ ...vxlan, trunkMTU: 1500 }, 9000).net.mtu).to.equal(1450);
    });

    it('vlan: trunkMTU on the subinterface, the bridge and the VM interfaces; without it, the lines of before', () => {
      const { net, vm } = netOf({ ...vlan, trunkMTU: 1400 });
      expect(vlanLines(net, net.backplane!)).to.deep.equal([
        'link add link eth0 name eth0.1234 mtu 1400 type vlan id 1234',
        `link set dev eth0.1234 master ${net.bridge} up`,
      ]);
      expect(bridgeLines(net)).to.deep.equal([`link add name ${net.bridge} mtu 1400 type bridge`]);
      expect(vmHostLines(vm)[1]).to.match(/ mtu 1400 type veth peer name eth1 mtu 1400 /);
      const plain = netOf(vlan, 9000).net;
      expect(vlanLines(plain, plain.backplane!)[0]).to.equal('link add link eth0 name eth0.1234 type vlan id 1234');
      expect(plain.mtu).to.equal(undefined);
    });
  });

  describe('the trunk check before anything is made', () => {
    it('refuses a trunkMTU above the trunk interface’s MTU, naming both and the fix', () => {
      const links = new Map([['eth0', { mtu: 1500 }]]);
      expect(() => checkTrunks([{ ...vxlan, trunkMTU: 9000 }], links, 'h1')).to.throw(
        OperationError,
        /trunkMTU 9000 \(net N\) is more than the MTU 1500 of trunk interface eth0 on host h1; nothing was changed: raise .*ip link set dev eth0 mtu 9000.* or lower trunkMTU/,
      );
      expect(() => checkTrunks([{ ...vlan, trunkMTU: 1501 }], links, 'h1')).to.throw(OperationError, /more than the MTU 1500/);
      expect(() => checkTrunks([{ ...vxlan, trunkMTU: 1500 }], links, 'h1')).not.to.throw();
      expect(() => checkTrunks([{ ...vxlan, trunkMTU: 1400 }], links, 'h1')).not.to.throw();
      expect(() => checkTrunks([vxlan], links, 'h1')).not.to.throw();
    });
  });
});
