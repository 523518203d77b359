// Discovery wired to the real host agent: VMs made by `ediv agent apply` (netns driver) are
// served by the daemon `ediv agent serve` starts; SOAP Stop goes through the agent's inventory;
// `ediv agent destroy` makes them disappear from discovery. Needs root.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, NODE, EDIV, ip } from './lab.ts';
import type { DiscoveryTree } from '../../../src/discovery/control-point.ts';

const DEP = 'edivddep';
const FRAGMENT = `<?xml version="1.0" encoding="UTF-8"?>
<vnx>
  <global><version>2.0</version><scenario_name>${DEP}_h1</scenario_name></global>
  <net name="N" mode="virtual_bridge"/>
  <vm name="a1" type="lxc"><if id="1" net="N"><ipv4>10.66.0.1/24</ipv4></if></vm>
  <vm name="a2" type="lxc"><if id="1" net="N"><ipv4>10.66.0.2/24</ipv4></if></vm>
</vnx>
`;

async function vmNamespace(vm: string): Promise<string> {
  const names = (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${DEP}.${vm}.`));
  expect(names, `namespace of ${vm}`).to.have.length(1);
  return names[0]!;
}

describe('discovery with the host agent (root)', function () {
  this.timeout(180_000);
  const lab = new Lab('edivda');
  let stateDir: string;
  let h1: string;
  let cp: string;
  const agent = async (op: string, request: unknown) => {
    const r = await lab.runIn(h1, [NODE, EDIV, 'agent', op, '--state-dir', stateDir], 120_000, JSON.stringify(request));
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; result: any; error?: unknown };
    expect(last.ok, `${op}: ${r.stdout}${r.stderr}`).to.equal(true);
    return last.result;
  };
  const discover = async (): Promise<DiscoveryTree> => {
    const r = await lab.ediv(cp, ['discover', '-i', 'mgmt0', '-t', '2', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as DiscoveryTree;
  };

  before(async () => {
    await lab.up();
    h1 = (await lab.addNode('h1', 11)).ns;
    cp = (await lab.addNode('cp', 2)).ns;
    stateDir = path.join(lab.tmp, 'agent');
    fs.mkdirSync(stateDir);
  });

  after(async () => {
    await lab.runIn(h1, [NODE, EDIV, 'agent', 'serve', '--state-dir', stateDir], 30_000, JSON.stringify({ host: 'h1', stop: true })).catch(() => {});
    await lab.runIn(h1, [NODE, EDIV, 'agent', 'destroy', '--state-dir', stateDir], 60_000, JSON.stringify({ deployment: DEP, host: 'h1' })).catch(() => {});
    for (const l of (await ip('netns', 'list')).split('\n')) {
      const n = l.split(' ')[0]!;
      if (n.startsWith(`${DEP}.`)) await ip('netns', 'del', n).catch(() => {});
    }
    await lab.down();
  });

  it('serves the VMs the agent applied, Stop goes through the agent, destroy removes them', async () => {
    await agent('apply', { deployment: DEP, host: 'h1', fragmentXml: FRAGMENT, backplane: [] });
    const served = await agent('serve', { host: 'h1', interface: 'mgmt0', maxAge: 60 });
    expect(served).to.include({ running: true, started: true });
    lab.trackPid(served.pid);

    let t = await discover();
    expect(t.hypervisors.map((h) => [h.host, h.vms.map((v) => `${v.deployment}/${v.name}`)])).to.deep.equal([['h1', [`${DEP}/a1`, `${DEP}/a2`]]]);

    const a1 = await vmNamespace('a1');
    expect(await lab.carrier(a1, 'eth1', true)).to.equal(true);
    const stop = await lab.ediv(cp, ['discover', 'call', `${DEP}/a1`, 'Stop', '-i', 'mgmt0', '--json']);
    expect(stop.code, stop.stderr + stop.stdout).to.equal(0);
    expect(await lab.carrier(a1, 'eth1', false)).to.equal(false);
    const status = await agent('status', { host: 'h1', deployment: DEP });
    expect(status.deployments[0].vms).to.deep.include({ name: 'a1', state: 'stopped' });
    const get = await lab.ediv(cp, ['discover', 'call', `${DEP}/a1`, 'GetStatus', '-i', 'mgmt0', '--json']);
    expect(JSON.parse(get.stdout).result).to.deep.equal({ State: 'stopped' });

    await agent('destroy', { deployment: DEP, host: 'h1' });
    await agent('serve', { host: 'h1', reload: true });
    await new Promise((r) => setTimeout(r, 1000));
    t = await discover();
    expect(t.hypervisors.map((h) => [h.host, h.vms.length])).to.deep.equal([['h1', 0]]);

    const stopped = await agent('serve', { host: 'h1', stop: true });
    expect(stopped).to.include({ stopped: true, pid: served.pid });
  });

  it('an apply\'s discovery follow-up starts the daemon in the same agent run; a destroy\'s stops it when nothing is left', async () => {
    const key = 'cd'.repeat(32);
    const applied = await agent('apply', { deployment: DEP, host: 'h1', fragmentXml: FRAGMENT, backplane: [], discovery: { start: { address: '198.18.6.11', controlKey: key } } });
    expect(applied.discovery, JSON.stringify(applied.discovery)).to.include({ ok: true, running: true });
    expect(applied.vms.map((v: { name: string }) => v.name)).to.deep.equal(['a1', 'a2']);
    const status = await agent('serve', { host: 'h1', reload: true });
    expect(status).to.include({ running: true, signedControl: true });
    lab.trackPid(status.pid);
    const t = await discover();
    expect(t.hypervisors.map((h) => [h.host, h.vms.map((v) => `${v.deployment}/${v.name}`)])).to.deep.equal([['h1', [`${DEP}/a1`, `${DEP}/a2`]]]);

    // Destroying one VM leaves the daemon running (reloaded); destroying the rest stops it.
    const partial = await agent('destroy', { deployment: DEP, host: 'h1', vms: ['a1'], discovery: { sync: true } });
    expect(partial.discovery).to.include({ ok: true, running: true });
    const destroyed = await agent('destroy', { deployment: DEP, host: 'h1', discovery: { sync: true } });
    expect(destroyed.discovery).to.include({ ok: true, running: false });
    expect(fs.existsSync(`/proc/${status.pid}`) && !fs.readFileSync(`/proc/${status.pid}/stat`, 'utf8').includes(') Z '), 'the daemon still runs').to.equal(false);
  });

  it('an apply that fails after its daemon was started early leaves no daemon when the host runs nothing', async () => {
    const key = 'ef'.repeat(32);
    const backplane = [{ kind: 'vxlan', net: 'N', id: 4242, trunk: 'nosuchtrunk0', localAddress: '198.18.6.11', remotes: ['198.18.6.12'] }];
    const r = await lab.runIn(h1, [NODE, EDIV, 'agent', 'apply', '--state-dir', stateDir], 60_000, JSON.stringify({ deployment: DEP, host: 'h1', fragmentXml: FRAGMENT, backplane, discovery: { start: { address: '198.18.6.11', controlKey: key } } }));
    expect(r.code, r.stdout).to.equal(1);
    expect(r.stdout).to.match(/nosuchtrunk0/);
    const after = await agent('serve', { host: 'h1', reload: true });
    expect(after).to.include({ running: false });
    await agent('destroy', { deployment: DEP, host: 'h1' });
  });

  it('a malformed apply with a follow-up is refused before its daemon is started (exit 2)', async () => {
    const fresh = path.join(lab.tmp, 'agent-bad-apply');
    fs.mkdirSync(fresh);
    const r = await lab.runIn(h1, [NODE, EDIV, 'agent', 'apply', '--state-dir', fresh], 60_000, JSON.stringify({ deployment: DEP, host: 'h1', backplane: [], discovery: { start: { address: '198.18.6.11', controlKey: 'ab'.repeat(32) } } }));
    expect(r.code, r.stdout).to.equal(2);
    expect(r.stdout).to.match(/fragmentXml/);
    // No key installed, no daemon spawned (its log would be there): the host was not touched.
    expect(fs.existsSync(path.join(fresh, '.discovery')), 'the discovery directory was made').to.equal(false);
  });

  it('a malformed follow-up refuses the apply before anything is made (exit 2)', async () => {
    const r = await lab.runIn(h1, [NODE, EDIV, 'agent', 'apply', '--state-dir', stateDir], 60_000, JSON.stringify({ deployment: DEP, host: 'h1', fragmentXml: FRAGMENT, backplane: [], discovery: { start: { address: '198.18.6.11' } } }));
    expect(r.code).to.equal(2);
    expect(r.stdout).to.match(/needs the controller's \\"controlKey\\"|needs the controller's "controlKey"/);
    expect((await ip('netns', 'list')).split('\n').filter((l) => l.startsWith(`${DEP}.`))).to.deep.equal([]);
  });
});
