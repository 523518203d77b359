// Announcements in the background (issue: discovery must not slow a deploy of 1 000 VMs): the
// advertiser's setDevice changes the advert set at once and queues its byebye and alive rounds
// on one chain, sent SEND_BURST datagrams at a time; stop() cuts an alive round short and still
// says byebye; the hypervisor daemon is ready without waiting for its announcements. Every
// datagram goes to a stub (nothing leaves the process; no SSDP socket is opened); the daemon's
// HTTP server listens on 127.0.0.1.
import { expect } from 'chai';
import { SsdpAdvertiser, SEND_BURST } from '../../../src/discovery/ssdp.ts';
import { advertSet, formatMSearch, parseSsdp } from '../../../src/discovery/ssdp-messages.ts';
import { HypervisorDaemon } from '../../../src/discovery/hypervisor.ts';
import { httpRequest } from '../../../src/discovery/http-client.ts';
import { vmUdn } from '../../../src/discovery/udn.ts';
import { SSDP_GROUP } from '../../../src/discovery/types.ts';
import type { VmEntry, VmProvider } from '../../../src/discovery/types.ts';
import { hypervisorTree, settle, until, type VmSpec } from './fixtures.ts';

const IFACE = { name: 'mgmt0', address: '198.18.6.11', netmask: '255.255.255.0' };
const LOC = 'http://198.18.6.11:4000/description.xml';

const vms = (n: number, from = 0, lab = 'lab'): VmSpec[] => Array.from({ length: n }, (_, i) => [lab, `vm${from + i}`]);

interface Sent {
  msg: string;
  address: string;
  nts?: string;
  configId?: string;
  usn?: string;
  /** performance.now() when handed over. */
  at: number;
}

/**
 * An advertiser whose datagrams go to a stub: recorded when handed over, completed after
 * `delay()` ms (0: next macrotask) and, for announcements, once `gate` resolves; with the peak
 * of sends outstanding at once.
 */
function stubbed(opts: { delay?: () => number; gate?: Promise<void>; fail?: (msg: string) => boolean } = {}) {
  const sent: Sent[] = [];
  const logged: string[] = [];
  const counts = { inFlight: 0, peak: 0 };
  const adv = new SsdpAdvertiser({
    iface: IFACE, maxAge: 1800, bootId: 7, repeats: 2, log: (m) => logged.push(m),
    send: async (msg, _port, address) => {
      const h = parseSsdp(msg)?.headers ?? {};
      sent.push({ msg, address, nts: h['nts'], configId: h['configid.upnp.org'], usn: h['usn'], at: performance.now() });
      counts.peak = Math.max(counts.peak, ++counts.inFlight);
      try {
        await new Promise((r) => setTimeout(r, opts.delay?.() ?? 0));
        if (address === SSDP_GROUP) await opts.gate;
        if (opts.fail?.(msg)) throw new Error('stub send failed');
      } finally {
        counts.inFlight--;
      }
    },
  });
  const announcements = () => sent.filter((s) => s.address === SSDP_GROUP);
  return { adv, sent, logged, counts, announcements };
}

describe('discovery: SSDP announcements in the background, in bursts', () => {
  it('setDevice returns before its announcements are sent; announced() waits for them', async () => {
    const { adv, announcements } = stubbed({ delay: () => 10 });
    const tree = hypervisorTree('h1', vms(100));
    const size = advertSet(tree).length;
    const t0 = performance.now();
    const r: unknown = adv.setDevice(tree, LOC, 1);
    const took = performance.now() - t0;
    expect(r).to.equal(undefined); // not a promise to wait on
    expect(took).to.be.below(100);
    expect(announcements()).to.have.length(0); // the random initial delay comes first
    await settle(150);
    expect(announcements().length).to.be.above(0).and.below(2 * size); // under way
    const t1 = performance.now();
    await adv.announced();
    // Two copies 200 ms apart: still waiting on the spacing when announced() was called.
    expect(performance.now() - t1).to.be.above(50);
    expect(announcements()).to.have.length(2 * size);
    expect(announcements().every((s) => s.nts === 'ssdp:alive' && s.configId === '1')).to.equal(true);
    await adv.stop();
  });

  it('two setDevice calls: the second one\'s byebyes come after the first one\'s alive round, then its own alive round; nothing interleaves', async () => {
    let jitter = 0;
    const { adv, announcements } = stubbed({ delay: () => (jitter++ % 3) }); // out-of-order completions within a burst
    const a = hypervisorTree('h1', vms(40));
    const b = hypervisorTree('h1', vms(20)); // vm20..vm39 gone
    const sizeA = advertSet(a).length;
    const sizeB = advertSet(b).length;
    adv.setDevice(a, LOC, 1);
    adv.setDevice(b, LOC, 2);
    await adv.announced();
    const seq = announcements().map((s) => `${s.nts === 'ssdp:alive' ? 'alive' : 'byebye'}/${s.configId}`);
    const gone = advertSet(a).filter((x) => !advertSet(b).some((y) => y.usn === x.usn));
    expect(gone).to.have.length(sizeA - sizeB);
    // Exactly: A's alive round (2 copies), the byebyes of what went (with A's CONFIGID), B's round.
    expect(seq).to.deep.equal([
      ...Array<string>(2 * sizeA).fill('alive/1'),
      ...Array<string>(gone.length).fill('byebye/1'),
      ...Array<string>(2 * sizeB).fill('alive/2'),
    ]);
    const byebyes = announcements().filter((s) => s.nts === 'ssdp:byebye').map((s) => s.usn);
    expect(byebyes).to.have.members(gone.map((g) => g.usn));
    await adv.stop();
  });

  it('stop during a large alive round stops sending alive at once, and still says byebye for everything (twice)', async () => {
    const { adv, announcements } = stubbed({ delay: () => 2 });
    const tree = hypervisorTree('h1', vms(1000));
    const size = advertSet(tree).length; // 3 003
    adv.setDevice(tree, LOC, 1);
    expect(await until(() => announcements().length >= 4 * SEND_BURST)).to.equal(true);
    const t0 = performance.now();
    const stopping = adv.stop();
    const aliveAtStop = announcements().filter((s) => s.nts === 'ssdp:alive').length;
    await stopping;
    const after = announcements().slice(aliveAtStop);
    // No alive handed over once stop() was called (the burst in flight then just completes).
    expect(after.every((s) => s.nts === 'ssdp:byebye')).to.equal(true);
    expect(aliveAtStop).to.be.below(size);
    expect(after).to.have.length(2 * size);
    expect(new Set(after.map((s) => s.usn)).size).to.equal(size);
    // The byebyes begin at once: the rest of the alive round (~5 800 datagrams in ~180 bursts of
    // 2 ms, and a 200 ms spacing) is not sent first.
    expect(after[0]!.at - t0).to.be.below(150);
    // Once stopped, nothing more is sent, not even for a late setDevice.
    const total = announcements().length;
    adv.setDevice(hypervisorTree('h1', vms(3)), LOC, 2);
    await settle(250);
    expect(announcements()).to.have.length(total);
  });

  it('stop during the spacing between copies does not wait it out', async () => {
    const { adv, announcements } = stubbed();
    const tree = hypervisorTree('h1', vms(5));
    const size = advertSet(tree).length;
    adv.setDevice(tree, LOC, 1);
    expect(await until(() => announcements().length === size)).to.equal(true); // the first copy
    await settle(20);
    const t0 = performance.now();
    await adv.stop();
    // The byebyes begin at once: the remaining ~180 ms of spacing is not waited for.
    const byebye = announcements().find((s) => s.nts === 'ssdp:byebye')!;
    expect(byebye.at - t0).to.be.below(80);
    expect(announcements().filter((s) => s.nts === 'ssdp:alive')).to.have.length(size);
    expect(announcements().filter((s) => s.nts === 'ssdp:byebye')).to.have.length(2 * size);
  });

  it('never more than SEND_BURST sends outstanding, and bursts do fill up (not one send at a time)', async () => {
    const { adv, counts, announcements } = stubbed({ delay: () => Math.random() * 3 });
    const a = hypervisorTree('h1', vms(300));
    const b = hypervisorTree('h1', vms(150, 100)); // vm100..vm249: 150 gone
    adv.setDevice(a, LOC, 1);
    adv.setDevice(b, LOC, 2);
    await adv.announced();
    expect(counts.peak).to.equal(SEND_BURST);
    expect(counts.inFlight).to.equal(0);
    await adv.stop();
    expect(counts.peak).to.equal(SEND_BURST);
    const gone = 3 * 150; // vm0..vm99 and vm250..vm299: UDN, device type, service type each
    // A's 2 copies, the byebyes, B's 2 copies, stop's 2 byebye copies.
    expect(announcements().length).to.equal(2 * advertSet(a).length + gone + 2 * advertSet(b).length + 2 * advertSet(b).length);
  });

  it('a round gives the event loop a turn after every burst (sends completing on nextTick, as a socket\'s do)', async () => {
    let handed = 0;
    const adv = new SsdpAdvertiser({
      iface: IFACE, maxAge: 1800, bootId: 7, repeats: 1,
      send: () => {
        handed++;
        return new Promise<void>((r) => process.nextTick(r));
      },
    });
    const tree = hypervisorTree('h1', vms(1000));
    const size = advertSet(tree).length;
    adv.setDevice(tree, LOC, 1);
    const seen: number[] = [];
    while (handed < size) {
      await new Promise((r) => setImmediate(r));
      seen.push(handed);
    }
    const steps = seen.slice(1).map((n, i) => n - seen[i]!);
    // One awaited send after the other would never yield: the whole copy in one step.
    expect(Math.max(...steps)).to.be.at.most(2 * SEND_BURST);
    await adv.stop();
  });

  it('the M-SEARCH responder answers from the new set at once, while the announcements are still queued', async () => {
    let open!: () => void;
    const { adv, sent } = stubbed({ gate: new Promise((r) => (open = r)) }); // no announcement completes
    adv.setDevice(hypervisorTree('h1', vms(50)), LOC, 1);
    adv.setDevice(hypervisorTree('h1', [...vms(49, 1), ['lab', 'new']]), 'http://198.18.6.11:4001/description.xml', 2);
    const from = { address: '198.18.6.50', port: 1900 };
    const search = (st: string) => Buffer.from(formatMSearch(st, 1));
    adv.receive(search(vmUdn('lab', 'new')), from);
    adv.receive(search(vmUdn('lab', 'vm0')), from); // gone
    const answers = () => sent.filter((s) => s.address === from.address).map((s) => parseSsdp(s.msg)!.headers);
    expect(await until(() => answers().length > 0, 1500)).to.equal(true);
    await settle(100);
    expect(answers()).to.have.length(1);
    expect(answers()[0]).to.include({ usn: vmUdn('lab', 'new'), 'configid.upnp.org': '2', location: 'http://198.18.6.11:4001/description.xml' });
    expect(sent.filter((s) => s.address === SSDP_GROUP && s.configId === '2')).to.have.length(0); // its round not begun
    open();
    await adv.stop();
  });

  it('a failed round is logged (no unhandled rejection) and later rounds still go out', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { adv, logged, announcements } = stubbed({ fail: (m) => m.includes('CONFIGID.UPNP.ORG: 1\r\n') });
      adv.setDevice(hypervisorTree('h1', vms(10)), LOC, 1);
      adv.setDevice(hypervisorTree('h1', vms(11)), LOC, 2);
      await adv.announced();
      await settle(20);
      expect(logged.some((m) => /announcement failed: stub send failed/.test(m))).to.equal(true);
      const size2 = advertSet(hypervisorTree('h1', vms(11))).length;
      expect(announcements().filter((s) => s.configId === '2')).to.have.length(2 * size2);
      await adv.stop();
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('discovery: the hypervisor daemon is ready before its announcements are sent', () => {
  const entries = (n: number): VmEntry[] => Array.from({ length: n }, (_, i) => ({ deployment: 'lab', vm: `vm${i}`, state: 'running' }));

  it('1 000 VMs: start() and reload() return (HTTP serving the tree) while no announcement has completed', async () => {
    let list = entries(1000);
    const provider: VmProvider = { list: async () => list, act: async () => 'running', watchPaths: () => [] };
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r)); // no send completes until opened
    let handed = 0;
    let completed = 0;
    const daemon = new HypervisorDaemon({
      host: 'h1', iface: { name: 'lo', address: '127.0.0.1', netmask: '255.0.0.0' }, maxAge: 1800, bootId: 1, provider,
      log: () => {}, pollMs: 60_000,
      ssdpSend: async () => {
        handed++;
        await gate;
        completed++;
      },
    });
    try {
      const url = await daemon.start();
      expect(completed).to.equal(0);
      expect(handed).to.be.at.most(SEND_BURST);
      const desc = await httpRequest(url);
      expect(desc.status).to.equal(200);
      expect(desc.body.match(/<UDN>/g)).to.have.length(1001);
      list = entries(1200);
      await daemon.reload(); // queued behind the first round, which cannot finish: ready anyway
      expect(completed).to.equal(0);
      expect((await httpRequest(url)).body.match(/<UDN>/g)).to.have.length(1201);
      open();
      await daemon.ssdp.announced();
      expect(completed).to.equal(2 * 3003 + 2 * 3603);
    } finally {
      open();
      await daemon.stop();
    }
  });
});
