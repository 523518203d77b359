import { expect } from 'chai';
import { linkName, MAX_IFNAME, NameAllocator, netnsName, readableLinkName, shortHash, stableMac, stateTag, vmIfaceName } from '../../../src/host-agent/naming.ts';
import { vlanLinkName } from '../../../src/host-agent/backplanes/vlan.ts';

describe('host-agent naming', () => {
  it('gives link names of at most 15 characters, collision-free over 100k keys', function () {
    this.timeout(30_000); // hashing 100k names takes about a second
    const seen = new Map<string, string>();
    const bad: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const key = `tag|deploy${i % 97}|veth:vm${i}:${i % 7}`;
      const name = linkName('veth', key);
      if (name.length > MAX_IFNAME || !/^ev[a-z2-7]{13}$/.test(name)) bad.push(`${key} -> ${name}`);
      if (seen.has(name)) bad.push(`${key} collides with ${seen.get(name)}`);
      seen.set(name, key);
    }
    expect(bad).to.deep.equal([]);
    expect(seen.size).to.equal(100_000);
  });

  it('readable names: lab and net (or VM and interface) when they fit and are free; the hash otherwise', () => {
    expect(readableLinkName('tutorial', 'Net0')).to.equal('tutorial-Net0');
    expect(readableLinkName('course-a', 'r1', 2)).to.equal('course-a-r1-2');
    expect(readableLinkName('a-long-lab-name', 'Net0')).to.equal(undefined); // 20 characters
    expect(readableLinkName('lab', 'n/1')).to.equal(undefined);
    expect(readableLinkName('lab')).to.equal(undefined);
    const names = new NameAllocator('t', [['lab|old', 'ebjournaledname']], ['tutorial-Net1']);
    expect(names.name('bridge', 'lab|bridge:Net0', 'tutorial-Net0')).to.equal('tutorial-Net0');
    // Taken by another key, or by a link that is not ours: the hashed name.
    expect(names.name('bridge', 'lab2|bridge:Net0', 'tutorial-Net0')).to.match(/^eb[a-z2-7]{13}$/);
    expect(names.name('bridge', 'lab|bridge:Net1', 'tutorial-Net1')).to.match(/^eb[a-z2-7]{13}$/);
    // A key keeps the name its journal has, whatever would be readable now.
    expect(names.name('bridge', 'lab|old', 'tutorial-Net9')).to.equal('ebjournaledname');
    expect(names.name('bridge', 'lab|bridge:Net0', 'other')).to.equal('tutorial-Net0');
  });

  it('derives stable, locally administered unicast MACs, distinct over a big lab', () => {
    expect(stableMac('lab', 'r1', 1)).to.equal(stableMac('lab', 'r1', 1));
    const macs = new Set<string>();
    for (let vm = 0; vm < 5000; vm++) for (const id of [0, 1, 2]) macs.add(stableMac('lab', `vm${vm}`, id));
    expect(macs.size).to.equal(15000);
    for (const m of [...macs].slice(0, 200)) {
      expect(m).to.match(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(parseInt(m.slice(0, 2), 16) & 0b11, m).to.equal(0b10); // locally administered, not multicast
    }
    expect(stableMac('course-a', 'r1', 1)).to.not.equal(stableMac('course-b', 'r1', 1));
  });

  it('is deterministic and depends on every part of the key', () => {
    expect(linkName('bridge', 'a|b')).to.equal(linkName('bridge', 'a|b'));
    expect(linkName('bridge', 'a|b')).not.to.equal(linkName('bridge', 'a|c'));
    expect(linkName('bridge', 'a|b', 1)).not.to.equal(linkName('bridge', 'a|b'));
    expect(shortHash('x', 6)).to.have.length(6);
    expect(stateTag('/var/lib/ediv/agent')).not.to.equal(stateTag('/tmp/host2/agent'));
  });

  it('resolves a collision with a foreign link or another key by salting, and keeps journaled names', () => {
    const first = linkName('bridge', 't|k1');
    const alloc = new NameAllocator('t', [], [first]);
    const got = alloc.name('bridge', 'k1');
    expect(got).not.to.equal(first);
    expect(got).to.equal(linkName('bridge', 't|k1', 1));
    expect(alloc.name('bridge', 'k1')).to.equal(got);
    const kept = new NameAllocator('t', [['k2', 'ebjournaled']], ['ebjournaled']);
    expect(kept.name('bridge', 'k2')).to.equal('ebjournaled');
  });

  it('names VLAN subinterfaces <trunk>.<id> when that fits, else a hashed name', () => {
    expect(vlanLinkName('eth0', 1000, 'k')).to.equal('eth0.1000');
    const long = vlanLinkName('enp0s31f6long', 4000, 'k');
    expect(long).to.match(/^el[a-z2-7]{13}$/);
    expect(vlanLinkName('enp0s31f6long', 4001, 'k')).not.to.equal(long);
  });

  it('makes namespace names unique per state dir and names VM interfaces eth<id>', () => {
    expect(netnsName('dep', 'vm1', 'abc123')).to.equal('dep.vm1.abc123');
    expect(netnsName('dep', 'vm1', 'abc123')).not.to.equal(netnsName('dep', 'vm1', 'def456'));
    expect(vmIfaceName({ id: 2 })).to.equal('eth2');
    expect(vmIfaceName({ id: 2, name: 'e0' })).to.equal('e0');
  });
});
