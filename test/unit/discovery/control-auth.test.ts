// Audit item 6 (unauthenticated state-changing SOAP): with the cluster's control key, a
// hypervisor runs Start/Stop/Suspend/Resume only for fresh, valid, unreplayed signatures bound
// to its URL, the VM and the body; GetStatus stays open; without a key nothing changes. The
// key travels in the serve request (stdin) and is stored 0600; the controller makes it once.
import { upnpErrorCode } from './fixtures.ts';
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlVerifier, SIGNATURE_HEADER, WINDOW_MS, newKeyHex, parseKey, readKeyFile, signCall, type SignedCall } from '../../../src/discovery/control-auth.ts';
import { DeviceServer } from '../../../src/discovery/device-server.ts';
import { vmManagementService, vmDevice, hypervisorDevice } from '../../../src/discovery/hypervisor.ts';
import { serviceUrls } from '../../../src/discovery/description.ts';
import { httpRequest, soapCall } from '../../../src/discovery/http-client.ts';
import { soapRequestBody } from '../../../src/discovery/soap.ts';
import { UpnpError, SERVICE_VM_MANAGEMENT, type VmEntry } from '../../../src/discovery/types.ts';
import { serve } from '../../../src/discovery/serve.ts';
import { controlKeyHolder } from '../../../src/discovery/daemon.ts';
import { faultMessage, signer } from '../../../src/discovery/browse.ts';
import type { TreeService, TreeVm } from '../../../src/discovery/control-point.ts';
import { controlKeyFile, discoveryFollowUps, ensureControlKey, followUpFor, readControlKey } from '../../../src/controller/discovery-hooks.ts';
import { emulatedCluster } from '../../../src/emulated/layout.ts';
import { InputError } from '../../../src/common/errors.ts';

const KEY = parseKey(newKeyHex());
const hexOf = (b: Buffer) => b.toString('hex');
const CALL: SignedCall = { url: 'http://198.18.6.11:4000/upnp/u/VMManagement/control', serviceType: SERVICE_VM_MANAGEMENT, action: 'Stop', udn: 'uuid:1', body: '<x/>' };

const code = upnpErrorCode;

describe('discovery: signed control (HMAC)', () => {
  it('a valid signature passes once; missing, malformed, other key, other URL/VM/body, stale, future or replayed ones get 606', () => {
    const clock = { now: 5_000_000 };
    const v = new ControlVerifier(() => KEY, () => clock.now);
    const h = signCall(KEY, CALL, clock.now);
    expect(code(() => v.verify(h, CALL))).to.equal(0);
    expect(code(() => v.verify(h, CALL)), 'replay').to.equal(606);
    expect(code(() => v.verify(undefined, CALL))).to.equal(606);
    expect(code(() => v.verify('v1; t=1; n=zz; s=00', CALL))).to.equal(606);
    expect(code(() => v.verify(signCall(parseKey(newKeyHex()), CALL, clock.now), CALL)), 'other key').to.equal(606);
    for (const other of [{ url: 'http://198.18.6.66:4000/upnp/u/VMManagement/control' }, { udn: 'uuid:2' }, { body: '<y/>' }, { action: 'Start' }]) {
      expect(code(() => v.verify(signCall(KEY, CALL, clock.now), { ...CALL, ...other })), JSON.stringify(other)).to.equal(606);
    }
    expect(code(() => v.verify(signCall(KEY, CALL, clock.now - WINDOW_MS - 1000), CALL)), 'stale').to.equal(606);
    expect(code(() => v.verify(signCall(KEY, CALL, clock.now + WINDOW_MS + 1000), CALL)), 'future').to.equal(606);
    // Nonces are forgotten only once their time window is over (a replay then fails on time).
    clock.now += 3 * WINDOW_MS;
    expect(code(() => v.verify(h, CALL))).to.equal(606);
    // No key: open, as before.
    expect(code(() => new ControlVerifier(() => undefined).verify(undefined, CALL))).to.equal(0);
  });

  describe('on a device server (loopback)', () => {
    let server: DeviceServer;
    let base: string;
    const key = { current: KEY as Buffer | undefined };
    const entry: VmEntry = { deployment: 'lab', vm: 'r1', state: 'running' };
    let acted: string[] = [];
    const service = vmManagementService(entry, async (a) => {
      acted.push(a);
      return entry.state;
    });
    const vm = vmDevice('h1', entry, service);
    const controlPath = serviceUrls(vm, service).control;
    const vmRef = { udn: vm.udn } as TreeVm;
    let svc: TreeService;

    before(async () => {
      server = new DeviceServer({ address: '127.0.0.1', verifier: new ControlVerifier(() => key.current) });
      server.setDevice(hypervisorDevice('h1', [vm]), 1);
      base = new URL(await server.listen()).origin;
      svc = { serviceType: SERVICE_VM_MANAGEMENT, serviceId: '', source: 'hypervisor', controlUrl: `${base}${controlPath}`, eventUrl: '', scpdUrl: '' };
    });
    after(() => server.close());
    beforeEach(() => {
      acted = [];
      key.current = KEY;
    });

    const call = (action: string, o: { controlKey?: Buffer } = {}) =>
      soapCall(svc.controlUrl, SERVICE_VM_MANAGEMENT, action, [], { sign: signer({ fallbackInterface: '', mx: 1, ...o }, vmRef, svc, action) });
    const fault = (p: Promise<unknown>) => p.then(() => 0, (e: UpnpError) => e.code);

    it('Stop unsigned: 606 and nothing done; signed with the key: done; GetStatus needs no signature', async () => {
      expect(await fault(call('Stop'))).to.equal(606);
      expect(await fault(call('Stop', { controlKey: parseKey(newKeyHex()) }))).to.equal(606);
      expect(acted).to.deep.equal([]);
      expect(await call('Stop', { controlKey: KEY })).to.deep.equal({});
      expect(await call('GetStatus')).to.deep.equal({ State: 'running' });
      expect(acted).to.deep.equal(['stop', 'status']);
    });

    it('a captured signed request replayed is refused', async () => {
      const body = soapRequestBody(SERVICE_VM_MANAGEMENT, 'Suspend', []);
      const headers = { SOAPACTION: `"${SERVICE_VM_MANAGEMENT}#Suspend"`, [SIGNATURE_HEADER]: signCall(KEY, { url: svc.controlUrl, serviceType: SERVICE_VM_MANAGEMENT, action: 'Suspend', udn: vm.udn, body }) };
      expect((await httpRequest(svc.controlUrl, { method: 'POST', body, headers })).status).to.equal(200);
      const again = await httpRequest(svc.controlUrl, { method: 'POST', body, headers });
      expect(again.status).to.equal(500);
      expect(again.body).to.match(/<errorCode>606<\/errorCode>.*replayed/);
      expect(acted).to.deep.equal(['suspend']);
    });

    it('a server without a key runs unsigned actions, as before', async () => {
      key.current = undefined;
      expect(await call('Resume')).to.deep.equal({});
      expect(acted).to.deep.equal(['resume']);
    });
  });

  it('ediv discover call explains a 606 with and without the key', () => {
    const err = new UpnpError(606, 'Action not authorized: x');
    expect(faultMessage({ fallbackInterface: '', mx: 1, controlKeyFile: '/s/discovery-control.key' }, 'r1', 'Stop', err))
      .to.match(/only when signed with the cluster's discovery key: run `ediv discover call` on the controller.*no key in \/s\/discovery-control\.key/);
    expect(faultMessage({ fallbackInterface: '', mx: 1, controlKey: KEY, controlKeyFile: '/s/k' }, 'r1', 'Stop', err)).to.match(/signed with the key in \/s\/k: the hypervisor has another key/);
    // A VM's own advertiser is never sent a signature.
    expect(signer({ fallbackInterface: '', mx: 1, controlKey: KEY }, { udn: 'uuid:1' } as TreeVm, { source: 'vm' } as TreeService, 'Stop')).to.equal(undefined);
  });

  describe('the key on disk', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-key-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const mode = (f: string) => fs.statSync(f).mode & 0o777;

    it('serve stores the request\'s key 0600 under .discovery (dir 0700) and refuses a malformed one without echoing it', async () => {
      const hex = newKeyHex();
      fs.mkdirSync(path.join(dir, '.discovery'), { mode: 0o755 }); // as another tool might have left it
      fs.chmodSync(path.join(dir, '.discovery'), 0o755);
      const res = await serve({ host: 'h1', stop: true, controlKey: hex }, { stateDir: dir, daemonMain: '/nonexistent/main.ts' });
      expect(res).to.include({ running: false, stopped: false });
      const file = path.join(dir, '.discovery', 'control.key');
      expect(fs.readFileSync(file, 'utf8').trim()).to.equal(hex);
      expect(mode(file)).to.equal(0o600);
      expect(mode(path.join(dir, '.discovery'))).to.equal(0o700);
      expect(readKeyFile(file).map(hexOf)).to.deep.equal([hex]);
      const bad = `${hex.slice(0, 60)}XYZW`;
      const err = await serve({ host: 'h1', stop: true, controlKey: bad }, { stateDir: dir, daemonMain: '/x' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(InputError);
      expect((err as Error).message).to.match(/"controlKey" must be 64 lower-case hex digits/).and.not.include(bad);
      fs.chmodSync(file, 0o644);
      expect(() => readKeyFile(file)).to.throw(/readable by others/);
    });

    it('the daemon reads its key at start (a bad file stops it), re-reads it on reload (a bad file keeps the old one)', () => {
      const file = path.join(dir, 'control.key');
      const [a, b] = [newKeyHex(), newKeyHex()];
      fs.writeFileSync(file, `${a}\n`, { mode: 0o600 });
      const said: string[] = [];
      const holder = controlKeyHolder(file, (m) => said.push(m));
      expect(holder.get()!.map(hexOf)).to.deep.equal([a]);
      fs.writeFileSync(file, `${b}\n`);
      holder.reread();
      expect(holder.get()!.map(hexOf)).to.deep.equal([b]);
      fs.writeFileSync(file, 'garbage\n');
      holder.reread();
      expect(holder.get()!.map(hexOf)).to.deep.equal([b]);
      expect(said.join('\n')).to.match(/need a signature/).and.match(/old ones stay/);
      expect(() => controlKeyHolder(file, () => {})).to.throw(/64 hex digits/);
      expect(controlKeyHolder(undefined, (m) => said.push(m)).get()).to.equal(undefined);
      expect(said.at(-1)).to.match(/every action is open/);
    });

    it('the controller makes its key once (0600), refuses a readable one, and sends it in the apply\'s discovery follow-up', () => {
      const hex = ensureControlKey(dir);
      expect(ensureControlKey(dir)).to.equal(hex);
      expect(readControlKey(dir)).to.equal(hex);
      expect(mode(controlKeyFile(dir))).to.equal(0o600);
      const cluster = emulatedCluster(1, '/nonexistent');
      const said: string[] = [];
      const field = followUpFor(discoveryFollowUps(cluster, dir), cluster.hosts[0]!, (m) => said.push(m));
      expect(field).to.deep.equal({ discovery: { start: { address: cluster.hosts[0]!.address, controlKey: hex } } });
      expect(said).to.deep.equal([]);
      // A host named by DNS in a cluster without a management network cannot serve: a warning, no follow-up.
      const named = { ...cluster.hosts[0]!, address: 'host1.example' };
      expect(followUpFor(discoveryFollowUps({ ...cluster, management: {} }, dir), named, (m) => said.push(m))).to.deep.equal({});
      expect(said.join()).to.match(/address is a name and the cluster file gives no management network/);
      fs.chmodSync(controlKeyFile(dir), 0o640);
      expect(() => readControlKey(dir)).to.throw(/readable by others/);
    });
  });
});
