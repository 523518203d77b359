import { expect } from 'chai';
import { checkBridgePorts, MAX_BRIDGE_PORTS } from '../../../src/host-agent/drivers/netns/bridge-limit.ts';
import type { DesiredState, NetSpec, VmSpec } from '../../../src/host-agent/drivers/netns/desired.ts';
import { InputError } from '../../../src/common/errors.ts';

function vm(i: number, nets: string[]): VmSpec {
  return {
    vm: `v${i}`,
    netns: `lab.v${i}.tag`,
    ifaces: nets.map((net, k) => ({ id: k + 1, inner: `eth${k + 1}`, outer: `ev${i}x${k}`, net, bridge: `eb${net}`, ipv4: [], ipv6: [] })),
    routes: [],
    forwarding: { ipv4: false, ipv6: false },
    filetreeRoots: [],
    hash: 'h',
  };
}

/** `count` VMs with one interface on net A, plus (every other VM) one on net B. */
function desired(count: number, backplaneOnA = false): DesiredState {
  const a: NetSpec = { net: 'A', bridge: 'ebA' };
  if (backplaneOnA) a.backplane = { kind: 'vxlan', dev: 'exA', id: 5, trunk: 'eth9', remotes: [] };
  return {
    nets: [a, { net: 'B', bridge: 'ebB' }],
    connections: [],
    vms: Array.from({ length: count }, (_, i) => vm(i, i % 2 ? ['A', 'B'] : ['A'])),
  };
}

function refusal(fn: () => void): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected the apply to be refused');
}

describe('host-agent bridge port limit', () => {
  it('accepts a net with exactly as many VM interfaces as a bridge holds', () => {
    expect(MAX_BRIDGE_PORTS).to.equal(1023);
    expect(() => checkBridgePorts(desired(1023), 'h1')).not.to.throw();
  });

  it('refuses a net with one VM interface more, naming the net, the count, the host and the limit', () => {
    const err = refusal(() => checkBridgePorts(desired(1024), 'h1'));
    expect(err.problems).to.have.length(1); // net B has only 512
    expect(err.message).to.include('net A would have 1024 VM interface(s) on host h1');
    expect(err.message).to.include('at most 1023 ports');
    expect(err.exitCode).to.equal(2);
  });

  it('counts the backplane link as a port of its net', () => {
    expect(() => checkBridgePorts(desired(1022, true), 'h1')).not.to.throw();
    const err = refusal(() => checkBridgePorts(desired(1023, true), 'h1'));
    expect(err.message).to.include('net A would have 1023 VM interface(s) and a backplane link on host h1');
  });

  it('counts interfaces of VMs the apply leaves in place', () => {
    expect(() => checkBridgePorts(desired(10), 'h1', new Map([['B', 1018]]))).not.to.throw();
    const err = refusal(() => checkBridgePorts(desired(10), 'h1', new Map([['B', 1019]])));
    expect(err.message).to.include('net B would have 1024 VM interface(s)');
  });
});
