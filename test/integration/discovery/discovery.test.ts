// Discovery end to end in a netns lab: hypervisor daemons in host namespaces (started through
// serve(), detached, as `ediv agent serve` does), `ediv discover` and independent UPnP stacks in
// a control-point namespace, all on the lab bridge. Needs root.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, NODE, EDIV } from './lab.ts';
import { vmUdn, hypervisorUdn } from '../../../src/discovery/udn.ts';
import type { DiscoveryTree } from '../../../src/discovery/control-point.ts';
import { writeVmFile } from '../../../src/discovery/provider.ts';
import type { VmFile } from '../../../src/discovery/provider.ts';
import { ensureControlKey } from '../../../src/controller/discovery-hooks.ts';
import { parseKey, signCall, SIGNATURE_HEADER } from '../../../src/discovery/control-auth.ts';
import { pidAlive } from '../../../src/common/process.ts';
import { soapRequestBody } from '../../../src/discovery/soap.ts';
import { SERVICE_VM_MANAGEMENT } from '../../../src/discovery/types.ts';

const HERE = import.meta.dirname;
const probe = (name: string) => path.join(HERE, name);
const TS = [NODE, '--disable-warning=ExperimentalWarning'];

/** Collects stdout lines of a long-running child and waits for one that satisfies a predicate. */
class Lines {
  readonly lines: string[] = [];
  private waiters: (() => void)[] = [];
  constructor(child: ChildProcess) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        this.waiters.forEach((w) => w());
      }
    });
  }
  async waitFor<T>(pick: (line: string) => T | undefined, ms: number): Promise<T> {
    const end = Date.now() + ms;
    let from = 0;
    for (;;) {
      for (; from < this.lines.length; from++) {
        const v = pick(this.lines[from]!);
        if (v !== undefined) return v;
      }
      if (Date.now() > end) throw new Error(`no matching line within ${ms} ms; got:\n${this.lines.slice(-5).join('\n')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
      this.waiters = [];
    }
  }
}

describe('discovery in a netns lab (root)', function () {
  this.timeout(180_000);
  const lab = new Lab('edivd');
  let cpNs: string;
  let vm3Ns: string;
  let r1Ns: string;
  const dirs: Record<string, string> = {};
  const vmsFiles: Record<string, string> = {};
  const files: Record<string, VmFile> = {};

  const discover = async (args: string[] = []): Promise<DiscoveryTree> => {
    const r = await lab.ediv(cpNs, ['discover', '-i', 'mgmt0', '-t', '2', '--json', ...args]);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as DiscoveryTree;
  };
  const call = async (vm: string, action: string, ...args: string[]) => {
    const r = await lab.ediv(cpNs, ['discover', 'call', vm, action, ...args, '-i', 'mgmt0', '--json']);
    return { code: r.code, out: JSON.parse(r.stdout || '{}') as Record<string, any>, stderr: r.stderr };
  };
  const vmsOf = (t: DiscoveryTree, host: string) =>
    t.hypervisors.find((h) => h.host === host)?.vms.map((v) => `${v.deployment}/${v.name}`);

  before(async () => {
    await lab.up();
    const h1 = await lab.addNode('h1', 11);
    const h2 = await lab.addNode('h2', 12);
    cpNs = (await lab.addNode('cp', 2)).ns;
    vm3Ns = (await lab.addNode('vm3', 30)).ns;
    r1Ns = await lab.addVm('h1', 'r1');
    files.h1 = { vms: [{ deployment: 'lab', vm: 'r1', state: 'running', netns: r1Ns }, { deployment: 'lab', vm: 'r2', state: 'running' }] };
    files.h2 = { vms: [{ deployment: 'lab', vm: 'r3', state: 'running' }, { deployment: 'other', vm: 'x', state: 'stopped' }] };
    for (const [host, node] of [['h1', h1], ['h2', h2]] as const) {
      dirs[host] = path.join(lab.tmp, host);
      fs.mkdirSync(dirs[host]!);
      vmsFiles[host] = path.join(dirs[host]!, 'vms.json');
      writeVmFile(vmsFiles[host]!, files[host]!);
      const res = await lab.serve(node.ns, { host, interface: 'mgmt0', stateDir: dirs[host], vmsFile: vmsFiles[host], maxAge: 60 });
      expect(res).to.include({ started: true, running: true, udn: hypervisorUdn(host) });
    }
  });

  after(async () => {
    for (const host of ['h1', 'h2']) {
      if (dirs[host]) await lab.serve(lab.ns(host), { host, stateDir: dirs[host], stop: true }).catch(() => {});
    }
    await lab.down();
  });

  it('finds every host with exactly its VMs, under their stable UDNs', async () => {
    const t = await discover();
    expect(t.hypervisors.map((h) => h.host)).to.deep.equal(['h1', 'h2']);
    expect(vmsOf(t, 'h1')).to.deep.equal(['lab/r1', 'lab/r2']);
    expect(vmsOf(t, 'h2')).to.deep.equal(['lab/r3', 'other/x']);
    const r1 = t.hypervisors[0]!.vms[0]!;
    expect(r1.udn).to.equal(vmUdn('lab', 'r1'));
    expect(r1.services[0]!.actions!.map((a) => a.name)).to.deep.equal(['Start', 'Stop', 'Suspend', 'Resume', 'GetStatus']);
    expect(t.hypervisors[0]!.location).to.match(/^http:\/\/198\.18\.6\.11:\d+\/description\.xml$/);
  });

  it('a second serve keeps the running daemon (one per host) and reloads it', async () => {
    const before = JSON.parse(fs.readFileSync(path.join(dirs.h1!, '.discovery', 'daemon.json'), 'utf8')) as { pid: number };
    const res = await lab.serve(lab.ns('h1'), { host: 'h1', interface: 'mgmt0', stateDir: dirs.h1, vmsFile: vmsFiles.h1, maxAge: 60 });
    expect(res).to.include({ started: false, reloaded: true, pid: before.pid });
  });

  it('SOAP Stop and Start change a netns VM (its links go down and up)', async () => {
    expect(await lab.linkUp(r1Ns, 'eth0')).to.equal(true);
    const stop = await call('lab/r1', 'Stop');
    expect(stop.code, stop.stderr).to.equal(0);
    expect(await lab.linkUp(r1Ns, 'eth0')).to.equal(false);
    const status = await call('r1', 'GetStatus');
    expect(status.out.result).to.deep.equal({ State: 'stopped' });
    const start = await call(vmUdn('lab', 'r1'), 'Start');
    expect(start.code, start.stderr).to.equal(0);
    expect(await lab.linkUp(r1Ns, 'eth0')).to.equal(true);
  });

  it('an action not allowed in the VM state is a UPnP 501 fault', async () => {
    const r = await call('other/x', 'Suspend'); // x is stopped
    expect(r.code).to.equal(1);
    expect(r.out.details.upnpErrorCode).to.equal(501);
    expect(r.out.message).to.match(/cannot suspend a VM that is stopped/);
  });

  it('malformed SOAP gets a fault with HTTP 500, and the server keeps answering', async () => {
    const t = await discover();
    const control = t.hypervisors[0]!.vms[0]!.services[0]!.controlUrl;
    const post = async (body: string, soapAction: string) => {
      const r = await lab.runIn(cpNs, [...TS, probe('http-probe.ts'), 'POST', control,
        JSON.stringify({ 'content-type': 'text/xml; charset="utf-8"', soapaction: soapAction }), body]);
      return JSON.parse(r.stdout) as { status: number; body: string };
    };
    const sa = '"urn:ediv-org:service:VMManagement:1#Stop"';
    const garbage = await post('<s:Envelope><s:Body><u:Stop>', sa);
    expect(garbage.status).to.equal(500);
    expect(garbage.body).to.match(/<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>402<\/errorCode>/);
    const bomb = await post('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>', sa);
    expect(bomb.status).to.equal(500);
    expect(bomb.body).to.match(/<errorCode>402<\/errorCode>/);
    const ok = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>';
    const unknown = await post(`${ok}<u:Explode xmlns:u="urn:ediv-org:service:VMManagement:1"/></s:Body></s:Envelope>`, '"urn:ediv-org:service:VMManagement:1#Explode"');
    expect(unknown.status).to.equal(500);
    expect(unknown.body).to.match(/<errorCode>401<\/errorCode>/);
    const extraArg = await post(`${ok}<u:Stop xmlns:u="urn:ediv-org:service:VMManagement:1"><Force>1</Force></u:Stop></s:Body></s:Envelope>`, sa);
    expect(extraArg.body).to.match(/<errorCode>402<\/errorCode>.*unexpected Force/);
    expect(await lab.linkUp(r1Ns, 'eth0')).to.equal(true); // nothing was stopped
    const desc = await lab.runIn(cpNs, [...TS, probe('http-probe.ts'), 'GET', t.hypervisors[0]!.location]);
    expect(JSON.parse(desc.stdout).status).to.equal(200);
  });

  it('M-SEARCH for a service or device type gets only matching responses', async () => {
    const search = async (st: string) => {
      const r = await lab.runIn(cpNs, [...TS, probe('ssdp-probe.ts'), 'search', '198.18.6.2', st, '2']);
      return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
    };
    const svc = await search('urn:ediv-org:service:VMManagement:1');
    const expected = ['lab/r1', 'lab/r2', 'lab/r3', 'other/x'].map((k) => `${vmUdn(k.split('/')[0]!, k.split('/')[1]!)}::urn:ediv-org:service:VMManagement:1`);
    expect([...new Set(svc.map((m) => m.usn))].sort()).to.deep.equal(expected.sort());
    expect(svc.every((m) => m.st === 'urn:ediv-org:service:VMManagement:1' && m['bootid.upnp.org'] && m['configid.upnp.org'] !== undefined && m.ext === '')).to.equal(true);
    const hv = await search('urn:ediv-org:device:Hypervisor:1');
    expect([...new Set(hv.map((m) => m.usn))].sort()).to.deep.equal(
      [`${hypervisorUdn('h1')}::urn:ediv-org:device:Hypervisor:1`, `${hypervisorUdn('h2')}::urn:ediv-org:device:Hypervisor:1`].sort());
    const one = await search(vmUdn('lab', 'r2'));
    expect([...new Set(one.map((m) => m.usn))]).to.deep.equal([vmUdn('lab', 'r2')]);
    expect(one[0]!.location).to.match(/^http:\/\/198\.18\.6\.11:/);
  });

  it('the VM advertiser announces the VM under its UDN; its services merge into the hypervisor entry', async () => {
    const svcFile = path.join(lab.tmp, 'services.json');
    fs.writeFileSync(svcFile, JSON.stringify({
      services: [{
        serviceType: 'urn:example-org:service:Echo:1',
        actions: [{ name: 'Echo', arguments: [{ name: 'Text' }], command: ['/bin/echo', '-n', 'said:{Text}'] }],
      }],
    }));
    const adv = lab.spawnIn(vm3Ns, [NODE, EDIV, 'vm-advertise', '--services', svcFile, '--deployment', 'lab', '--vm', 'r3', '--host', 'h2', '-i', 'mgmt0', '--max-age', '60', '--json']);
    const lines = new Lines(adv);
    const info = await lines.waitFor((l) => JSON.parse(l) as { udn: string }, 10_000);
    expect(info.udn).to.equal(vmUdn('lab', 'r3'));
    const t = await discover();
    const r3 = t.hypervisors.find((h) => h.host === 'h2')!.vms.find((v) => v.name === 'r3')!;
    expect(r3.selfAdvertised).to.equal(true);
    expect(r3.services.map((s) => `${s.source} ${s.serviceType}`)).to.deep.equal([
      'hypervisor urn:ediv-org:service:VMManagement:1', 'vm urn:example-org:service:Echo:1']);
    expect(t.vms).to.deep.equal([]);
    // Shell metacharacters stay one literal argv element.
    const evil = '$(touch /tmp/ediv-pwned); `id`; rm -rf /nonexistent';
    const r = await call('lab/r3', 'Echo', `Text=${evil}`);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.out.result).to.deep.equal({ Output: `said:${evil}`, ExitCode: '0' });
    expect(fs.existsSync('/tmp/ediv-pwned')).to.equal(false);
    adv.kill('SIGTERM');
    await new Promise((r) => adv.once('close', r));
    const after = await discover();
    expect(after.hypervisors.find((h) => h.host === 'h2')!.vms.find((v) => v.name === 'r3')!.selfAdvertised).to.equal(false);
  });

  it('gssdp (GSSDP through python3-gi) finds the hypervisors and the VM devices', async () => {
    const r = await lab.runIn(cpNs, ['/usr/bin/python3', probe('upnp-probe.py'), 'browse', 'mgmt0', '3']);
    expect(r.code, r.stderr).to.equal(0);
    const usns = (JSON.parse(r.stdout) as { usns: string[] }).usns;
    for (const h of ['h1', 'h2']) expect(usns).to.include(`${hypervisorUdn(h)}::upnp:rootdevice`);
    for (const [d, v] of [['lab', 'r1'], ['lab', 'r2'], ['lab', 'r3'], ['other', 'x']]) {
      expect(usns).to.include(vmUdn(d!, v!));
      expect(usns).to.include(`${vmUdn(d!, v!)}::urn:ediv-org:device:VirtualMachine:1`);
    }
  });

  it('GUPnP reads the description and its Stop changes the VM', async () => {
    const gupnp = (action: string) => lab.runIn(cpNs, ['/usr/bin/python3', probe('upnp-probe.py'), 'call', 'mgmt0', vmUdn('lab', 'r1'), action, '8']);
    const r = await gupnp('Stop');
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { found: boolean; hypervisors: { udn: string; vms: string[] }[]; result: { ok: boolean } };
    expect(out.found).to.equal(true);
    const h1 = out.hypervisors.find((h) => h.udn === hypervisorUdn('h1'))!;
    expect(h1.vms).to.deep.equal([vmUdn('lab', 'r1'), vmUdn('lab', 'r2')].sort());
    expect(out.result.ok).to.equal(true);
    expect(await lab.linkUp(r1Ns, 'eth0')).to.equal(false);
    const s = JSON.parse((await gupnp('GetStatus')).stdout) as { result: { values: string[] } };
    expect(s.result.values).to.deep.equal(['stopped']);
    expect((await call('lab/r1', 'Start')).code).to.equal(0);
  });

  it('a VM removed: byebye for its USNs, a new CONFIGID, and it disappears from a live tree', async () => {
    const watch = lab.spawnIn(cpNs, [NODE, EDIV, 'discover', '--watch', '--json', '-i', 'mgmt0']);
    const listen = lab.spawnIn(cpNs, [...TS, probe('ssdp-probe.ts'), 'listen', '198.18.6.2', '60']);
    const notes = new Lines(listen);
    const trees = new Lines(watch);
    type TreeLine = { tree: DiscoveryTree };
    const first = await trees.waitFor((l) => {
      const t = (JSON.parse(l) as TreeLine).tree;
      return vmsOf(t, 'h2')?.includes('other/x') ? t : undefined;
    }, 15_000);
    await new Promise((r) => setTimeout(r, 500)); // listener joined
    files.h2!.vms = files.h2!.vms.filter((v) => v.vm !== 'x');
    writeVmFile(vmsFiles.h2!, files.h2!);
    const second = await trees.waitFor((l) => {
      const t = (JSON.parse(l) as TreeLine).tree;
      return vmsOf(t, 'h2') && !vmsOf(t, 'h2')!.includes('other/x') ? t : undefined;
    }, 15_000);
    expect(vmsOf(second, 'h2')).to.deep.equal(['lab/r3']);
    const h2Before = first.hypervisors.find((h) => h.host === 'h2')!;
    const h2After = second.hypervisors.find((h) => h.host === 'h2')!;
    expect(h2After.configId).to.not.equal(h2Before.configId);
    expect(h2After.bootId).to.equal(h2Before.bootId);
    const x = vmUdn('other', 'x');
    const byebyes = new Set<string>();
    await notes.waitFor((l) => {
      const m = JSON.parse(l) as Record<string, string>;
      if (m.nts === 'ssdp:byebye' && m.usn?.startsWith(x)) byebyes.add(m.usn);
      return byebyes.size === 3 ? true : undefined;
    }, 5_000);
    expect([...byebyes].sort()).to.deep.equal([x, `${x}::urn:ediv-org:device:VirtualMachine:1`, `${x}::urn:ediv-org:service:VMManagement:1`]);
    watch.kill('SIGTERM');
    listen.kill('SIGTERM');
  });

  it('stop says byebye for everything and the daemon exits', async () => {
    const st = JSON.parse(fs.readFileSync(path.join(dirs.h2!, '.discovery', 'daemon.json'), 'utf8')) as { pid: number };
    const res = await lab.serve(lab.ns('h2'), { host: 'h2', stateDir: dirs.h2, stop: true });
    expect(res).to.include({ stopped: true, pid: st.pid });
    expect(pidAlive(st.pid), 'the daemon still runs').to.equal(false); // exited (perhaps a zombie until PID 1 reaps it)
    const t = await discover();
    expect(t.hypervisors.map((h) => h.host)).to.deep.equal(['h1']);
    const again = await lab.serve(lab.ns('h2'), { host: 'h2', stateDir: dirs.h2, stop: true });
    expect(again).to.include({ running: false, stopped: false });
  });

  // Issue 14: several controllers deploy onto one host; each hands the daemon its key, and
  // every one of them may sign actions there. Runs last: h1 stays signed from here on.
  it('a daemon given the keys of two controllers runs actions signed with either, and refuses unsigned, foreign and replayed ones', async () => {
    const [ctlA, ctlB, ctlC, none] = ['ctl-a', 'ctl-b', 'ctl-c', 'ctl-none'].map((n) => path.join(lab.tmp, n)) as [string, string, string, string];
    fs.mkdirSync(none, { mode: 0o700 });
    const [keyA, keyB] = [ensureControlKey(ctlA), ensureControlKey(ctlB)];
    ensureControlKey(ctlC); // a controller that never deployed onto h1
    const req = { host: 'h1', interface: 'mgmt0', stateDir: dirs.h1, vmsFile: vmsFiles.h1, maxAge: 60 };
    const first = await lab.serve(lab.ns('h1'), { ...req, controlKey: keyA });
    expect(first).to.include({ running: true, started: true, signedControl: true, controlKeys: 1 }); // keyed now: restarted
    const second = await lab.serve(lab.ns('h1'), { ...req, controlKey: keyB });
    expect(second).to.include({ running: true, reloaded: true, pid: first.pid, signedControl: true, controlKeys: 2 });
    const keyFile = path.join(dirs.h1!, '.discovery', 'control.key');
    expect(fs.readFileSync(keyFile, 'utf8')).to.equal(`${keyA}\n${keyB}\n`);
    expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);

    const callAs = (state: string, action: string) => call('lab/r1', action, '--state', state);
    for (const [who, state] of [['unsigned', none], ['a controller that never deployed here', ctlC]] as const) {
      const r = await callAs(state, 'Stop');
      expect(r.code, who).to.equal(1);
      expect(r.out.details.upnpErrorCode, who).to.equal(606);
    }
    expect(await lab.linkUp(r1Ns, 'eth0')).to.equal(true);
    const byB = await callAs(ctlB, 'Stop'); // the second key handed over
    expect(byB.code, byB.stderr + JSON.stringify(byB.out)).to.equal(0);
    expect(await lab.linkUp(r1Ns, 'eth0')).to.equal(false);
    const byA = await callAs(ctlA, 'Start'); // the first one still counts
    expect(byA.code, byA.stderr + JSON.stringify(byA.out)).to.equal(0);
    expect(await lab.linkUp(r1Ns, 'eth0')).to.equal(true);
    expect((await callAs(none, 'GetStatus')).out.result).to.deep.equal({ State: 'running' });

    // A signed request captured and sent again is refused, whichever key signed it.
    const r2 = (await discover()).hypervisors.find((h) => h.host === 'h1')!.vms.find((v) => v.name === 'r2')!;
    const control = r2.services.find((sv) => sv.serviceType === SERVICE_VM_MANAGEMENT)!.controlUrl;
    const body = soapRequestBody(SERVICE_VM_MANAGEMENT, 'Suspend', []);
    const headers = {
      'content-type': 'text/xml; charset="utf-8"', soapaction: `"${SERVICE_VM_MANAGEMENT}#Suspend"`,
      [SIGNATURE_HEADER]: signCall(parseKey(keyB), { url: control, serviceType: SERVICE_VM_MANAGEMENT, action: 'Suspend', udn: r2.udn, body }),
    };
    const post = async () => JSON.parse((await lab.runIn(cpNs, [...TS, probe('http-probe.ts'), 'POST', control, JSON.stringify(headers), body])).stdout) as { status: number; body: string };
    expect((await post()).status).to.equal(200);
    const replay = await post();
    expect(replay.status).to.equal(500);
    expect(replay.body).to.match(/<errorCode>606<\/errorCode>.*replayed/);
  });
});
