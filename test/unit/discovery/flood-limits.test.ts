// Audit item 3 (SSDP and HTTP floods): M-SEARCH answers are rate-limited per source address
// and overall (the advertiser's send is stubbed: nothing leaves the process, whatever address
// a search claims to come from), received datagrams are bounded, and the device HTTP server
// caps connections, header and body sizes and the time to send a request (on 127.0.0.1).
import { expect } from 'chai';
import net from 'node:net';
import http from 'node:http';
import { SsdpAdvertiser, ANSWER_REFILL_SECONDS } from '../../../src/discovery/ssdp.ts';
import { advertSet, formatMSearch, parseSsdp } from '../../../src/discovery/ssdp-messages.ts';
import { DeviceServer, HTTP_LIMITS } from '../../../src/discovery/device-server.ts';
import { serviceUrls } from '../../../src/discovery/description.ts';
import { httpRequest } from '../../../src/discovery/http-client.ts';
import { ControlPoint, CONTROL_POINT_LIMITS } from '../../../src/discovery/control-point.ts';
import { FAKE_IFACE, aliveOf, hypervisorDocs, hypervisorTree, settle, until } from './fixtures.ts';

const IFACE = { name: 'mgmt0', address: '198.18.6.11', netmask: '255.255.255.0' };

/** An advertiser whose datagrams are counted, never sent; its clock is ours. */
async function advertiser(vms: number) {
  const clock = { now: 1_000_000 };
  const sent: { address: string; msg: string }[] = [];
  const adv = new SsdpAdvertiser({
    iface: IFACE, maxAge: 1800, bootId: 1, repeats: 1, now: () => clock.now,
    send: async (msg, _port, address) => void sent.push({ address, msg }),
  });
  const tree = hypervisorTree('h1', Array.from({ length: vms }, (_, i) => ['lab', `vm${i}`] as [string, string]));
  adv.setDevice(tree, 'http://198.18.6.11:4000/description.xml', 1);
  await adv.announced();
  sent.length = 0; // the stubbed alive round
  return { adv, sent, clock, size: advertSet(tree).length };
}

const search = (st: string, mx = '1') => Buffer.from(formatMSearch(st, 1).replace('MX: 1', `MX: ${mx}`));
const waitAnswers = () => new Promise((r) => setTimeout(r, 1100)); // MX 1: answers within 1 s

describe('discovery: SSDP answer limits', () => {
  it('answers ssdp:all from one source about twice, then refuses until the budget refills', async () => {
    const { adv, sent, clock, size } = await advertiser(50);
    for (let i = 0; i < 100; i++) adv.receive(search('ssdp:all'), { address: '198.18.6.50', port: 1900 });
    await waitAnswers();
    expect(sent.length).to.equal(2 * size);
    expect(adv.refusedSearches).to.equal(98);
    clock.now += ANSWER_REFILL_SECONDS * 1000; // half the budget back: one full answer
    adv.receive(search('ssdp:all'), { address: '198.18.6.50', port: 1900 });
    adv.receive(search('ssdp:all'), { address: '198.18.6.50', port: 1900 });
    await waitAnswers();
    expect(sent.length).to.equal(3 * size);
    await adv.stop();
  });

  it('bounds all sources together (spoofed addresses gain nothing), and ignores sources outside the subnet', async () => {
    const { adv, sent, size } = await advertiser(50);
    for (let i = 0; i < 200; i++) adv.receive(search('ssdp:all'), { address: `198.18.6.${(i % 250) + 1}`, port: 1900 });
    adv.receive(search('upnp:rootdevice'), { address: '203.0.113.5', port: 1900 });
    await waitAnswers();
    expect(sent.length).to.equal(8 * size);
    expect(sent.some((s) => s.address === '203.0.113.5')).to.equal(false);
    await adv.stop();
  });

  it('no MX, no MAN or no ST gets no answer; oversized datagrams are dropped', async () => {
    const { adv, sent } = await advertiser(1);
    const from = { address: '198.18.6.50', port: 1900 };
    adv.receive(Buffer.from('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nST: ssdp:all\r\n\r\n'), from);
    adv.receive(Buffer.from('M-SEARCH * HTTP/1.1\r\nMX: 1\r\nST: ssdp:all\r\n\r\n'), from);
    adv.receive(Buffer.from('M-SEARCH * HTTP/1.1\r\nMX: 1\r\nMAN: "ssdp:discover"\r\n\r\n'), from);
    adv.receive(Buffer.concat([search('ssdp:all'), Buffer.alloc(9000, 0x41)]), from);
    await waitAnswers();
    expect(sent).to.deep.equal([]);
    expect(parseSsdp(Buffer.alloc(65_000, 0x41))).to.equal(null);
    await adv.stop();
  });
});

describe('discovery: device HTTP server limits (loopback)', () => {
  let server: DeviceServer;
  let origin: string;
  let control: string;
  const tree = hypervisorTree('h1', [['lab', 'r1']]);

  before(async () => {
    server = new DeviceServer({ address: '127.0.0.1', limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 100 } });
    server.setDevice(tree, 1);
    origin = new URL(await server.listen()).origin;
    control = serviceUrls(tree.devices[0]!, tree.devices[0]!.services[0]!).control;
  });
  after(() => server.close());

  it('headers beyond 8 KiB: 431', async () => {
    const r = await httpRequest(`${origin}/description.xml`, { headers: { 'X-Big': 'a'.repeat(HTTP_LIMITS.maxHeaderBytes + 100) } });
    expect(r.status).to.equal(431);
  });

  it('a body too large by Content-Length is refused (413) before it is sent; a body on GET or SUBSCRIBE too', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${origin}${control}`, { method: 'POST', headers: { 'Content-Length': String(10 * 1024 * 1024), SOAPACTION: '"urn:ediv-org:service:VMManagement:1#Stop"' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('x'.repeat(1000)); // and never the rest
    });
    expect(status).to.equal(413);
    expect((await httpRequest(`${origin}/description.xml`, { body: 'x'.repeat(10), headers: { 'Content-Length': '10' } })).status).to.equal(413);
    expect((await httpRequest(`${origin}${control.replace(/control$/, 'event')}`, { method: 'SUBSCRIBE', body: 'x'.repeat(100) })).status).to.equal(413);
  });

  it('one address may hold only its share of the connections', async () => {
    const sockets: net.Socket[] = [];
    let closed = 0;
    for (let i = 0; i < HTTP_LIMITS.maxConnectionsPerAddress + 10; i++) {
      const s = net.connect(Number(new URL(origin).port), '127.0.0.1');
      s.on('close', () => closed++);
      s.on('error', () => {});
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(closed).to.equal(10);
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await httpRequest(`${origin}/description.xml`)).status).to.equal(200);
  });

  it('a client too slow to send its headers or its request is cut off', async () => {
    const cut = (send: (s: net.Socket) => void) =>
      new Promise<number>((resolve) => {
        const t0 = Date.now();
        const s = net.connect(Number(new URL(origin).port), '127.0.0.1', () => send(s));
        s.on('error', () => {});
        s.on('close', () => resolve(Date.now() - t0));
        s.resume();
      });
    expect(await cut((s) => s.write('GET /description.xml HTTP/1.1\r\nHost: x\r\n'))).to.be.below(2000);
    expect(await cut((s) => s.write(`POST ${control} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc`))).to.be.below(2500);
  });
});

describe('discovery: control point limits (stubbed fetches)', () => {
  it('tracks a bounded number of roots per source, and fetches a few descriptions at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const fetched: string[] = [];
    const docs = new Map<string, string>();
    for (let i = 1; i <= 40; i++) for (const [k, v] of hypervisorDocs(`198.18.6.${i}`, `h${i}`, [['lab', `r${i}`]])) docs.set(k, v);
    const cp = new ControlPoint({
      iface: FAKE_IFACE,
      fetchText: async (url) => {
        fetched.push(url);
        peak = Math.max(peak, ++inFlight);
        await settle(20);
        inFlight--;
        return docs.get(url) ?? '<x/>';
      },
    });
    const tree = hypervisorTree('h1', []);
    // One host announcing 100 LOCATIONs (ports): only its share is followed.
    for (let port = 5000; port < 5100; port++) cp.receive(aliveOf(tree, `http://198.18.6.1:${port}/d.xml`), { address: '198.18.6.1' });
    // 40 hosts at once: fetched, but never more than the limit at a time.
    for (let i = 2; i <= 40; i++) cp.receive(aliveOf(tree, `http://198.18.6.${i}:4000/description.xml`), { address: `198.18.6.${i}` });
    expect(await until(() => !cp.busy(), 10_000)).to.equal(true);
    expect(fetched.filter((u) => u.startsWith('http://198.18.6.1:'))).to.have.length(CONTROL_POINT_LIMITS.maxRootsPerSource);
    expect(peak).to.be.at.most(CONTROL_POINT_LIMITS.fetchConcurrency);
    expect(cp.tree().hypervisors.length).to.equal(39);
  });
});
