// Audit item 4 (terminal injection): C0/C1 controls, DEL and bidi controls from device
// descriptions are escaped in `ediv discover`'s text output; JSON output keeps the values.
import { expect } from 'chai';
import { terminalSafe, terminalSafeDeep, terminalSafeJson } from '../../../src/common/printable.ts';
import { textView } from '../../../src/cli/discover.ts';
import { renderTree } from '../../../src/cli/render/discover.ts';
import { parseDescription } from '../../../src/discovery/remote-description.ts';
import type { DiscoveryTree } from '../../../src/discovery/control-point.ts';

const EVIL = 'r1\x1b]0;pwned\x07\x1b[2J\u009b31m\u202egnp.exe\r\nfake line\u0000\\x1b';
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function treeWith(name: string): DiscoveryTree {
  return {
    hypervisors: [{
      udn: 'uuid:h', host: name, friendlyName: name, location: 'http://198.18.6.11:4000/description.xml', verified: false,
      vms: [{ udn: 'uuid:v', name, deployment: 'lab', friendlyName: name, selfAdvertised: false, verified: true, services: [{
        serviceType: `urn:x:service:${name}:1`, serviceId: '', source: 'vm', controlUrl: '', eventUrl: '', scpdUrl: '',
        actions: [{ name, in: [name], out: [] }],
      }] }],
    }],
    vms: [],
  };
}

describe('discovery: text shown on a terminal', () => {
  it('escapes C0, C1, DEL and bidi controls visibly, and backslashes so escapes cannot be forged', () => {
    const safe = terminalSafe(EVIL);
    expect(safe).to.not.match(RAW_CONTROL);
    expect(safe).to.equal('r1\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe\\x0d\\x0afake line\\x00\\\\x1b');
    expect(terminalSafe('plain\tname ünïcode')).to.equal('plain\tname ünïcode');
  });

  it('text output of a tree has no raw control left and marks unverified entries; JSON keeps every value', () => {
    const tree = treeWith(EVIL);
    const text = renderTree(textView(tree));
    expect(text.split('\n').join('')).to.not.match(RAW_CONTROL);
    expect(text).to.contain('[unverified]');
    const json = terminalSafeJson(tree, 2);
    expect(json).to.not.match(/[\u007f-\u009f\u202a-\u202e]/);
    expect(json).to.not.match(/\u001b/);
    expect(JSON.parse(json)).to.deep.equal(tree);
    expect(terminalSafeDeep({ [EVIL]: [EVIL, 1, null] })).to.deep.equal({ [terminalSafe(EVIL)]: [terminalSafe(EVIL), 1, null] });
  });

  it('controls inside a description (raw or as character references) reach text output escaped', () => {
    const xml = '<root><device><deviceType>urn:ediv-org:device:Hypervisor:1</deviceType><UDN>uuid:h</UDN>' +
      '<friendlyName>evil\x1b[31m\u202ex</friendlyName><ediv:host xmlns:ediv="urn:ediv-org:device-1-0">h&#x1b;]0;t&#7;&#x202e;</ediv:host></device></root>';
    const d = parseDescription(xml, 'http://198.18.6.11:4000/description.xml');
    expect(d.friendlyName).to.equal('evil\x1b[31m\u202ex'); // the value itself is kept (JSON shows it faithfully)
    expect(terminalSafe(d.friendlyName)).to.equal('evil\\x1b[31m\\u202ex');
    expect(terminalSafe(d.vendor.host!)).to.not.match(RAW_CONTROL);
  });
});
