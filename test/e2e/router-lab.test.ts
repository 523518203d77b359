// End to end: the router lab (scenarios/ospf-line.xml) on a 3-host emulated cluster (instance 24)
// with the container driver. Three FRR routers in a line, each on its own host, configured by
// filetree and started by an exec sequence; OSPF converges over the VXLAN backplane and the end
// hosts ping each other over OSPF-learned routes only; every router's daemons are its own and
// die with undeploy. Everything is removed: the deployment by `ediv undeploy`, the cluster by the
// fixture.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { processStart } from '../../src/host-agent/sys.ts';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { ediv, repoRoot, sh, useLabState, vmNamespace, vmNamespaces } from './helpers.ts';

const INSTANCE = 24;
const NAME = 'ospf-line';
const ROUTERS = ['r1', 'r2', 'r3'];
const LANS = ['10.1.0.0/24', '10.2.0.0/24'];

const hasFrr = existsSync('/usr/lib/frr/ospfd') && existsSync('/usr/bin/vtysh');

describe('e2e: the router lab (FRR OSPF in container VMs on three hosts)', function () {
  this.timeout(300_000);
  const ec = useEmulatedCluster({ instance: INSTANCE, hosts: 3, timeoutMs: 120_000 });
  const labState = useLabState(ec, 'routerlab');
  let state = '';
  const common = () => ['--cluster', ec.clusterFile, '--state', state];

  before(function () {
    if (!hasFrr) {
      console.warn('    (skipped: FRR is not installed; ./scripts/setup installs it)');
      this.skip();
    }
    state = labState.state();
  });

  let zebraPids: number[] = [];

  it('deploys the lab as containers, one router per host', async () => {
    const r = await ediv(['deploy', path.join(repoRoot, 'scenarios/ospf-line.xml'), ...common(), '--json']);
    expect(r.code, r.stderr.slice(-2000)).to.equal(0);
    const mapping = new Map((r.json.mapping as { vm: string; host: string }[]).map((m) => [m.vm, m.host]));
    expect(new Set(ROUTERS.map((vm) => mapping.get(vm))).size).to.equal(3);
    const drivers = (r.json.hosts as { host: string; driver?: string }[]).map((h) => h.driver);
    expect(drivers.every((d) => d === 'container'), JSON.stringify(r.json.hosts)).to.equal(true);
  });

  it('starts zebra and ospfd in each router from its filetree configuration', async () => {
    const r = await ediv(['exec', NAME, 'start-frr', '--state', state, '--json']);
    expect(r.code, r.stdout.slice(-3000)).to.equal(0);
    for (const vm of ROUTERS) {
      const ns = await vmNamespace(NAME, vm);
      const pids = (await sh('ip', ['netns', 'pids', ns])).split('\n').filter(Boolean).map(Number);
      const names = pids.map((p) => ({ p, comm: commOf(p) }));
      expect(names.map((n) => n.comm), vm).to.include.members(['zebra', 'ospfd']);
      zebraPids.push(...names.filter((n) => n.comm === 'zebra' || n.comm === 'ospfd').map((n) => n.p));
    }
  });

  it('OSPF converges across the VXLAN backplane: every router learns both LANs by OSPF', async () => {
    const deadline = Date.now() + 90_000;
    let missing: string[] = [];
    for (;;) {
      const r = await ediv(['exec', NAME, 'show-routes', '--state', state, '--json']);
      expect(r.code).to.equal(0);
      const byVm = new Map((r.json.vms as { vm: string; commands: { stdout: string }[] }[]).map((v) => [v.vm, v.commands[0]?.stdout ?? '']));
      missing = ROUTERS.flatMap((vm) =>
        LANS.filter((lan) => !new RegExp(`^O.*${lan.replace(/[./]/g, '\\$&')}`, 'm').test(byVm.get(vm) ?? '')).map((lan) => `${vm}: ${lan}`),
      );
      if (missing.length === 0) break;
      if (Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    expect(missing, 'routes not learned by OSPF').to.deep.equal([]);
  });

  it('the end hosts ping each other across the three routers, over routes only OSPF put there', async () => {
    for (const vm of ROUTERS) {
      const ns = await vmNamespace(NAME, vm);
      const routes = await sh('ip', ['-n', ns, 'route', 'show']);
      // No static route: every route a router has is connected (kernel) or learned (zebra/ospf).
      for (const line of routes.split('\n').filter(Boolean)) expect(line, `${vm}: ${line}`).to.match(/proto (kernel|zebra|ospf)/);
    }
    const r = await ediv(['exec', NAME, 'ping', '--state', state, '--json']);
    expect(r.code, r.stdout.slice(-3000)).to.equal(0);
    for (const v of r.json.vms as { vm: string; commands: { stdout: string; exitCode: number }[] }[]) {
      expect(v.commands[0]!.stdout, v.vm).to.match(/3 received/);
      expect(v.commands[0]!.stdout, v.vm).to.match(/ttl=61/); // three routed hops
    }
  });

  it('undeploy ends the daemons and leaves no VM namespace', async () => {
    expect(zebraPids.length).to.equal(6);
    const r = await ediv(['undeploy', NAME, '--state', state]);
    expect(r.code, r.stderr).to.equal(0);
    for (const pid of zebraPids) expect(processStart(pid), `pid ${pid}`).to.equal(undefined);
    expect(await vmNamespaces(NAME)).to.deep.equal([]);
  });
});

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
