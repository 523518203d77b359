// The network layer's scenario features on one host namespace (edivt-hs1), with the real agent:
// the <host> section (the VNX tutorial's, read in place from ../shared), link shaping (a rate
// limit measured for real between two VMs) and private <vm_mgmt> links, each with the netns and
// (where the machine has tini) the container driver: applied, checked in the kernel, applied
// again without change, destroyed without a trace. Everything is removed by exact name or pid.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Journal } from '../../../src/host-agent/journal.ts';
import type { ApplyResult, FactsResult, LabFile, ProgressEvent } from '../../../src/protocol/agent.ts';
import { freshHostNs, isRoot, linksIn, namespacesWith, removeNamespaces, runAgent, sh, vnx, type AgentRun } from './helpers.ts';
import { initBinary } from '../../../src/host-agent/drivers/container/machine.ts';
import { describeWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

const HOST = 'edivt-hs1';
const HS = 'edivt-hsec';
const SHAPE = 'edivt-shape';
const MGMT = 'edivt-mgmt';
const DEPLOYMENTS = [HS, SHAPE, MGMT, `${HS}c`, `${MGMT}c`];
const TUTORIAL = thirdPartyPath('vnx', '02-tutorial_lxc_ubuntu.xml');
const haveInit = initBinary() !== undefined;

type Link = { ifname: string; master?: string; addr_info?: { local: string; prefixlen: number }[] };
const hostLinks = (): Link[] => JSON.parse(sh('ip', ['-n', HOST, '-j', 'addr', 'show'])) as Link[];
const inHost = (cmd: string, args: string[]) => sh('nsenter', [`--net=/run/netns/${HOST}`, cmd, ...args]);
/** The addresses of a link, link-local ones left out. */
const addrsOf = (l: Link | undefined) => (l?.addr_info ?? []).filter((a) => !a.local.startsWith('fe80:')).map((a) => `${a.local}/${a.prefixlen}`);
const warnings = (r: AgentRun) => r.lines.filter((l): l is ProgressEvent => l.type === 'progress' && l.step === 'warning').map((l) => l.message ?? '');

describe('integration: the network layer’s scenario features (host section, link shaping, vm_mgmt)', function () {
  this.timeout(180_000);
  let stateDir: string;
  const children: ChildProcess[] = [];

  before(function () {
    stateDir = freshHostNs(this, HOST, 'netfeat');
  });

  after(() => {
    if (!isRoot) return;
    for (const c of children) if (c.exitCode === null && c.pid) trySignal(c.pid);
    removeNamespaces(DEPLOYMENTS.flatMap((d) => namespacesWith(`${d}.`)));
    removeNamespaces([HOST]);
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const apply = (deployment: string, fragmentXml: string, driver = 'netns', files?: LabFile[]) =>
    runAgent(HOST, 'apply', { deployment, host: 'h1', fragmentXml, backplane: [], driver, ...(files ? { files } : {}) }, stateDir);
  const destroy = (deployment: string) => runAgent(HOST, 'destroy', { deployment, host: 'h1' }, stateDir);
  const ns = (deployment: string, vm: string) => namespacesWith(`${deployment}.${vm}.`)[0]!;
  const journaled = (deployment: string, kind: string) =>
    Journal.open(path.join(stateDir, 'deployments', deployment))
      .resources()
      .filter((r) => r.kind === kind);
  /** The host's end of a <hostif> veth, and its port on the net's bridge (readable, or hashed when too long). */
  const hostifLinks = (deployment: string): Link[] => {
    const names = journaled(deployment, 'hostif').map((r) => r.name);
    return hostLinks().filter((l) => names.includes(l.ifname));
  };
  const hostifEnd = (deployment: string, end: 'host' | 'port') => {
    const r = journaled(deployment, 'hostif').find((x) => x.key.endsWith(':port') === (end === 'port'));
    return hostLinks().find((l) => l.ifname === r?.name);
  };
  const expectUnchangedApply = async (deployment: string, xml: string, driver = 'netns', files?: LabFile[]) => {
    const journal = fs.readFileSync(path.join(stateDir, 'deployments', deployment, 'journal.jsonl'), 'utf8');
    const again = await apply(deployment, xml, driver, files);
    expect(again.code, JSON.stringify(again.result)).to.equal(0);
    expect(again.lines.find((l) => l.type === 'progress' && l.step === 'plan')).to.deep.include({ total: 0 });
    expect(again.lines.some((l) => l.type === 'progress' && (l.step === 'host' || l.step === 'host-section'))).to.equal(false);
    expect(fs.readFileSync(path.join(stateDir, 'deployments', deployment, 'journal.jsonl'), 'utf8')).to.equal(journal);
  };
  const expectGone = async (deployment: string) => {
    const r = await destroy(deployment);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(namespacesWith(`${deployment}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([]);
    expect(fs.existsSync(path.join(stateDir, 'deployments', deployment))).to.equal(false);
  };

  // ---- the <host> section ----------------------------------------------------------------

  describeWithThirdParty('the <host> section of the VNX tutorial', () => {
    // The tutorial (h1..h4, routers r1/r2; the host on Net3 with routes to 10.1.0.0/16 and
    // 2001:db8::/32 via r1), plus forwarding in the host section.
    const tutorial = () => fs.readFileSync(TUTORIAL, 'utf8').replace('</hostif>', '</hostif>\n    <forwarding type="ip"/>');
    // The tutorial's filetree sources (conf/tutorial_ubuntu/h3/*, h4/*), carried by the apply request.
    const files: LabFile[] = ['h3', 'h4'].flatMap((h): LabFile[] => [
      { path: `lab/conf/tutorial_ubuntu/${h}`, type: 'dir', mode: 0o755 },
      { path: `lab/conf/tutorial_ubuntu/${h}/index.html`, type: 'file', mode: 0o644, dataBase64: Buffer.from(`<h1>${h}</h1>\n`).toString('base64') },
    ]);
    const forwarding = () => inHost('sysctl', ['-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']).split('\n').filter(Boolean);

    it('apply gives the host a veth into Net3 with its addresses, its routes and forwarding; it reaches h1 and h3 across the routers', async () => {
      expect(forwarding()).to.deep.equal(['0', '0']);
      const r = await apply(HS, tutorial(), 'netns', files);
      expect(r.code, JSON.stringify(r.result)).to.equal(0);
      const res = r.result.result as ApplyResult;
      const links = hostLinks();
      const eh = hostifEnd(HS, 'host');
      const ep = hostifEnd(HS, 'port');
      expect(links.map((l) => l.ifname)).to.include.members([eh!.ifname, ep!.ifname]);
      expect(res.links).to.include.members([eh!.ifname, ep!.ifname]);
      expect(addrsOf(eh)).to.include.members(['10.1.3.2/24', '2001:db8:3::2/64']);
      // Its port is on the bridge r1's Net3 interface is on.
      const r1Net3 = JSON.parse(sh('ip', ['-n', ns(HS, 'r1'), '-j', 'link', 'show', 'dev', 'eth3']))[0] as { link_index?: number; ifindex: number };
      const r1Port = (JSON.parse(sh('ip', ['-n', HOST, '-j', 'link', 'show'])) as (Link & { ifindex: number })[]).find((l) => l.ifindex === r1Net3.link_index)!;
      expect(ep!.master).to.be.a('string').and.equal(r1Port.master);
      expect(inHost('ip', ['route', 'show', '10.1.0.0/16'])).to.contain(`via 10.1.3.1 dev ${eh!.ifname}`);
      expect(inHost('ip', ['-6', 'route', 'show', '2001:db8::/32'])).to.contain(`via 2001:db8:3::1 dev ${eh!.ifname}`);
      expect(forwarding()).to.deep.equal(['1', '1']);
      // Journaled: both ends (the host's one with the section's hash once configured) and the settings with their old values.
      const hostifs = journaled(HS, 'hostif');
      expect(hostifs.map((x) => [x.name, x.net]).sort()).to.deep.equal([[eh!.ifname, 'Net3'], [ep!.ifname, 'Net3']]);
      expect(hostifs.find((x) => x.name === eh!.ifname)!.params).to.match(/^[0-9a-f]{16}$/);
      expect(journaled(HS, 'sysctl').map((x) => [x.name, x.params])).to.deep.equal([['net.ipv4.ip_forward', '0'], ['net.ipv6.conf.all.forwarding', '0']]);
      expect(inHost('ping', ['-c1', '-W3', '10.1.0.2'])).to.match(/1 received/); // h1, behind r1
      expect(inHost('ping', ['-c1', '-W3', '10.1.2.2'])).to.match(/1 received/); // h3, behind r1 and r2
      // (over IPv6 only h1: in the tutorial r2 has no IPv6 route back to Net3)
      expect(inHost('ping', ['-6', '-c1', '-W3', '2001:db8::2'])).to.match(/1 received/);
    });

    it('apply again changes nothing', async () => {
      await expectUnchangedApply(HS, tutorial(), 'netns', files);
    });

    it('a changed section is remade: a new address replaces the old one', async () => {
      const r = await apply(HS, tutorial().replace('<ipv4>10.1.3.2/24</ipv4>', '<ipv4>10.1.3.9/24</ipv4>'), 'netns', files);
      expect(r.code, JSON.stringify(r.result)).to.equal(0);
      const eh = hostifLinks(HS).filter((l) => l.ifname === hostifEnd(HS, 'host')?.ifname);
      expect(eh).to.have.length(1);
      expect(hostifLinks(HS)).to.have.length(2);
      expect(addrsOf(eh[0])).to.include('10.1.3.9/24').and.not.include('10.1.3.2/24');
      expect(inHost('ping', ['-c1', '-W3', '10.1.2.2'])).to.match(/1 received/);
      expect(r.lines.some((l) => l.type === 'progress' && l.step === 'remove-stale')).to.equal(true);
    });

    it('destroy removes the links (the routes go with them) and sets forwarding back', async () => {
      await expectGone(HS);
      expect(inHost('ip', ['route', 'show', '10.1.0.0/16'])).to.equal('');
      expect(forwarding()).to.deep.equal(['0', '0']);
    });

    it('with the container driver, the same section', async function () {
      if (!haveInit) this.skip();
      const small = vnx(
        `${HS}c`,
        ['N0'],
        '  <vm name="r" type="lxc"><if id="1" net="N0"><ipv4>10.61.0.1/24</ipv4></if></vm>\n' +
          '  <host><hostif net="N0"><ipv4>10.61.0.2/24</ipv4></hostif><route type="ipv4" gw="10.61.0.1">10.62.0.0/16</route></host>',
      );
      const r = await apply(`${HS}c`, small, 'container');
      expect(r.code, JSON.stringify(r.result)).to.equal(0);
      expect(addrsOf(hostifEnd(`${HS}c`, 'host'))).to.include('10.61.0.2/24');
      expect(inHost('ip', ['route', 'show', '10.62.0.0/16'])).to.contain('via 10.61.0.1');
      expect(inHost('ping', ['-c1', '-W3', '10.61.0.1'])).to.match(/1 received/);
      await expectUnchangedApply(`${HS}c`, small, 'container');
      await expectGone(`${HS}c`);
    });
  }, 'vnx/02-tutorial_lxc_ubuntu.xml');

  it('a <host> section on a net the fragment lacks, or with a default route, is refused before anything is made', async () => {
    const base = (host: string) => vnx(HS, ['N0'], `  <vm name="a" type="lxc"><if id="1" net="N0"/></vm>\n  ${host}`);
    const missing = await apply(HS, base('<host><hostif net="Nope"><ipv4>10.9.0.1/24</ipv4></hostif></host>'));
    expect(missing.code).to.equal(2);
    expect(missing.result.error!.message).to.match(/Nope/);
    const dflt = await apply(HS, base('<host><hostif net="N0"><ipv4>10.9.0.1/24</ipv4></hostif><route type="ipv4" gw="10.9.0.2">default</route></host>'));
    expect(dflt.code).to.equal(2);
    expect(dflt.result.error!.message).to.match(/:6:.*default route .*refused/);
    expect(namespacesWith(`${HS}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([]);
  });

  // ---- link shaping ----------------------------------------------------------------------

  describe('link shaping', () => {
    const RATE = 8_000_000; // bit/s
    // Net S is shaped (bw in bits per second, and a delay that needs netem); net F is not.
    const fragment = vnx(
      SHAPE,
      [],
      `  <net name="S" mode="virtual_bridge" bw="${RATE}" delay="5"/>\n  <net name="F" mode="virtual_bridge"/>\n` +
        '  <vm name="a" type="lxc"><if id="1" net="S"><ipv4>10.71.0.1/24</ipv4></if><if id="2" net="F"><ipv4>10.72.0.1/24</ipv4></if></vm>\n' +
        '  <vm name="b" type="lxc"><if id="1" net="S"><ipv4>10.71.0.2/24</ipv4></if><if id="2" net="F"><ipv4>10.72.0.2/24</ipv4></if></vm>',
    );
    let netem = false;

    /** Bytes/s from `from` to `to`'s address: a bounded TCP transfer timed by the receiver (node in the VMs' namespaces). */
    async function measure(from: string, to: string, address: string, bytes: number): Promise<number> {
      const port = 5201 + Math.floor(Math.random() * 1000);
      const server = `const s=require('net').createServer(c=>{let n=0,t0=0;c.on('data',d=>{if(!t0)t0=process.hrtime.bigint();n+=d.length});` +
        `c.on('end',()=>{process.stdout.write(JSON.stringify({n,ns:String(process.hrtime.bigint()-t0)}));process.exit(0)})});` +
        `s.listen(${port},()=>process.stdout.write('ready\\n'));setTimeout(()=>process.exit(3),30000)`;
      const client = `const c=require('net').connect(${port},'${address}',()=>{const b=Buffer.alloc(65536);let left=${bytes};` +
        `const go=()=>{while(left>0){left-=b.length;if(!c.write(b))return c.once('drain',go)}c.end()};go()});c.on('close',()=>process.exit(0));setTimeout(()=>process.exit(3),30000)`;
      const srv = spawn('nsenter', [`--net=/run/netns/${ns(SHAPE, to)}`, process.execPath, '-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(srv);
      let out = '';
      srv.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      for (let i = 0; i < 500 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 10));
      const cli = spawn('nsenter', [`--net=/run/netns/${ns(SHAPE, from)}`, process.execPath, '-e', client], { stdio: 'ignore' });
      children.push(cli);
      const code = await new Promise<number | null>((resolve) => srv.on('close', resolve));
      expect(code, out).to.equal(0);
      const { n, ns: elapsed } = JSON.parse(out.slice(out.indexOf('{'))) as { n: number; ns: string };
      expect(n).to.equal(Math.ceil(bytes / 65536) * 65536);
      return n / (Number(elapsed) / 1e9);
    }

    it('apply shapes each VM interface on the shaped net, on both ends; without netem the delay is a warning', async () => {
      const facts = (await runAgent(HOST, 'facts', {}, stateDir)).result.result as FactsResult;
      expect(facts.capabilities.tbf).to.equal(true);
      netem = facts.capabilities.netem === true;
      const r = await apply(SHAPE, fragment);
      expect(r.code, JSON.stringify(r.result)).to.equal(0);
      if (netem) expect(warnings(r)).to.deep.equal([]);
      else expect(warnings(r)).to.deep.equal([`net S: delay and loss (bw ${RATE} bit/s, delay 5 ms) not applied (no netem on host h1)`]);
      for (const vm of ['a', 'b']) {
        // The VM's end: a tbf at the rate.
        const inner = JSON.parse(sh('tc', ['-n', ns(SHAPE, vm), '-j', 'qdisc', 'show', 'dev', 'eth1', 'root']))[0] as { kind: string; options: { rate: number } };
        expect(inner).to.deep.include({ kind: 'tbf' });
        expect(inner.options.rate * 8).to.equal(RATE); // tc -j reports bytes per second
        expect(JSON.parse(sh('tc', ['-n', ns(SHAPE, vm), '-j', 'qdisc', 'show', 'dev', 'eth2', 'root']))[0]?.kind ?? 'noqueue').to.equal('noqueue');
        // The host's end: the peer of eth1.
        const peer = (JSON.parse(sh('ip', ['-n', ns(SHAPE, vm), '-j', 'link', 'show', 'dev', 'eth1']))[0] as { link_index: number }).link_index;
        const outer = (JSON.parse(sh('ip', ['-n', HOST, '-j', 'link', 'show'])) as { ifindex: number; ifname: string }[]).find((l) => l.ifindex === peer)!.ifname;
        const host = JSON.parse(sh('tc', ['-n', HOST, '-j', 'qdisc', 'show', 'dev', outer])) as { kind: string; options?: { rate?: number } }[];
        expect(host.map((q) => q.kind)).to.deep.equal(netem ? ['netem', 'tbf'] : ['tbf']);
        expect(host.find((q) => q.kind === 'tbf')!.options!.rate! * 8).to.equal(RATE);
        // Journaled, each side.
        expect(journaled(SHAPE, 'qdisc').filter((q) => q.vm === vm).map((q) => [q.name, q.params])).to.deep.equal([[outer, 'host'], ['eth1', 'vm']]);
      }
    });

    it('the shaped net carries about its bw each way, far below the unshaped net', async () => {
      const shapedAB = await measure('a', 'b', '10.71.0.2', 3 * 2 ** 20);
      const shapedBA = await measure('b', 'a', '10.71.0.1', 3 * 2 ** 20);
      const free = await measure('a', 'b', '10.72.0.2', 64 * 2 ** 20);
      const mbit = (x: number) => ((x * 8) / 1e6).toFixed(2);
      console.log(`      measured: shaped a→b ${mbit(shapedAB)} Mbit/s, b→a ${mbit(shapedBA)} Mbit/s (bw ${RATE / 1e6} Mbit/s); unshaped a→b ${mbit(free)} Mbit/s`);
      for (const rate of [shapedAB, shapedBA]) expect(rate * 8).to.be.within(0.6 * RATE, 1.1 * RATE);
      expect(free).to.be.greaterThan(5 * shapedAB);
    });

    it('apply again changes nothing; destroy leaves nothing', async () => {
      await expectUnchangedApply(SHAPE, fragment);
      await expectGone(SHAPE);
    });

    it('a bw that is not a rate is refused at its line, before anything is made', async () => {
      const r = await apply(SHAPE, vnx(SHAPE, [], '  <net name="S" mode="virtual_bridge" bw="fast"/>\n  <vm name="a" type="lxc"><if id="1" net="S"/></vm>'));
      expect(r.code).to.equal(2);
      expect(r.result.error!.message).to.match(/:5:.*bw "fast" is not a rate/);
      expect(namespacesWith(`${SHAPE}.`)).to.deep.equal([]);
    });
  });

  // ---- vm_mgmt ---------------------------------------------------------------------------

  describe('<vm_mgmt type="private">', () => {
    // VNX's addressing with offset 12: VM n gets 10.250.0.(12+4n)/30, the host the first address.
    // b says <mng_if>no</mng_if>: no link, but it still counts.
    const fragment = (dep: string) =>
      vnx(dep, ['N0'], '  <vm name="a" type="lxc"><if id="1" net="N0"/></vm>\n  <vm name="b" type="lxc"><mng_if>no</mng_if></vm>\n  <vm name="c" type="lxc"/>').replace(
        '</scenario_name>',
        '</scenario_name><vm_mgmt type="private" network="10.250.0.0" mask="24" offset="12"><host_mapping/></vm_mgmt>',
      );
    const mgmtAddrs = (dep: string, vm: string) =>
      addrsOf((JSON.parse(sh('ip', ['-n', ns(dep, vm), '-j', 'addr', 'show'])) as Link[]).find((l) => l.ifname === 'eth0'));

    for (const driver of ['netns', 'container']) {
      const dep = driver === 'netns' ? MGMT : `${MGMT}c`;
      it(`${driver}: each VM gets a /30 link from the host (VNX's addresses); apply again changes nothing; destroy leaves nothing`, async function () {
        if (driver === 'container' && !haveInit) this.skip();
        const r = await apply(dep, fragment(dep), driver);
        expect(r.code, JSON.stringify(r.result)).to.equal(0);
        const mgmtNames = journaled(dep, 'veth').filter((r) => r.key.endsWith(':mgmt')).map((r) => r.name);
        const em = hostLinks().filter((l) => mgmtNames.includes(l.ifname));
        expect(em.map((l) => addrsOf(l)).flat().sort()).to.deep.equal(['10.250.0.13/30', '10.250.0.21/30']);
        expect(mgmtAddrs(dep, 'a')).to.deep.equal(['10.250.0.14/30']);
        expect(mgmtAddrs(dep, 'b')).to.deep.equal([]);
        expect(mgmtAddrs(dep, 'c')).to.deep.equal(['10.250.0.22/30']);
        expect(journaled(dep, 'veth').filter((v) => v.key.endsWith(':mgmt')).map((v) => [v.vm, v.params])).to.deep.equal([['a', 'eth0'], ['c', 'eth0']]);
        expect((r.result.result as ApplyResult).links).to.include.members(em.map((l) => l.ifname));
        expect(inHost('ping', ['-c1', '-W3', '10.250.0.14'])).to.match(/1 received/);
        expect(inHost('ping', ['-c1', '-W3', '10.250.0.22'])).to.match(/1 received/);
        await expectUnchangedApply(dep, fragment(dep), driver);
        await expectGone(dep);
      });
    }

    it('type="net" is refused at its line, before anything is made', async () => {
      const xml = fragment(MGMT).replace('type="private"', 'type="net"');
      const r = await apply(MGMT, xml);
      expect(r.code).to.equal(2);
      expect(r.result.error!.message).to.match(/:3:\d+: <vm_mgmt type="net">.*not built.*type="private"/s);
      expect(namespacesWith(`${MGMT}.`)).to.deep.equal([]);
      expect(linksIn(HOST)).to.deep.equal([]);
    });
  });
});

function trySignal(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
