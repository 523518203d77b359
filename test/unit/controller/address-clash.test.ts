// Two labs that would give one host the same addresses (copies of a scenario with a <host>
// section or a private vm_mgmt, under `deploy --name`) are told apart before any host is touched.
import { expect } from 'chai';
import { addressClash } from '../../../src/controller/address-clash.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';

const lab = (name: string, extra: { host?: string; mgmt?: string } = {}) =>
  parseScenarioText(
    `<vnx><global><version>2.0</version><scenario_name>${name}</scenario_name>${extra.mgmt ?? ''}</global>
  <net name="N" mode="virtual_bridge"/>
  <vm name="a" type="lxc"><if id="1" net="N"><ipv4>10.0.0.2/24</ipv4></if></vm>
  ${extra.host ?? ''}
</vnx>`,
    `${name}.xml`,
  );
const hostSection = '<host><hostif net="N"><ipv4>10.0.0.1/24</ipv4></hostif></host>';
const mgmt = '<vm_mgmt type="private" network="192.168.50.0" mask="24" offset="0"/>';

describe('labs that would give a host the same addresses twice', () => {
  it('a second copy with the same <host> address on a shared host is refused, naming the address and the lab', () => {
    const running = [{ name: 'course-a', scenario: lab('course-a', { host: hostSection }), hosts: ['10.9.0.1', '10.9.0.2'] }];
    expect(addressClash({ ...lab('x', { host: hostSection }), name: 'course-b' }, ['10.9.0.2'], running)).to.match(/lab course-a .* 10\.0\.0\.1/);
    // on a cluster of its own, or without a <host> section, it is fine
    expect(addressClash({ ...lab('x', { host: hostSection }), name: 'course-b' }, ['10.9.9.9'], running)).to.equal(undefined);
    expect(addressClash({ ...lab('x'), name: 'course-b' }, ['10.9.0.2'], running)).to.equal(undefined);
    // the lab itself (a partial redeploy) is no clash
    expect(addressClash({ ...lab('x', { host: hostSection }), name: 'course-a' }, ['10.9.0.2'], running)).to.equal(undefined);
  });

  it('the same private vm_mgmt network on a shared host is refused', () => {
    const running = [{ name: 'course-a', scenario: lab('course-a', { mgmt }), hosts: ['h'] }];
    expect(addressClash({ ...lab('x', { mgmt }), name: 'course-b' }, ['h'], running)).to.match(/192\.168\.50\.0\/24/);
    const other = mgmt.replace('192.168.50.0', '192.168.60.0');
    expect(addressClash({ ...lab('x', { mgmt: other }), name: 'course-b' }, ['h'], running)).to.equal(undefined);
  });
});
