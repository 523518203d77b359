import { expect } from 'chai';
import { parseCidr, resolveInterface } from '../../../src/discovery/netif.ts';
import { managementOf } from '../../../src/controller/discovery-hooks.ts';
import { emulatedCluster } from '../../../src/emulated/layout.ts';
import { InputError } from '../../../src/common/errors.ts';

describe('management interface choice', () => {
  it('parses IPv4 CIDRs and refuses anything else', () => {
    expect(parseCidr('10.250.0.0/16')).to.deep.equal({ base: 0x0afa0000, mask: 0xffff0000 });
    expect(parseCidr('10.250.3.7/16')!.base, 'host bits are masked off').to.equal(0x0afa0000);
    expect(parseCidr('0.0.0.0/0')).to.deep.equal({ base: 0, mask: 0 });
    for (const bad of ['10.250.0.0', '10.250.0.0/33', '300.1.1.1/8', 'eth0', '2001:db8::/32']) expect(parseCidr(bad), bad).to.equal(undefined);
  });

  it('finds the local address inside a network, and says so when there is none', () => {
    expect(resolveInterface({ network: '127.0.0.0/8' }).address).to.equal('127.0.0.1');
    expect(() => resolveInterface({ network: '198.51.100.0/24' })).to.throw(InputError, /no interface here has an address in 198\.51\.100\.0\/24/);
  });

  it('serves on the host address when it is an IPv4 literal, else inside the management network', () => {
    const cluster = emulatedCluster(2, '/nonexistent');
    const [h1, h2] = cluster.hosts;
    expect(managementOf(h1!, cluster)).to.deep.equal({ address: '198.18.0.11' });
    expect(managementOf({ ...h2!, address: 'kofy.lab.example.org' }, cluster)).to.deep.equal({ network: '198.18.0.0/24' });
    const noNet = { ...cluster, management: {} };
    expect(managementOf({ ...h2!, address: 'kofy.lab.example.org' }, noNet)).to.equal(undefined);
  });
});
