// Audit item 1 (SSRF through descriptions): every URL the control point fetches or posts to is
// http, on an IPv4 host inside the management network, and on the host of the device's
// LOCATION; redirects are never followed; answers are bounded in size and time. The control
// point's fetches are stubbed (nothing leaves the process); the HTTP client is tried against
// loopback servers only.
import { expect } from 'chai';
import { checkUrl, subnetPolicy, UrlRefused } from '../../../src/discovery/url-policy.ts';
import { parseDescription } from '../../../src/discovery/remote-description.ts';
import { deviceDescription } from '../../../src/discovery/description.ts';
import { httpGetText, httpRequest, soapCall } from '../../../src/discovery/http-client.ts';
import { UpnpError } from '../../../src/discovery/types.ts';
import { FAKE_IFACE, aliveOf, byebyeOf, hypervisorDocs, hypervisorTree, locationOf, loopbackServer, settle, stubbedControlPoint, until } from './fixtures.ts';

const policy = subnetPolicy(FAKE_IFACE);
const LOC = locationOf('198.18.6.11');

/** The hypervisor's description with one replacement made in its text. */
function tampered(from: RegExp | string, to: string): string {
  const xml = deviceDescription(hypervisorTree('h1', [['lab', 'r1']]), 1);
  const out = xml.replace(from, to);
  expect(out).to.not.equal(xml);
  return out;
}

describe('discovery: URLs a control point may use (SSRF)', () => {
  it('checkUrl: http on an IPv4 address inside the network; nothing else', () => {
    expect(checkUrl('http://198.18.6.11:4000/x', { policy }).hostname).to.equal('198.18.6.11');
    const refused = (url: string, why: RegExp, sameHostAs?: string) =>
      expect(() => checkUrl(url, { policy, sameHostAs }), url).to.throw(UrlRefused, why);
    refused('https://198.18.6.11/', /only http/);
    refused('file:///etc/passwd', /only http/);
    refused('gopher://198.18.6.11:25/', /only http/);
    refused('http://user:pw@198.18.6.11/', /user information/);
    refused('http://metadata.google.internal/', /IPv4 address/);
    refused('http://[::1]/', /IPv4 address/);
    refused('http://169.254.169.254/latest/meta-data/', /outside the management network 198\.18\.6\.2\/24/);
    refused('http://127.0.0.1:8080/admin', /outside/);
    refused('http://2130706433/', /outside/); // 127.0.0.1 in disguise, normalised by the URL parser
    refused('http://198.18.6.12/x', /not at the device's own host 198\.18\.6\.11/, '198.18.6.11');
    refused(`http://198.18.6.11/${'a'.repeat(3000)}`, /longer than/);
  });

  it('a description pointing any of its URLs at another host is refused as a whole', () => {
    expect(parseDescription(deviceDescription(hypervisorTree('h1', [['lab', 'r1']]), 1), LOC).devices).to.have.length(1);
    const cases: [string, string][] = [
      ['URLBase', tampered('<specVersion>', '<URLBase>http://169.254.169.254/</URLBase><specVersion>')],
      ['SCPDURL', tampered(/<SCPDURL>[^<]*</, '<SCPDURL>http://127.0.0.1:9/scpd.xml<')],
      ['controlURL', tampered(/<controlURL>[^<]*</, '<controlURL>http://198.18.6.99/control<')],
      ['eventSubURL', tampered(/<eventSubURL>[^<]*</, '<eventSubURL>http://10.0.0.1/event<')],
      ['presentationURL', tampered('<UDN>', '<presentationURL>http://192.168.1.1/</presentationURL><UDN>')],
      ['controlURL', tampered(/<controlURL>[^<]*</, '<controlURL>file:///etc/shadow<')],
      ['SCPDURL', tampered(/<SCPDURL>[^<]*</, '<SCPDURL>//169.254.169.254/x<')], // scheme-relative
    ];
    for (const [what, xml] of cases) expect(() => parseDescription(xml, LOC), what).to.throw(UrlRefused, new RegExp(`^${what} `));
    // Relative and absolute URLs on the LOCATION's own host (any port) are fine.
    const own = tampered(/<controlURL>[^<]*</, '<controlURL>http://198.18.6.11:4001/c<');
    expect(parseDescription(own, LOC).devices[0]!.services[0]!.controlUrl).to.equal('http://198.18.6.11:4001/c');
  });

  it('the control point fetches only LOCATIONs on the announcing address, and nothing a refused description names', async () => {
    const docs = hypervisorDocs('198.18.6.11', 'h1', [['lab', 'r1']]);
    docs.set(locationOf('198.18.6.12'), tampered(/<SCPDURL>[^<]*</, '<SCPDURL>http://198.18.6.99/scpd.xml<'));
    const { cp, fetched, logged } = stubbedControlPoint(docs);
    const tree = hypervisorTree('h1', [['lab', 'r1']]);
    cp.receive(aliveOf(tree, 'http://169.254.169.254/latest/meta-data/'), { address: '198.18.6.11' });
    cp.receive(aliveOf(tree, 'http://127.0.0.1:631/'), { address: '198.18.6.11' });
    cp.receive(aliveOf(tree, LOC), { address: '198.18.6.13' }); // LOCATION names another host than the sender
    cp.receive(aliveOf(tree, LOC), { address: '10.1.2.3' }); // sender outside the subnet
    cp.receive(aliveOf(tree, locationOf('198.18.6.12')), { address: '198.18.6.12' });
    cp.receive(aliveOf(tree, LOC), { address: '198.18.6.11' });
    expect(await until(() => cp.tree().hypervisors.length === 1 && !cp.busy())).to.equal(true);
    expect(fetched.sort()).to.deep.equal([locationOf('198.18.6.11'), locationOf('198.18.6.12'), 'http://198.18.6.11:4000/scpd/VMManagement.xml'].sort());
    expect(logged.join('\n')).to.match(/169\.254\.169\.254.*outside the management network/)
      .and.match(/announced by 198\.18\.6\.13 refused: it names another host/)
      .and.match(/SCPDURL "http:\/\/198\.18\.6\.99\/scpd\.xml" refused/);
    expect(cp.tree().hypervisors[0]!.location).to.equal(LOC);
  });

  it('a byebye counts only from the host serving the LOCATION it would drop', async () => {
    const docs = hypervisorDocs('198.18.6.11', 'h1', [['lab', 'r1']]);
    const { cp } = stubbedControlPoint(docs);
    const tree = hypervisorTree('h1', [['lab', 'r1']]);
    cp.receive(aliveOf(tree, LOC), { address: '198.18.6.11' });
    expect(await until(() => cp.tree().hypervisors.length === 1)).to.equal(true);
    cp.receive(byebyeOf(tree), { address: '198.18.6.66' });
    await settle();
    expect(cp.tree().hypervisors).to.have.length(1);
    cp.receive(byebyeOf(tree), { address: '198.18.6.11' });
    expect(await until(() => cp.tree().hypervisors.length === 0)).to.equal(true);
  });

  it('the HTTP client refuses URLs outside its policy before connecting, and never follows a redirect', async () => {
    let hits = 0;
    const srv = await loopbackServer((req, res) => {
      if (req.url === '/redirect') return void res.writeHead(302, { Location: '/target' }).end();
      hits++;
      res.end('<x/>');
    });
    try {
      // A policy whose network is 127.0.0.2 alone: 127.0.0.1 is outside it.
      const other = subnetPolicy({ name: 'lo', address: '127.0.0.2', netmask: '255.255.255.255' });
      const err = await httpRequest(`${srv.origin}/target`, { policy: other }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UrlRefused);
      const soap = await soapCall(`${srv.origin}/target`, 'urn:x:service:Y:1', 'Stop', [], { policy: other }).catch((e: unknown) => e);
      expect(soap).to.be.instanceOf(UpnpError);
      expect((soap as Error).message).to.match(/outside the management network/);
      expect(hits).to.equal(0);
      const redirect = await httpGetText(`${srv.origin}/redirect`).catch((e: Error) => e.message);
      expect(redirect).to.match(/HTTP 302 redirect to "\/target" refused \(redirects are not followed\)/);
      const soapRedirect = await soapCall(`${srv.origin}/redirect`, 'urn:x:service:Y:1', 'Stop', []).catch((e: Error) => e.message);
      expect(soapRedirect).to.match(/redirects are not followed/);
      expect(hits).to.equal(0);
    } finally {
      await srv.close();
    }
  });

  it('answers are bounded in size (Content-Length or data) and in total time (a trickle does not reset it)', async () => {
    const srv = await loopbackServer((req, res) => {
      if (req.url === '/declared') return void res.writeHead(200, { 'Content-Length': String(64 * 1024 * 1024) }).write('x');
      if (req.url === '/chunked') {
        res.writeHead(200);
        const chunk = 'x'.repeat(64 * 1024);
        const pump = () => {
          while (res.write(chunk));
          res.once('drain', pump);
        };
        return pump();
      }
      // A byte every 50 ms, forever: never idle long enough for a socket timeout.
      res.writeHead(200);
      const t = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(t));
    });
    try {
      const t0 = Date.now();
      expect(await httpGetText(`${srv.origin}/declared`, { maxBytes: 1024 * 1024 }).catch((e: Error) => e.message)).to.match(/larger than 1048576 bytes/);
      expect(await httpGetText(`${srv.origin}/chunked`, { maxBytes: 1024 * 1024 }).catch((e: Error) => e.message)).to.match(/larger than 1048576 bytes/);
      expect(await httpGetText(`${srv.origin}/trickle`, { timeoutMs: 300 }).catch((e: Error) => e.message)).to.match(/no complete answer within 300 ms/);
      expect(Date.now() - t0).to.be.below(3000);
    } finally {
      await srv.close();
    }
  });
});
