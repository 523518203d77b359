// A shared host (namespace edivt-own1, one agent state directory): deployments of several
// owners side by side. Another owner's requests are refused, changing nothing, unless forced
// (then logged); two labs of one name run apart; a backplane id in use here is refused, forced
// or not; facts and status say who uses what.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { edivBin } from '../../../src/common/paths.ts';
import { netnsName } from '../../../src/host-agent/naming.ts';
import type { OwnershipLogEntry } from '../../../src/host-agent/owner.ts';
import { tagOf } from '../../../src/host-agent/store.ts';
import {
  encodeArgRequest,
  type AgentExecResult,
  type ApplyResult,
  type CaptureRequest,
  type ConnectRequest,
  type DeploymentOwner,
  type FactsResult,
  type ProgressEvent,
  type StatusResult,
} from '../../../src/protocol/agent.ts';
import type { BackplaneLink } from '../../../src/protocol/plan.ts';
import { freshHostNs, isRoot, removeNamespaces, runAgent, sh, vnx, type AgentRun } from './helpers.ts';

const HOST = 'edivt-own1';
const LAB = 'edivt-lab';
const A = `${LAB}.aaaaaa`;
const B = `${LAB}.bbbbbb`;
const C = 'edivt-oth.cccccc';
const VMS = ['a', 'b'];
const TRUNK = 'eth0';
const PEER = 'eth0p'; // the trunk's other end (a veth pair: this kernel may have no dummy links)

const alice: DeploymentOwner = { user: 'alice', store: '1f2e3d4c-0000-4000-8000-00000000000a' };
const bob: DeploymentOwner = { user: 'bob', store: '9a8b7c6d-0000-4000-8000-00000000000b' };
const carol: DeploymentOwner = { user: 'carol', store: '5e5e5e5e-0000-4000-8000-00000000000c' };

// Both labs are the same lab: same names, same addresses; only their bridges keep them apart.
const fragment = vnx(
  LAB,
  ['N'],
  '<vm name="a" type="lxc"><if id="1" net="N"><ipv4>10.70.0.1/24</ipv4></if>' +
    '<exec seq="ping" type="verbatim">ping -c1 -W3 10.70.0.2</exec></vm>\n' +
    '<vm name="b" type="lxc"><if id="1" net="N"><ipv4>10.70.0.2/24</ipv4></if></vm>',
);
const backplane = (id: number): BackplaneLink[] => [{ kind: 'vxlan', net: 'N', id, trunk: TRUNK, localAddress: '198.18.252.1', remotes: ['198.18.252.2'] }];

describe('integration: deployments of several owners on one host', function () {
  this.timeout(120_000);
  let stateDir = '';
  const nsOf = (dep: string, vm: string) => netnsName(dep, vm, tagOf(stateDir));
  const allNs = () => [A, B, C].flatMap((d) => VMS.map((vm) => nsOf(d, vm)));
  const present = (dep: string) => VMS.map((vm) => nsOf(dep, vm)).filter((n) => fs.existsSync(`/run/netns/${n}`));
  const agent = (op: string, request: object) => runAgent(HOST, op, request, stateDir);
  const applyOf = (deployment: string, owner: DeploymentOwner | undefined, id: number, more: object = {}) =>
    agent('apply', { deployment, lab: LAB, host: 'h1', fragmentXml: fragment, backplane: backplane(id), ...(owner ? { owner } : {}), ...more });
  const deploymentsHere = () => fs.readdirSync(path.join(stateDir, 'deployments')).sort();
  const ownershipLog = () =>
    fs.readFileSync(path.join(stateDir, 'ownership.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as OwnershipLogEntry);
  const warnings = (r: AgentRun) => r.lines.filter((l): l is ProgressEvent => l.type === 'progress' && l.step === 'warning').map((l) => l.message ?? '');

  /** What must not change: each namespace's inode (remade: another), each link's index. */
  const snapshot = (dep: string) => ({
    ns: Object.fromEntries(present(dep).map((n) => [n, fs.statSync(`/run/netns/${n}`).ino])),
    links: (JSON.parse(sh('ip', ['-n', HOST, '-j', 'link', 'show'])) as { ifname: string; ifindex: number }[]).map((l) => `${l.ifindex}:${l.ifname}`).sort(),
    owner: fs.readFileSync(path.join(stateDir, 'deployments', dep, 'owner.json'), 'utf8'),
  });
  const linkNames = () => (JSON.parse(sh('ip', ['-n', HOST, '-j', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname);

  /** `ediv agent connect|capture <request>` on the host: exit code and stderr. */
  const streamOp = (op: 'connect' | 'capture', request: ConnectRequest | CaptureRequest) => {
    const r = spawnSync('nsenter', [`--net=/run/netns/${HOST}`, process.execPath, edivBin, 'agent', op, encodeArgRequest(request), '--state-dir', stateDir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    return { code: r.status, stderr: r.stderr };
  };
  const expectNotOwner = (r: AgentRun, owner = 'alice') => {
    expect(r.code, JSON.stringify(r.result)).to.equal(1);
    expect(r.result.error!.code).to.equal('not-owner');
    expect(r.result.error!.message).to.match(new RegExp(`belongs to ${owner} \\(state store [0-9a-f]{8}…\\)`)).and.match(/--force/);
  };
  const pingFrom = async (deployment: string, owner: DeploymentOwner) => {
    const r = await agent('exec', { deployment, host: 'h1', seq: 'ping', vms: ['a'], owner });
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    const [c] = (r.result.result as AgentExecResult).vms[0]!.commands;
    expect(c!.exitCode, `${c!.stdout}${c!.stderr}`).to.equal(0);
  };

  before(function () {
    stateDir = freshHostNs(this, HOST, 'owners');
    removeNamespaces(allNs()); // left over by an interrupted run
    sh('ip', ['-n', HOST, 'link', 'add', TRUNK, 'type', 'veth', 'peer', 'name', PEER]);
    sh('ip', ['-n', HOST, 'link', 'set', PEER, 'up']);
    sh('ip', ['-n', HOST, 'addr', 'add', '198.18.252.1/24', 'dev', TRUNK]);
    sh('ip', ['-n', HOST, 'link', 'set', TRUNK, 'up']);
  });

  after(() => {
    if (!isRoot || !stateDir) return;
    removeNamespaces(allNs());
    removeNamespaces([HOST]);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('alice applies her lab: owner.json records her; status says its lab and owner', async () => {
    const r = await applyOf(A, alice, 1001);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(present(A)).to.have.length(2);
    expect(JSON.parse(fs.readFileSync(path.join(stateDir, 'deployments', A, 'owner.json'), 'utf8'))).to.deep.equal(alice);
    // Readable names from the lab's name (the key `<lab>.<uid>` would not fit in 15 characters).
    expect((r.result.result as ApplyResult).links).to.include.members(['edivt-lab-N', 'vxlan1001', 'edivt-lab-a-1', 'edivt-lab-b-1']);
    const s = (await agent('status', { host: 'h1' })).result.result as StatusResult;
    expect(s.deployments).to.have.length(1);
    expect(s.deployments[0]).to.deep.include({ name: A, lab: LAB, owner: alice });
    await pingFrom(A, alice);
  });

  it("bob's exec, vm, destroy and apply on it — and a request naming no owner — are refused naming alice; nothing changes", async () => {
    const before = snapshot(A);
    expectNotOwner(await agent('exec', { deployment: A, host: 'h1', command: ['true'], owner: bob }));
    expectNotOwner(await agent('vm', { deployment: A, host: 'h1', action: 'stop', vms: ['a'], owner: bob }));
    expectNotOwner(await agent('destroy', { deployment: A, host: 'h1', owner: bob }));
    expectNotOwner(await agent('destroy', { deployment: A, host: 'h1', vms: ['b'], owner: bob }));
    const apply = await applyOf(A, bob, 1001);
    expectNotOwner(apply);
    expect(apply.result.error!.message).to.match(/not to bob \(state store 9a8b7c6d…\)/).and.match(/`ediv redeploy … --force`/);
    expectNotOwner(await agent('exec', { deployment: A, host: 'h1', seq: 'ping' }));
    expectNotOwner(await agent('destroy', { deployment: A, host: 'h1', force: false }));
    for (const op of ['connect', 'capture'] as const) {
      const r = streamOp(op, op === 'connect' ? { deployment: A, host: 'h1', vm: 'a', command: ['true'], owner: bob } : { deployment: A, host: 'h1', net: 'N', count: 1, owner: bob });
      expect(r.code, r.stderr).to.equal(255);
      expect(r.stderr).to.match(/belongs to alice \(state store 1f2e3d4c…\)/).and.match(new RegExp(`ediv ${op} … --force`));
    }
    expect(snapshot(A)).to.deep.equal(before);
    const s = (await agent('status', { host: 'h1', deployment: A })).result.result as StatusResult;
    expect(s.deployments[0]!.vms.map((v) => v.state)).to.deep.equal(['running', 'running']);
    expect(fs.existsSync(path.join(stateDir, 'ownership.log'))).to.equal(false);
  });

  it('a forced connect of bob runs, with a warning, and is logged', () => {
    const r = streamOp('connect', { deployment: A, host: 'h1', vm: 'a', command: ['true'], owner: bob, force: true });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/warning: .*belongs to alice .*`ediv connect` forced by bob/);
    expect(ownershipLog()).to.have.length(1);
    expect(ownershipLog()[0]).to.deep.include({ op: 'connect', deployment: A, owner: alice, by: bob });
  });

  it('bob\'s lab of the same name runs beside it, on a bridge of its own: each lab\'s VMs reach each other', async () => {
    const r = await applyOf(B, bob, 1002);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(present(B)).to.have.length(2);
    // The readable names are alice's: bob's lab gets hashed ones.
    const links = (r.result.result as ApplyResult).links;
    expect(links).to.include('vxlan1002');
    expect(links.filter((l) => l.startsWith(`${LAB}-`))).to.deep.equal([]);
    for (const l of links) expect(linkNames()).to.include(l);
    await pingFrom(A, alice);
    await pingFrom(B, bob);
    // The same address in both labs: each VM a's neighbour is its own lab's b.
    const mac = (dep: string, vm: string) => JSON.parse(sh('ip', ['-n', nsOf(dep, vm), '-j', 'link', 'show', 'dev', 'eth1']))[0].address as string;
    const neigh = (dep: string) => sh('ip', ['-n', nsOf(dep, 'a'), 'neigh', 'show', '10.70.0.2']);
    expect(neigh(A)).to.contain(mac(A, 'b'));
    expect(neigh(B)).to.contain(mac(B, 'b'));
    const s = (await agent('status', { host: 'h1' })).result.result as StatusResult;
    expect(s.deployments.map((d) => [d.name, d.lab, d.owner?.user])).to.deep.equal([
      [A, LAB, 'alice'],
      [B, LAB, 'bob'],
    ]);
  });

  it("carol's apply using alice's backplane id is refused, forced or not, naming the deployment and its owner; nothing of it is left", async () => {
    const linksBefore = linkNames().sort();
    for (const force of [false, true]) {
      const r = await applyOf(C, carol, 1001, { force });
      expect(r.code, JSON.stringify(r.result)).to.equal(1);
      expect(r.result.error!.code).to.equal('ids-taken');
      expect(r.result.error!.message).to.equal(
        `host h1: backplane id 1001 (vxlan, net N) is in use here by deployment ${A} (owner alice, state store 1f2e3d4c…): refusing to join the two labs; nothing was made`,
      );
      expect(r.result.error!.details).to.deep.include({ ids: [{ kind: 'vxlan', id: 1001, net: 'N' }], deployment: A, owner: alice });
    }
    expect(present(C)).to.deep.equal([]);
    expect(linkNames().sort()).to.deep.equal(linksBefore);
    expect(deploymentsHere()).to.deep.equal([A, B]);
    // A fresh id is fine (and is removed again).
    const ok = await applyOf(C, carol, 1003);
    expect(ok.code, JSON.stringify(ok.result)).to.equal(0);
    expect((await agent('destroy', { deployment: C, host: 'h1', owner: carol })).code).to.equal(0);
    expect(present(C)).to.deep.equal([]);
    expect(linkNames().sort()).to.deep.equal(linksBefore);
    expect(deploymentsHere()).to.deep.equal([A, B]);
  });

  it('facts lists the backplane ids in use, with net, deployment and owner', async () => {
    const f = (await agent('facts', {})).result.result as FactsResult;
    expect(f.backplaneIds).to.deep.equal([
      { kind: 'vxlan', id: 1001, net: 'N', deployment: A, owner: alice },
      { kind: 'vxlan', id: 1002, net: 'N', deployment: B, owner: bob },
    ]);
  });

  it("bob's destroy of his lab leaves alice's as it was", async () => {
    const before = snapshot(A);
    const r = await agent('destroy', { deployment: B, host: 'h1', owner: bob });
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(present(B)).to.deep.equal([]);
    expect(deploymentsHere()).to.deep.equal([A]);
    const after = snapshot(A);
    expect(after.ns).to.deep.equal(before.ns);
    expect(before.links).to.include.members(after.links); // only bob's links went
    expect(linkNames().sort()).to.deep.equal(['edivt-lab-N', 'edivt-lab-a-1', 'edivt-lab-b-1', TRUNK, PEER, 'lo', 'vxlan1001'].sort());
    await pingFrom(A, alice);
  });

  it("carol's forced apply takes alice's lab over (remaking nothing), warned and logged", async () => {
    const before = snapshot(A);
    const r = await applyOf(A, carol, 1001, { force: true });
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect((r.result.result as ApplyResult).made).to.deep.equal([]);
    expect(warnings(r).join('\n')).to.match(/belongs to alice .*`ediv redeploy` forced by carol .*it belongs to carol \(state store 5e5e5e5e…\) from now on/);
    expect(JSON.parse(snapshot(A).owner)).to.deep.equal(carol);
    expect(snapshot(A).ns).to.deep.equal(before.ns);
    expect(ownershipLog()[1]).to.deep.include({ op: 'apply', deployment: A, owner: alice, by: carol });
    expectNotOwner(await agent('exec', { deployment: A, host: 'h1', seq: 'ping', owner: alice }), 'carol');
  });

  it("bob's forced destroy removes it all, warned and logged; nothing is left", async () => {
    const r = await agent('destroy', { deployment: A, host: 'h1', owner: bob, force: true });
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(warnings(r).join('\n')).to.match(/belongs to carol .*`ediv undeploy` forced by bob/);
    expect(ownershipLog().map((e) => [e.op, e.owner.user, e.by?.user])).to.deep.equal([
      ['connect', 'alice', 'bob'],
      ['apply', 'alice', 'carol'],
      ['destroy', 'carol', 'bob'],
    ]);
    expect(ownershipLog()[2]).to.deep.include({ deployment: A, host: 'h1' });
    expect(allNs().filter((n) => fs.existsSync(`/run/netns/${n}`))).to.deep.equal([]);
    expect(linkNames().sort()).to.deep.equal([TRUNK, PEER, 'lo'].sort());
    expect(deploymentsHere()).to.deep.equal([]);
    expect((await agent('facts', {})).result.result as FactsResult).to.deep.include({ backplaneIds: [] });
  });
});
