// The UPnP bad-message corpus: malformed and hostile SSDP datagrams, descriptions, SOAP
// requests and GENA subscriptions. Each is refused or sanitised, within bounded time and
// memory, and nothing crashes. Network safety: datagrams are handed to the receivers directly
// (the advertiser's send and the control point's fetches are stubbed), HTTP goes to a device
// server on 127.0.0.1 whose GENA notifier is stubbed.
import { expect } from 'chai';
import http from 'node:http';
import { parseSsdp, searchDelayMs, formatMSearch } from '../../../src/discovery/ssdp-messages.ts';
import { SsdpAdvertiser } from '../../../src/discovery/ssdp.ts';
import { parseDescription, parseScpd } from '../../../src/discovery/remote-description.ts';
import { deviceDescription } from '../../../src/discovery/description.ts';
import { XmlRefused } from '../../../src/discovery/xml.ts';
import { UrlRefused } from '../../../src/discovery/url-policy.ts';
import { DeviceServer } from '../../../src/discovery/device-server.ts';
import { ControlVerifier, SIGNATURE_HEADER, newKeyHex, parseKey, signCall } from '../../../src/discovery/control-auth.ts';
import { serviceUrls } from '../../../src/discovery/description.ts';
import { httpRequest } from '../../../src/discovery/http-client.ts';
import { soapRequestBody } from '../../../src/discovery/soap.ts';
import { SERVICE_VM_MANAGEMENT } from '../../../src/discovery/types.ts';
import { terminalSafe } from '../../../src/common/printable.ts';
import { textView } from '../../../src/cli/discover.ts';
import { renderTree } from '../../../src/cli/render/discover.ts';
import { GENA_LIMITS, MAX_SUBSCRIPTION_SECONDS } from '../../../src/discovery/gena.ts';
import { aliveOf, hypervisorTree, locationOf, settle, stubbedControlPoint } from './fixtures.ts';

const LOC = locationOf('198.18.6.11');
const MAX_MS = 3000;
const MAX_HEAP_GROWTH = 128 * 1024 * 1024;
const T = SERVICE_VM_MANAGEMENT;
const goodXml = () => deviceDescription(hypervisorTree('h1', [['lab', 'r1']]), 1);

interface Case {
  name: string;
  run: () => Promise<void> | void;
}

/** Runs one hostile input: it must be handled within MAX_MS without growing the heap without bound. */
async function bounded(c: Case): Promise<void> {
  const heap = process.memoryUsage().heapUsed;
  const t0 = Date.now();
  await c.run();
  expect(Date.now() - t0, `${c.name}: time`).to.be.below(MAX_MS);
  expect(process.memoryUsage().heapUsed - heap, `${c.name}: memory`).to.be.below(MAX_HEAP_GROWTH);
}

const refusedXml = (xml: string, why?: RegExp) => () => {
  expect(() => parseDescription(xml, LOC)).to.throw(XmlRefused, why);
};
const refusedUrl = (xml: string) => () => {
  expect(() => parseDescription(xml, LOC)).to.throw(UrlRefused);
};
const nullSsdp = (data: Buffer | string) => () => {
  expect(parseSsdp(data)).to.equal(null);
};

// ---- SSDP ------------------------------------------------------------------------------

/** An advertiser whose answers are counted, never sent. */
async function stubAdvertiser() {
  const sent: string[] = [];
  const adv = new SsdpAdvertiser({ iface: { name: 'mgmt0', address: '198.18.6.11', netmask: '255.255.255.0' }, maxAge: 1800, bootId: 1, repeats: 1, send: async (m) => void sent.push(m) });
  adv.setDevice(hypervisorTree('h1', [['lab', 'r1']]), LOC, 1);
  await adv.announced(); // the stubbed alive round
  sent.length = 0;
  return { adv, sent };
}

/** The search is not answered (its longest possible delay is waited for). */
const unanswered = (msg: string) => async () => {
  const { adv, sent } = await stubAdvertiser();
  adv.receive(Buffer.from(msg), { address: '198.18.6.50', port: 1900 });
  await settle(1100);
  expect(sent).to.deep.equal([]);
  await adv.stop();
};

/** The control point fetches nothing for the datagram. */
const notFetched = (data: Buffer, from = '198.18.6.11') => async () => {
  const { cp, fetched } = stubbedControlPoint(new Map([[LOC, goodXml()]]));
  cp.receive(data, { address: from });
  await settle();
  expect(fetched).to.deep.equal([]);
  expect(cp.tree().hypervisors).to.deep.equal([]);
};

const ssdp: Case[] = [
  { name: 'SSDP: a 64 KiB datagram', run: nullSsdp(Buffer.alloc(65_000, 'A')) },
  { name: 'SSDP: binary garbage', run: nullSsdp(Buffer.from(Array.from({ length: 1400 }, (_, i) => (i * 7919) % 256))) },
  { name: 'SSDP: NUL inside a header', run: nullSsdp('NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\x00\r\n\r\n') },
  { name: 'SSDP: 200 headers', run: nullSsdp('NOTIFY * HTTP/1.1\r\n' + 'A: b\r\n'.repeat(200) + '\r\n') },
  { name: 'SSDP: CR smuggling a header into ST', run: nullSsdp('M-SEARCH * HTTP/1.1\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\rLOCATION: http://169.254.169.254/\r\n\r\n') },
  { name: 'SSDP: CR smuggling a header into LOCATION', run: nullSsdp(`NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\nLOCATION: ${LOC}\rHOST: evil\r\nUSN: uuid:x\r\n\r\n`) },
  { name: 'SSDP: an unknown start line', run: nullSsdp('SUBSCRIBE * HTTP/1.1\r\nNT: upnp:event\r\n\r\n') },
  { name: 'SSDP: NOTIFY without LOCATION', run: notFetched(Buffer.from('NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\nNT: upnp:rootdevice\r\nUSN: uuid:x::upnp:rootdevice\r\n\r\n')) },
  { name: 'SSDP: NOTIFY without USN', run: notFetched(Buffer.from(`NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\nNT: upnp:rootdevice\r\nLOCATION: ${LOC}\r\n\r\n`)) },
  { name: 'SSDP: LOCATION with a file: URL', run: notFetched(aliveOf(hypervisorTree('h1', []), 'file:///etc/passwd')) },
  { name: 'SSDP: LOCATION at a metadata address', run: notFetched(aliveOf(hypervisorTree('h1', []), 'http://169.254.169.254/latest/meta-data/')) },
  { name: 'SSDP: LOCATION on another host than the sender', run: notFetched(aliveOf(hypervisorTree('h1', []), LOC), '198.18.6.99') },
  { name: 'SSDP: M-SEARCH without MX', run: unanswered('M-SEARCH * HTTP/1.1\r\nMAN: "ssdp:discover"\r\nST: ssdp:all\r\n\r\n') },
  { name: 'SSDP: M-SEARCH with MX -3', run: unanswered('M-SEARCH * HTTP/1.1\r\nMAN: "ssdp:discover"\r\nMX: -3\r\nST: ssdp:all\r\n\r\n') },
  { name: 'SSDP: M-SEARCH without MAN', run: unanswered('M-SEARCH * HTTP/1.1\r\nMX: 1\r\nST: ssdp:all\r\n\r\n') },
  {
    name: 'SSDP: M-SEARCH with a huge MX waits at most 5 s',
    run: () => {
      const h = parseSsdp(formatMSearch('ssdp:all', 1).replace('MX: 1', 'MX: 99999999999999999999999'))!.headers;
      expect(searchDelayMs(h, () => 0.9999)).to.be.below(5000);
    },
  },
];

// ---- descriptions ------------------------------------------------------------------------

const lol = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('') + ']><root><device><UDN>&lol9;</UDN></device></root>';

const descriptions: Case[] = [
  { name: 'description: XXE (external entity)', run: refusedXml('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><root><device><UDN>&x;</UDN></device></root>', /document type/) },
  { name: 'description: billion laughs', run: refusedXml(lol, /document type/) },
  { name: 'description: an entity declaration without a DOCTYPE', run: refusedXml('<root><!ENTITY x "y"><device><UDN>uuid:x</UDN></device></root>') },
  { name: 'description: 100 000 nested elements', run: refusedXml('<root>' + '<device>'.repeat(100_000) + '</device>'.repeat(100_000) + '</root>') },
  { name: 'description: 5 MiB', run: refusedXml(`<root><device><UDN>uuid:x</UDN><friendlyName>${'a'.repeat(5 * 1024 * 1024)}</friendlyName></device></root>`, /larger than/) },
  { name: 'description: malformed XML', run: refusedXml('<root><device><UDN>uuid:x</device>', /malformed/) },
  {
    name: 'description: a __proto__ element',
    run: () => {
      expect(() => parseDescription('<root><device><UDN>uuid:x</UDN><__proto__><polluted>yes</polluted></__proto__></device></root>', LOC)).to.throw(XmlRefused);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    },
  },
  {
    name: 'description: 5000 embedded devices',
    run: () => {
      const many = '<root><device><UDN>uuid:r</UDN><deviceList>' + '<device><UDN>uuid:v</UDN></device>'.repeat(5000) + '</deviceList></device></root>';
      expect(() => parseDescription(many, LOC)).to.throw(/more than 4096 devices/);
    },
  },
  { name: 'description: URLBase on another host', run: refusedUrl(goodXml().replace('<specVersion>', '<URLBase>http://198.18.6.99:80/</URLBase><specVersion>')) },
  { name: 'description: controlURL on the controller\'s 127.0.0.1', run: refusedUrl(goodXml().replace(/<controlURL>[^<]*</, '<controlURL>http://127.0.0.1:8500/v1/agent<')) },
  { name: 'description: SCPDURL with javascript:', run: refusedUrl(goodXml().replace(/<SCPDURL>[^<]*</, '<SCPDURL>javascript:alert(1)<')) },
  { name: 'description: eventSubURL with user information', run: refusedUrl(goodXml().replace(/<eventSubURL>[^<]*</, '<eventSubURL>http://a:b@198.18.6.11/e<')) },
  { name: 'SCPD: a DOCTYPE', run: () => void expect(() => parseScpd('<!DOCTYPE s [<!ENTITY a "b">]><scpd/>')).to.throw(XmlRefused) },
  {
    name: 'description: controls and escapes in friendlyName and service names',
    run: () => {
      const evil = '\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\x1b[1A\u009b2K\u202e';
      const xml = goodXml().replace(/<friendlyName>[^<]*</g, `<friendlyName>${evil}<`).replace(/<vm>r1</, `<vm>r1${evil}<`).replace(/(<ediv:vm>)r1/, `$1r1${evil}`);
      const d = parseDescription(xml, LOC);
      const tree = {
        hypervisors: [{ udn: d.udn, host: d.vendor.host, friendlyName: d.friendlyName, location: LOC, verified: false, vms: d.devices.map((v) => ({
          udn: v.udn, name: v.vendor.vm, deployment: v.vendor.deployment, friendlyName: v.friendlyName, selfAdvertised: false, verified: false,
          services: v.services.map((s) => ({ ...s, serviceType: `urn:x:service:${evil}:1`, source: 'hypervisor' as const })),
        })) }],
        vms: [],
      };
      const text = renderTree(textView(tree));
      expect(text.replace(/\n/g, '')).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
      expect(text).to.contain(terminalSafe(evil));
    },
  },
];

// ---- SOAP and GENA on a device server (127.0.0.1) ----------------------------------------

const KEY = parseKey(newKeyHex());
let server: DeviceServer;
let base = '';
let controlPath = '';
let eventPath = '';
let vmUdnOfServer = '';
const acted: string[] = [];

const post = (body: string, headers: Record<string, string> = {}) =>
  httpRequest(`${base}${controlPath}`, { method: 'POST', body, headers: { SOAPACTION: `"${T}#Stop"`, ...headers } });
const soapFault = (expected: number, body: () => string, headers: () => Record<string, string> = () => ({})) => async () => {
  const r = await post(body(), headers());
  expect(r.status).to.equal(500);
  expect(r.body).to.contain(`<errorCode>${expected}</errorCode>`);
  expect(acted).to.deep.equal([]);
};
const signed = (body: string, udn = vmUdnOfServer) => ({ [SIGNATURE_HEADER]: signCall(KEY, { url: `${base}${controlPath}`, serviceType: T, action: 'Stop', udn, body }) });
const subscribe = (headers: Record<string, string>) => httpRequest(`${base}${eventPath}`, { method: 'SUBSCRIBE', headers });
const stop = () => soapRequestBody(T, 'Stop', []);

let replayBody = '';
let replayHeaders: Record<string, string> = {};

const soap: Case[] = [
  { name: 'SOAP: not XML at all', run: soapFault(402, () => '\x00\x01binary\xff') },
  { name: 'SOAP: an Envelope without Body', run: soapFault(402, () => '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><u:Stop xmlns:u="x"/></s:Envelope>') },
  { name: 'SOAP: two actions in one Body', run: soapFault(402, () => '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:Stop xmlns:u="x"/><u:Start xmlns:u="x"/></s:Body></s:Envelope>') },
  { name: 'SOAP: SOAPACTION naming another action than the body', run: soapFault(401, () => soapRequestBody(T, 'Start', [])) },
  { name: 'SOAP: a DOCTYPE with entities', run: soapFault(402, () => '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>') },
  { name: 'SOAP: a __proto__ argument', run: soapFault(402, () => soapRequestBody(T, 'Stop', []).replace('</u:Stop>', '<__proto__>x</__proto__></u:Stop>')) },
  { name: 'SOAP: Stop without a signature', run: soapFault(606, stop) },
  { name: 'SOAP: Stop with a forged signature', run: soapFault(606, stop, () => ({ [SIGNATURE_HEADER]: `v1; t=${Date.now()}; n=${'0'.repeat(32)}; s=${'ab'.repeat(32)}` })) },
  { name: 'SOAP: Stop signed for another VM', run: soapFault(606, stop, () => signed(stop(), 'uuid:00000000-0000-5000-8000-000000000000')) },
  { name: 'SOAP: Stop signed over another body', run: soapFault(606, stop, () => signed(soapRequestBody(T, 'Stop', [['X', '1']]))) },
  { name: 'SOAP: a replayed signed Stop', run: soapFault(606, () => replayBody, () => replayHeaders) },
  {
    name: 'SOAP: a 10 MiB body',
    run: async () => {
      const r = await post('x'.repeat(10 * 1024 * 1024));
      expect(r.status).to.equal(413);
    },
  },
  {
    name: 'SOAP: a chunked body beyond 64 KiB',
    run: async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${base}${controlPath}`, { method: 'POST', headers: { SOAPACTION: `"${T}#Stop"` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (let i = 0; i < 20; i++) req.write('y'.repeat(10 * 1024));
        req.end();
      });
      expect(status).to.equal(413);
    },
  },
];

const gena: Case[] = [
  { name: 'GENA: CALLBACK to another host', run: async () => void expect((await subscribe({ CALLBACK: '<http://198.18.6.99:9/x>', NT: 'upnp:event' })).status).to.equal(412) },
  { name: 'GENA: CALLBACK with https', run: async () => void expect((await subscribe({ CALLBACK: '<https://127.0.0.1:9/x>', NT: 'upnp:event' })).status).to.equal(412) },
  { name: 'GENA: CALLBACK garbage', run: async () => void expect((await subscribe({ CALLBACK: '<<<>>><:/\\>', NT: 'upnp:event' })).status).to.equal(412) },
  { name: 'GENA: SUBSCRIBE without NT', run: async () => void expect((await subscribe({ CALLBACK: '<http://127.0.0.1:9/x>' })).status).to.equal(412) },
  { name: 'GENA: renewal with both SID and CALLBACK', run: async () => void expect((await subscribe({ SID: 'uuid:x', CALLBACK: '<http://127.0.0.1:9/x>' })).status).to.equal(400) },
  {
    name: 'GENA: a TIMEOUT of Second-99999999999999',
    run: async () => {
      const r = await new Promise<http.IncomingMessage>((resolve) =>
        http.request(`${base}${eventPath}`, { method: 'SUBSCRIBE', headers: { CALLBACK: '<http://127.0.0.1:9/x>', NT: 'upnp:event', TIMEOUT: 'Second-99999999999999' } }, resolve).end());
      r.resume();
      expect(r.headers.timeout).to.equal(`Second-${MAX_SUBSCRIPTION_SECONDS}`);
    },
  },
  {
    name: 'GENA: a flood of SUBSCRIBEs from one address',
    run: async () => {
      const codes: number[] = [];
      for (let i = 0; i < GENA_LIMITS.maxPerSubscriber + 20; i++) codes.push((await subscribe({ CALLBACK: '<http://127.0.0.1:9/x>', NT: 'upnp:event' })).status);
      expect(codes.filter((c) => c === 503).length).to.be.at.least(20);
    },
  },
];

describe('discovery: UPnP bad-message corpus', function () {
  this.timeout(20_000);

  before(async () => {
    const tree = hypervisorTree('h1', [['lab', 'r1']]);
    const vm = tree.devices[0]!;
    // The VM's actions only record that they ran: a refused message must run nothing.
    const svc = vm.services[0]!;
    svc.invoke = async (action): Promise<Record<string, string>> => {
      acted.push(action);
      return action === 'GetStatus' ? { State: 'running' } : {};
    };
    server = new DeviceServer({ address: '127.0.0.1', verifier: new ControlVerifier(() => KEY), notify: async () => true });
    server.setDevice(tree, 1);
    base = new URL(await server.listen()).origin;
    ({ control: controlPath, event: eventPath } = serviceUrls(vm, svc));
    vmUdnOfServer = vm.udn;
    // One genuine signed Stop, whose replay is in the corpus.
    replayBody = stop();
    replayHeaders = signed(replayBody);
    expect((await post(replayBody, replayHeaders)).status).to.equal(200);
    acted.length = 0;
  });
  after(() => server.close());

  const all = [...ssdp, ...descriptions, ...soap, ...gena];
  it(`has at least 25 hostile inputs (${all.length})`, () => expect(all.length).to.be.at.least(25));
  for (const c of all) it(c.name, () => bounded(c));

  it('the server still answers after the whole corpus', async () => {
    expect((await httpRequest(`${base}/description.xml`)).status).to.equal(200);
    const r = await httpRequest(`${base}${controlPath}`, { method: 'POST', body: soapRequestBody(T, 'GetStatus', []), headers: { SOAPACTION: `"${T}#GetStatus"` } });
    expect(r.status).to.equal(200);
    expect(r.body).to.contain('<State>running</State>');
  });
});
