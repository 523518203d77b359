// Pure protocol logic of the discovery layer: UDNs, SSDP messages and advertisement sets,
// descriptions and CONFIGID, SOAP parsing and faults.
import { upnpErrorCode } from './fixtures.ts';
import { expect } from 'chai';
import { uuidV5, vmUdn, hypervisorUdn, isUdn, udnOfUsn } from '../../../src/discovery/udn.ts';
import {
  advertSet, advertsOfDevice, matchSearch, formatAlive, formatByebye, formatSearchResponse, formatMSearch,
  parseSsdp, maxAgeOf, searchDelayMs,
} from '../../../src/discovery/ssdp-messages.ts';
import { hypervisorDevice, vmDevice, vmManagementService } from '../../../src/discovery/hypervisor.ts';
import { configIdOf, deviceDescription, scpd } from '../../../src/discovery/description.ts';
import { parseDescription, parseScpd } from '../../../src/discovery/remote-description.ts';
import { parseSoapRequest, parseSoapResponse, soapFault, soapRequestBody, soapResponse } from '../../../src/discovery/soap.ts';
import type { VmEntry } from '../../../src/discovery/types.ts';

function tree(host: string, vms: [string, string][]) {
  const devices = vms.map(([deployment, vm]) => {
    const entry: VmEntry = { deployment, vm, state: 'running' };
    return vmDevice(host, entry, vmManagementService(entry, async () => 'running'));
  });
  return hypervisorDevice(host, devices);
}

describe('discovery: UDNs', () => {
  it('uuidV5 matches the RFC 4122 name-based (SHA-1) construction', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'www.example.com')
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).to.equal('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('VM UDNs are stable per deployment+VM and distinct otherwise', () => {
    expect(vmUdn('lab', 'r1')).to.equal(vmUdn('lab', 'r1'));
    expect(vmUdn('lab', 'r1')).to.not.equal(vmUdn('lab', 'r2'));
    expect(vmUdn('lab', 'r1')).to.not.equal(vmUdn('lab2', 'r1'));
    expect(vmUdn('a', 'b/c')).to.not.equal(vmUdn('a/b', 'c'));
    expect(hypervisorUdn('h1')).to.not.equal(vmUdn('h1', ''));
    expect(isUdn(vmUdn('lab', 'r1'))).to.equal(true);
    expect(udnOfUsn(`${vmUdn('lab', 'r1')}::urn:x:device:Y:1`)).to.equal(vmUdn('lab', 'r1'));
  });
});

describe('discovery: SSDP advertisement sets and messages', () => {
  it('a hypervisor with d VMs announces 3 + 2d + k messages', () => {
    for (const d of [0, 1, 7]) {
      const set = advertSet(tree('h1', Array.from({ length: d }, (_, i) => ['lab', `vm${i}`] as [string, string])));
      // every VM device has one service type: k = d
      expect(set).to.have.length(3 + 2 * d + d);
      expect(new Set(set.map((a) => a.usn)).size).to.equal(set.length);
    }
    const set = advertSet(tree('h1', [['lab', 'r1']]));
    const r = hypervisorUdn('h1');
    const v = vmUdn('lab', 'r1');
    expect(set.map((a) => a.usn)).to.deep.equal([
      `${r}::upnp:rootdevice`, r, `${r}::urn:ediv-org:device:Hypervisor:1`, v, `${v}::urn:ediv-org:device:VirtualMachine:1`,
      `${v}::urn:ediv-org:service:VMManagement:1`,
    ]);
    expect(advertsOfDevice(set, v).map((a) => a.nt)).to.deep.equal([v, 'urn:ediv-org:device:VirtualMachine:1', 'urn:ediv-org:service:VMManagement:1']);
  });

  it('answers each search target with exactly the matching adverts', () => {
    const set = advertSet(tree('h1', [['lab', 'r1'], ['lab', 'r2']]));
    expect(matchSearch(set, 'ssdp:all')).to.have.length(set.length);
    expect(matchSearch(set, 'upnp:rootdevice').map((m) => m.usn)).to.deep.equal([`${hypervisorUdn('h1')}::upnp:rootdevice`]);
    expect(matchSearch(set, vmUdn('lab', 'r2'))).to.deep.equal([{ st: vmUdn('lab', 'r2'), usn: vmUdn('lab', 'r2') }]);
    const svc = matchSearch(set, 'urn:ediv-org:service:VMManagement:1');
    expect(svc.map((m) => m.usn)).to.deep.equal([vmUdn('lab', 'r1'), vmUdn('lab', 'r2')].map((u) => `${u}::urn:ediv-org:service:VMManagement:1`));
    expect(matchSearch(set, 'urn:ediv-org:device:VirtualMachine:1')).to.have.length(2);
    expect(matchSearch(set, 'urn:ediv-org:device:VirtualMachine:2')).to.have.length(0); // higher version than we have
    expect(matchSearch(set, 'urn:schemas-upnp-org:device:MediaServer:1')).to.have.length(0);
  });

  it('formats NOTIFY and search responses with the UDA 1.1 headers, and parses them back', () => {
    const h = { location: 'http://198.18.6.11:4000/description.xml', maxAge: 1800, bootId: 7, configId: 42 };
    const a = { nt: 'upnp:rootdevice', usn: `${hypervisorUdn('h1')}::upnp:rootdevice` };
    const alive = parseSsdp(formatAlive(a, h))!;
    expect(alive.kind).to.equal('notify');
    expect(alive.headers).to.include({ host: '239.255.255.250:1900', nts: 'ssdp:alive', nt: a.nt, usn: a.usn, location: h.location, 'bootid.upnp.org': '7', 'configid.upnp.org': '42' });
    expect(maxAgeOf(alive.headers)).to.equal(1800);
    expect(alive.headers.server).to.match(/ UPnP\/1\.1 ediv\//);
    const bye = parseSsdp(formatByebye(a, h))!;
    expect(bye.headers).to.include({ nts: 'ssdp:byebye', usn: a.usn });
    expect(bye.headers).to.not.have.property('location');
    const resp = parseSsdp(formatSearchResponse({ st: a.nt, usn: a.usn }, h))!;
    expect(resp.kind).to.equal('response');
    expect(resp.headers).to.include({ ext: '', st: a.nt, usn: a.usn, location: h.location });
    expect(resp.headers.date).to.match(/GMT$/);
    const search = parseSsdp(formatMSearch('ssdp:all', 2))!;
    expect(search.kind).to.equal('search');
    expect(search.headers).to.include({ man: '"ssdp:discover"', mx: '2', st: 'ssdp:all' });
    expect(Buffer.byteLength(formatAlive(a, h))).to.be.below(1400); // one UDP packet
  });

  it('rejects what is not SSDP', () => {
    expect(parseSsdp('GET / HTTP/1.1\r\n\r\n')).to.equal(null);
    expect(parseSsdp('garbage')).to.equal(null);
    expect(parseSsdp('NOTIFY * HTTP/1.1\r\n' + 'X: y\r\n'.repeat(3000))).to.equal(null);
  });

  it('delays search answers up to MX seconds, MX capped at 5; no MX means no answer', () => {
    expect(searchDelayMs({ mx: '3' }, () => 0.5)).to.equal(1500);
    expect(searchDelayMs({ mx: '120' }, () => 0.999)).to.be.below(5000);
    expect(searchDelayMs({}, () => 0.5)).to.equal(undefined);
    expect(searchDelayMs({ mx: 'soon' }, () => 0.5)).to.equal(undefined);
  });
});

describe('discovery: descriptions and CONFIGID', () => {
  it('the device description carries the hypervisor and its VMs; a control point reads it back', () => {
    const t = tree('h1', [['lab', 'r1'], ['lab', 'r&2']]);
    const xml = deviceDescription(t, 99);
    expect(xml).to.contain('configId="99"').and.contain('<specVersion><major>1</major><minor>1</minor></specVersion>');
    const d = parseDescription(xml, 'http://198.18.6.11:4000/description.xml');
    expect(d.udn).to.equal(hypervisorUdn('h1'));
    expect(d.vendor).to.deep.equal({ host: 'h1' });
    expect(d.devices.map((v) => [v.udn, v.vendor.vm, v.vendor.deployment])).to.deep.equal([
      [vmUdn('lab', 'r1'), 'r1', 'lab'], [vmUdn('lab', 'r&2'), 'r&2', 'lab'],
    ]);
    const s = d.devices[0]!.services[0]!;
    expect(s.serviceType).to.equal('urn:ediv-org:service:VMManagement:1');
    expect(s.controlUrl).to.match(/^http:\/\/198\.18\.6\.11:4000\/upnp\/[0-9a-f-]+\/VMManagement\/control$/);
    expect(s.scpdUrl).to.equal('http://198.18.6.11:4000/scpd/VMManagement.xml');
  });

  it('the SCPD lists the VM actions and the evented State variable', () => {
    const entry: VmEntry = { deployment: 'lab', vm: 'r1', state: 'running' };
    const xml = scpd(vmManagementService(entry, async () => 'running'), 1);
    expect(parseScpd(xml)).to.deep.equal([
      { name: 'Start', in: [], out: [] }, { name: 'Stop', in: [], out: [] }, { name: 'Suspend', in: [], out: [] },
      { name: 'Resume', in: [], out: [] }, { name: 'GetStatus', in: [], out: ['State'] },
    ]);
    expect(xml).to.contain('<stateVariable sendEvents="yes">');
  });

  it('CONFIGID is stable for the same VMs and changes when a VM is added or removed', () => {
    const a = configIdOf(tree('h1', [['lab', 'r1'], ['lab', 'r2']]));
    expect(configIdOf(tree('h1', [['lab', 'r1'], ['lab', 'r2']]))).to.equal(a);
    expect(configIdOf(tree('h1', [['lab', 'r1']]))).to.not.equal(a);
    expect(configIdOf(tree('h1', [['lab', 'r1'], ['lab', 'r2'], ['lab', 'r3']]))).to.not.equal(a);
    expect(a).to.be.within(0, 16777215);
  });
});

describe('discovery: SOAP', () => {
  const T = 'urn:ediv-org:service:VMManagement:1';

  it('parses a control request and its arguments', () => {
    const body = soapRequestBody(T, 'Echo', [['Text', 'a<b & "c"'], ['N', '3']]);
    expect(parseSoapRequest(body, `"${T}#Echo"`)).to.deep.equal({ serviceType: T, action: 'Echo', args: { Text: 'a<b & "c"', N: '3' }, order: ['Text', 'N'] });
  });

  const code = upnpErrorCode;

  it('faults: 401 for a missing/mismatched SOAPACTION, 402 for malformed or DTD-carrying bodies', () => {
    const body = soapRequestBody(T, 'Stop', []);
    expect(code(() => parseSoapRequest(body, undefined))).to.equal(401);
    expect(code(() => parseSoapRequest(body, `"${T}#Start"`))).to.equal(401);
    expect(code(() => parseSoapRequest('<s:Envelope><s:Body>', `"${T}#Stop"`))).to.equal(402);
    expect(code(() => parseSoapRequest('<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', `"${T}#Stop"`))).to.equal(402);
    expect(code(() => parseSoapRequest('<a/>'.repeat(20000), `"${T}#Stop"`))).to.equal(402); // too large
    expect(code(() => parseSoapRequest(soapRequestBody(T, 'Stop', [['A', '1'], ['A', '2']]), `"${T}#Stop"`))).to.equal(402);
  });

  it('responses and faults round-trip through the control-point parser', () => {
    expect(parseSoapResponse(soapResponse(T, 'GetStatus', { State: 'running' }), 'GetStatus')).to.deep.equal({ State: 'running' });
    expect(parseSoapResponse(soapResponse(T, 'Stop', {}), 'Stop')).to.deep.equal({});
    const fault = soapFault(501, 'Action Failed: x');
    expect(fault).to.contain('<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>');
    expect(code(() => parseSoapResponse(fault, 'Stop'))).to.equal(501);
  });
});
