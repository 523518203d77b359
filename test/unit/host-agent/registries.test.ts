// The host agent's driver and backplane registries, and the protocol's backplane descriptors
// they share with the controller (pure logic: nothing is made).
import { expect } from 'chai';
import { InputError, OperationError } from '../../../src/common/errors.ts';
import type { Capabilities } from '../../../src/protocol/agent.ts';
import { BACKPLANES, DEFAULT_BACKPLANE, isBackplaneKind } from '../../../src/protocol/backplane.ts';
import { BACKPLANE_KINDS, type ClusterHost } from '../../../src/protocol/cluster.ts';
import type { BackplaneLink } from '../../../src/protocol/plan.ts';
import { backplaneBinding } from '../../../src/controller/split.ts';
import { DEFAULT_DRIVER, driverFor, driverNames } from '../../../src/host-agent/drivers/registry.ts';
import { backplaneFor, backplanes, checkBackplaneSupport, checkTrunks } from '../../../src/host-agent/backplanes/registry.ts';
import { NameAllocator } from '../../../src/host-agent/naming.ts';
import { validateRequest } from '../../../src/host-agent/validate.ts';
import { checkFragment } from '../../../src/host-agent/fragment.ts';
import type { Scenario } from '../../../src/scenario/model.ts';

const ALL: Capabilities = { netns: true, bridge: true, veth: true, vxlan: true, vlan8021q: true };
const vlanLink: BackplaneLink = { kind: 'vlan', net: 'A', id: 1234, trunk: 'eth0', remotes: [] };
const vxlanLink: BackplaneLink = { kind: 'vxlan', net: 'B', id: 1001, trunk: 'eth0', localAddress: '198.18.0.11', remotes: ['198.18.0.12'] };

function applyRequest(more: Record<string, unknown>): Record<string, unknown> {
  return { deployment: 'lab', host: 'h1', fragmentXml: '<vnx/>', backplane: [], ...more };
}

describe('host-agent driver registry', () => {
  it('has the netns and container drivers, netns the default', () => {
    expect(driverNames()).to.deep.equal(['netns', 'container']);
    expect(driverFor('container').name).to.equal('container');
    expect(DEFAULT_DRIVER).to.equal('netns');
    expect(driverFor().name).to.equal('netns');
    expect(driverFor('netns')).to.equal(driverFor());
  });

  it('an unknown driver is a clear error naming the known ones', () => {
    expect(() => driverFor('kvm')).to.throw(OperationError, /unknown driver "kvm" \(available: netns, container\)/);
  });

  it('an apply request naming an unknown driver is refused as bad input, listing the available ones', () => {
    expect(() => validateRequest('apply', applyRequest({ driver: 'kvm' }))).to.throw(InputError, /driver: unknown driver "kvm" \(available: netns, container\)/);
    expect(() => validateRequest('apply', applyRequest({ driver: 'netns' }))).not.to.throw();
    expect(() => validateRequest('apply', applyRequest({}))).not.to.throw();
  });

  it('netns preflight refuses a kernel without namespaces, bridges or veths, naming what is missing', () => {
    const netns = driverFor('netns');
    expect(() => netns.preflight({ ...ALL, bridge: false, veth: false }, () => {})).to.throw(OperationError, /lacks Linux bridges, veth pairs/);
    expect(() => netns.preflight({ ...ALL, netns: false }, () => {})).to.throw(OperationError, /network namespaces/);
  });

  it('netns scenario problems (filetree roots) join the VM-selection problems of the fragment check', () => {
    const extra = () => ({ attrs: {}, children: [] });
    const scenario = {
      name: 'lab',
      global: { version: '2.0', extra: extra() },
      nets: [],
      vms: [
        {
          name: 'r1', ifaces: [], routes: [], execs: [], extra: extra(),
          filetrees: [{ seq: 'on_boot', root: 'relative/dir', source: 'x' }],
        },
      ],
      cmdSeqs: new Map(),
      source: { format: 'vnx', path: 'lab.xml', version: '2.0' },
      extra: extra(),
    } as unknown as Scenario;
    const problems = (() => {
      try {
        checkFragment(scenario, driverFor('netns'), ['r9']);
      } catch (err) {
        return (err as InputError).problems.map((p) => p.message);
      }
      return [];
    })();
    expect(problems).to.have.length(2);
    expect(problems[0]).to.equal('VM r9 is not in the fragment');
    expect(problems[1]).to.match(/^VM r1: filetree root "relative\/dir" must be an absolute path/);
  });
});

describe('host-agent backplane registry', () => {
  it('has one backplane per kind, carrying the protocol descriptor of its kind', () => {
    expect(backplanes().map((b) => b.descriptor.kind)).to.deep.equal([...BACKPLANE_KINDS]);
    for (const kind of BACKPLANE_KINDS) expect(backplaneFor(kind).descriptor).to.equal(BACKPLANES[kind]);
    expect(() => backplaneFor('gre' as never)).to.throw(OperationError, /unknown backplane "gre" \(known: vlan, vxlan\)/);
    expect(isBackplaneKind('vxlan')).to.equal(true);
    expect(isBackplaneKind('netns')).to.equal(false);
    expect(DEFAULT_BACKPLANE).to.equal('vlan');
  });

  it('refuses each kind only where the kernel lacks its capability', () => {
    expect(() => checkBackplaneSupport({ ...ALL, vlan8021q: false }, [vlanLink, { ...vlanLink, net: 'C' }])).to.throw(
      OperationError,
      /no 802\.1q.*net\(s\) A, C.*nothing was changed.*backplane: vxlan/s,
    );
    expect(() => checkBackplaneSupport({ ...ALL, vxlan: false }, [vxlanLink])).to.throw(OperationError, /cannot make VXLAN devices/);
    // A missing capability of a kind the request does not use is no problem.
    expect(() => checkBackplaneSupport({ ...ALL, vlan8021q: false }, [vxlanLink])).not.to.throw();
    expect(() => checkBackplaneSupport({ ...ALL, vxlan: false }, [vlanLink])).not.to.throw();
    expect(() => checkBackplaneSupport({ ...ALL, vxlan: false, vlan8021q: false }, [])).not.to.throw();
  });

  it('vlan is checked before vxlan (the 8021q hint comes first when both are missing)', () => {
    expect(() => checkBackplaneSupport({ ...ALL, vxlan: false, vlan8021q: false }, [vxlanLink, vlanLink])).to.throw(/802\.1q/);
  });

  it('refuses a trunk the host does not have', () => {
    expect(() => checkTrunks([vlanLink], new Map([['eth1', {}]]), 'h1')).to.throw(OperationError, /trunk interface eth0 \(net A\) does not exist on host h1/);
    expect(() => checkTrunks([vlanLink], new Map([['eth0', {}]]), 'h1')).not.to.throw();
  });

  it('MTU overhead: none for vlan, 50 (IPv4) / 70 (IPv6 underlay) for vxlan', () => {
    expect(backplaneFor('vlan').mtuOverhead(vlanLink)).to.equal(0);
    expect(backplaneFor('vxlan').mtuOverhead(vxlanLink)).to.equal(50);
    expect(backplaneFor('vxlan').mtuOverhead({ ...vxlanLink, localAddress: '2001:db8::1' })).to.equal(70);
  });

  it('link names: vlan is the allocator-free <trunk>.<id>, vxlan vxlan<VNI> (allocated: ex… when that is taken)', () => {
    const naming = { tag: 'tag1', deployment: 'lab', names: new NameAllocator('tag1', [], []) };
    expect(backplaneFor('vlan').linkName(vlanLink, naming)).to.equal('eth0.1234');
    expect(backplaneFor('vlan').allocatedNames).to.equal(false);
    expect(backplaneFor('vxlan').linkName(vxlanLink, naming)).to.equal(`vxlan${vxlanLink.id}`);
    const taken = { ...naming, names: new NameAllocator('tag1', [], [`vxlan${vxlanLink.id}`]) };
    expect(backplaneFor('vxlan').linkName(vxlanLink, taken)).to.match(/^ex[a-z2-7]{13}$/);
    expect(backplaneFor('vxlan').allocatedNames).to.equal(true);
    expect(backplaneFor('vlan').peerLines({ ...vlanLink, dev: 'eth0.1234' })).to.deep.equal([]);
  });
});

describe('backplane descriptors shared by the controller and the host agent', () => {
  const host = { name: 'h1', trunk: 'eth0' } as ClusterHost;

  it('split binds a spanning net to the descriptor’s external name: <trunk>.<id> for vlan, vxlan<id> for vxlan', () => {
    expect(backplaneBinding('vlan', host, 1234)).to.equal('eth0.1234');
    expect(backplaneBinding('vxlan', host, 1234)).to.equal('vxlan1234');
    for (const kind of BACKPLANE_KINDS) expect(backplaneBinding(kind, host, 7)).to.equal(BACKPLANES[kind].external('eth0', 7));
  });

  it('the fragment’s vlan external is the subinterface the host agent makes', () => {
    const naming = { tag: 't', deployment: 'd', names: new NameAllocator('t', [], []) };
    expect(backplaneFor('vlan').linkName(vlanLink, naming)).to.equal(backplaneBinding('vlan', host, vlanLink.id));
  });

  it('each descriptor names a facts capability, and the id ranges are 802.1q VLAN ids and VNIs', () => {
    expect(BACKPLANES.vlan).to.include({ capability: 'vlan8021q', maxId: 4094, needsLocalAddress: false, namedAfterTrunk: true });
    expect(BACKPLANES.vxlan).to.include({ capability: 'vxlan', maxId: 16777215, needsLocalAddress: true, namedAfterTrunk: false });
    for (const kind of BACKPLANE_KINDS) expect(Object.keys(ALL)).to.include(BACKPLANES[kind].capability);
  });

  it('validation takes ids and required fields from the descriptors', () => {
    const bad = (b: Record<string, unknown>) => () => validateRequest('apply', applyRequest({ backplane: [b] }));
    expect(bad({ ...vlanLink, id: 4095 })).to.throw(InputError, /backplane\[0\]\.id: must be an integer 1\.\.4094/);
    expect(bad({ ...vxlanLink, id: 4095 })).not.to.throw();
    expect(bad({ ...vxlanLink, localAddress: undefined })).to.throw(InputError, /localAddress: is required for vxlan/);
    expect(bad({ ...vlanLink, kind: 'gre' })).to.throw(InputError, /kind: must be "vlan" or "vxlan"/);
  });
});
