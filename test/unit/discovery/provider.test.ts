// inventoryProvider over a VmInventory (the seam between discovery and the host agent), with an
// in-memory inventory: only this host's VMs are served, actions report the state afterwards.
import { expect } from 'chai';
import type { VmState } from '../../../src/protocol/agent.ts';
import type { InventoryVm, VmAction, VmInventory } from '../../../src/protocol/vm-inventory.ts';
import { inventoryProvider } from '../../../src/discovery/provider.ts';

function memoryInventory(vms: InventoryVm[]): VmInventory & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    list: async () => vms.map((v) => ({ ...v })),
    async act(deployment: string, vm: string, action: VmAction): Promise<VmState> {
      calls.push(`${deployment}/${vm} ${action}`);
      const v = vms.find((x) => x.deployment === deployment && x.vm === vm)!;
      if (action === 'stop') v.state = 'stopped';
      return v.state;
    },
  };
}

describe('discovery: inventory provider', () => {
  const vms = (): InventoryVm[] => [
    { deployment: 'lab', vm: 'a1', host: 'h1', state: 'running' },
    { deployment: 'lab', vm: 'b1', host: 'h2', state: 'running' },
    { deployment: 'old', vm: 'c1', host: '', state: 'missing' },
  ];

  it('lists only this host’s VMs (and those of no known host)', async () => {
    const p = inventoryProvider(memoryInventory(vms()), 'h1', ['/state']);
    expect(await p.list()).to.deep.equal([
      { deployment: 'lab', vm: 'a1', state: 'running' },
      { deployment: 'old', vm: 'c1', state: 'missing' },
    ]);
    expect(p.watchPaths()).to.deep.equal(['/state']);
  });

  it('acts through the inventory and reports the state afterwards; an unknown VM is refused', async () => {
    const inv = memoryInventory(vms());
    const p = inventoryProvider(inv, 'h1', []);
    expect(await p.act('lab', 'a1', 'status')).to.equal('running');
    expect(await p.act('lab', 'a1', 'stop')).to.equal('stopped');
    expect(inv.calls).to.deep.equal(['lab/a1 status', 'lab/a1 stop']);
    let err: Error | undefined;
    await p.act('lab', 'zz', 'stop').catch((e: Error) => (err = e));
    expect(err?.message).to.match(/VM zz of lab is not on this host/);
  });
});
