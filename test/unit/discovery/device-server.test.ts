// The device HTTP server on loopback with an in-memory VM: description, SOAP control with
// argument checks, GENA subscribe/renew/unsubscribe and events with SEQ.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeviceServer } from '../../../src/discovery/device-server.ts';
import { hypervisorDevice, vmDevice, vmManagementService } from '../../../src/discovery/hypervisor.ts';
import { ownerService } from '../../../src/discovery/advertiser.ts';
import { serviceUrls } from '../../../src/discovery/description.ts';
import { httpRequest, soapCall } from '../../../src/discovery/http-client.ts';
import { UpnpError } from '../../../src/discovery/types.ts';
import type { VmEntry } from '../../../src/discovery/types.ts';

const T = 'urn:ediv-org:service:VMManagement:1';

describe('discovery: device server (loopback)', () => {
  let server: DeviceServer;
  let base: string;
  const entry: VmEntry = { deployment: 'lab', vm: 'r1', state: 'running' };
  const service = vmManagementService(entry, async (a) => {
    if (a === 'stop') entry.state = 'stopped';
    if (a === 'start') entry.state = 'running';
    if (a === 'suspend') throw new Error('cannot suspend here');
    server.publish(vm, service);
    return entry.state;
  });
  const vm = vmDevice('h1', entry, service);
  const urls = serviceUrls(vm, service);
  // A VM-defined service next to it: argument types are checked against the SCPD.
  const echo = ownerService(
    { serviceType: 'urn:example-org:service:Echo:1', actions: [{ name: 'Echo', arguments: [{ name: 'N', dataType: 'ui1' }], command: ['echo', '{N}'] }] },
    0,
    async (argv) => ({ stdout: argv.join(' '), stderr: '', code: 0 }),
  );
  vm.services.push(echo);

  // Callback server standing for a subscribed control point.
  const events: { sid: string; seq: string; body: string }[] = [];
  const cb = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      events.push({ sid: String(req.headers.sid), seq: String(req.headers.seq), body });
      res.writeHead(200).end();
    });
  });
  const waitEvents = async (n: number) => {
    for (let i = 0; i < 100 && events.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    expect(events).to.have.length(n);
  };

  before(async () => {
    server = new DeviceServer({ address: '127.0.0.1' });
    server.setDevice(hypervisorDevice('h1', [vm]), 5);
    base = new URL(await server.listen()).origin;
    await new Promise<void>((r) => cb.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    await server.close();
    await new Promise((r) => cb.close(r));
  });

  it('serves the description, the SCPD and 404 for anything else', async () => {
    const d = await httpRequest(`${base}/description.xml`);
    expect(d.status).to.equal(200);
    expect(d.body).to.contain(vm.udn).and.contain('configId="5"');
    expect((await httpRequest(`${base}${urls.scpd}`)).body).to.contain('<name>GetStatus</name>');
    expect((await httpRequest(`${base}/etc/passwd`)).status).to.equal(404);
  });

  it('runs actions; faults carry UPnP codes with HTTP 500', async () => {
    expect(await soapCall(`${base}${urls.control}`, T, 'GetStatus', [])).to.deep.equal({ State: 'running' });
    const fault = async (action: string, args: [string, string][] = [], type = T, url = urls.control) => {
      try {
        await soapCall(`${base}${url}`, type, action, args);
      } catch (err) {
        return (err as UpnpError).code;
      }
      return 0;
    };
    expect(await fault('Suspend')).to.equal(501);
    expect(await fault('Reboot')).to.equal(401);
    expect(await fault('Stop', [['Now', '1']])).to.equal(402);
    expect(await fault('Stop', [], 'urn:example-org:service:Echo:1')).to.equal(401); // wrong service at this URL
    const echoUrl = serviceUrls(vm, echo).control;
    expect(await fault('Echo', [['N', '300']], 'urn:example-org:service:Echo:1', echoUrl)).to.equal(600);
    expect(await fault('Echo', [], 'urn:example-org:service:Echo:1', echoUrl)).to.equal(402);
    expect(await soapCall(`${base}${echoUrl}`, 'urn:example-org:service:Echo:1', 'Echo', [['N', '7']])).to.deep.equal({ Output: 'echo 7', ExitCode: '0' });
    const big = await httpRequest(`${base}${urls.control}`, { method: 'POST', body: 'x'.repeat(100_000), headers: { SOAPACTION: `"${T}#Stop"` } });
    expect(big.status).to.equal(413);
  });

  it('GENA: initial event SEQ 0, an event per state change, renew and unsubscribe', async () => {
    const cbUrl = `http://127.0.0.1:${(cb.address() as AddressInfo).port}/ev`;
    const sub = await httpRequest(`${base}${urls.event}`, { method: 'SUBSCRIBE', headers: { CALLBACK: `<${cbUrl}>`, NT: 'upnp:event', TIMEOUT: 'Second-300' } });
    const reply = await new Promise<http.IncomingMessage>((resolve) =>
      http.request(`${base}${urls.event}`, { method: 'SUBSCRIBE', headers: { CALLBACK: `<${cbUrl}>`, NT: 'upnp:event', TIMEOUT: 'Second-300' } }, resolve).end(),
    );
    reply.resume();
    expect(sub.status).to.equal(200);
    const sid = String(reply.headers.sid);
    expect(sid).to.match(/^uuid:/);
    expect(reply.headers.timeout).to.equal('Second-300');
    await waitEvents(2); // initial events of both subscriptions
    expect(events.every((e) => e.seq === '0' && e.body.includes('<State>running</State>'))).to.equal(true);
    await soapCall(`${base}${urls.control}`, T, 'Stop', []);
    await waitEvents(4);
    const mine = events.filter((e) => e.sid === sid);
    expect(mine.map((e) => e.seq)).to.deep.equal(['0', '1']);
    expect(mine[1]!.body).to.contain('<e:property><State>stopped</State></e:property>');
    const renew = await httpRequest(`${base}${urls.event}`, { method: 'SUBSCRIBE', headers: { SID: sid, TIMEOUT: 'Second-60' } });
    expect(renew.status).to.equal(200);
    expect((await httpRequest(`${base}${urls.event}`, { method: 'SUBSCRIBE', headers: { SID: 'uuid:nope' } })).status).to.equal(412);
    expect((await httpRequest(`${base}${urls.event}`, { method: 'UNSUBSCRIBE', headers: { SID: sid } })).status).to.equal(200);
    expect((await httpRequest(`${base}${urls.event}`, { method: 'SUBSCRIBE', headers: { SID: sid } })).status).to.equal(412);
    // Callbacks must point back at the subscriber: no relaying events elsewhere.
    const relay = await httpRequest(`${base}${urls.event}`, { method: 'SUBSCRIBE', headers: { CALLBACK: '<http://192.0.2.99/x>', NT: 'upnp:event' } });
    expect(relay.status).to.equal(412);
  });
});
