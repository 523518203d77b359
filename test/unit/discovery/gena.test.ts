// Audit item 2 (GENA): subscription caps per server and per subscriber, expiry through a heap,
// bounded event fan-out (concurrency, per-subscription queue), callback validation. The
// Subscriptions table is driven directly with a stubbed notifier and clock (subscriber
// addresses are made up; nothing is sent); the real NOTIFY sender is tried on loopback only.
import { expect } from 'chai';
import { GENA_LIMITS, Subscriptions, callbackUrls, httpNotify, type Notifier } from '../../../src/discovery/gena.ts';
import { subnetPolicy } from '../../../src/discovery/url-policy.ts';
import { loopbackServer, settle } from './fixtures.ts';

const policy = subnetPolicy({ name: 'mgmt0', address: '10.20.0.1', netmask: '255.255.0.0' });
const PATH = '/upnp/x/VMManagement/event';
const subscribeHeaders = (ip: string, timeout = 300) => ({ callback: `<http://${ip}:5000/ev>`, nt: 'upnp:event', timeout: `Second-${timeout}` });
/** The i-th subscriber address of the made-up network. */
const addr = (i: number) => `10.20.${Math.floor(i / 250)}.${(i % 250) + 1}`;

function table(notify: Notifier = async () => true) {
  const clock = { now: 1_000_000 };
  const logs: string[] = [];
  const subs = new Subscriptions({ policy, notify, now: () => clock.now, log: (m) => logs.push(m) });
  return { subs, clock, logs };
}

describe('discovery: GENA limits', () => {
  it('caps subscriptions per subscriber address and per server (503), in bounded time for 20 000 attempts', async () => {
    const { subs } = table();
    const t0 = Date.now();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const r = subs.subscribe(PATH, subscribeHeaders(addr(i % 400)), addr(i % 400), () => ({ State: 'running' }));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    expect(Date.now() - t0).to.be.below(2000);
    expect(subs.count()).to.equal(GENA_LIMITS.maxSubscriptions);
    expect(statuses.get(503)).to.equal(20_000 - GENA_LIMITS.maxSubscriptions);
    const one = table().subs;
    const codes = Array.from({ length: GENA_LIMITS.maxPerSubscriber + 5 }, () => one.subscribe(PATH, subscribeHeaders('10.20.9.9'), '10.20.9.9', () => ({})).status);
    expect(codes.filter((c) => c === 200)).to.have.length(GENA_LIMITS.maxPerSubscriber);
    expect(codes.slice(GENA_LIMITS.maxPerSubscriber)).to.deep.equal([503, 503, 503, 503, 503]);
    await settle(); // initial events (stubbed)
  });

  it('expires through a heap: due subscriptions go, renewed ones stay, renewals stay cheap', () => {
    const { subs, clock } = table();
    const sids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = subs.subscribe(PATH, subscribeHeaders(addr(i), i % 2 ? 60 : 1800), addr(i), () => ({}));
      sids.push(r.headers!.SID!);
    }
    const t0 = Date.now();
    // 20 000 renewals of one subscription: stale heap entries are compacted away (amortised).
    for (let i = 0; i < 20_000; i++) expect(subs.subscribe(PATH, { sid: sids[0]!, timeout: 'Second-1800' }, addr(0), () => ({})).status).to.equal(200);
    expect(Date.now() - t0).to.be.below(2000);
    clock.now += 61_000;
    expect(subs.count()).to.equal(500); // the 60 s ones are gone
    expect(subs.subscribe(PATH, { sid: sids[1]! }, addr(1), () => ({})).status).to.equal(412);
    clock.now += 1800_000;
    expect(subs.count()).to.equal(0);
  });

  it('bounds event fan-out: a few NOTIFYs at once, a short queue per subscription, drops logged', async () => {
    let inFlight = 0;
    let peak = 0;
    let delivered = 0;
    const slow: Notifier = async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      delivered++;
      return true;
    };
    const { subs } = table(slow);
    for (let i = 0; i < 200; i++) subs.subscribe(PATH, subscribeHeaders(addr(i)), addr(i), () => ({ State: 'running' }));
    subs.publish(PATH, { State: 'stopped' });
    for (let i = 0; i < 200 && delivered < 400; i++) await settle(20);
    expect(delivered).to.equal(400); // initial event + one change each
    expect(peak).to.be.at.most(GENA_LIMITS.deliveryConcurrency);

    // A subscriber that never answers: its queue stays short and further events are dropped.
    const { subs: stuck, logs } = table(() => new Promise<boolean>(() => {}));
    stuck.subscribe(PATH, subscribeHeaders(addr(1)), addr(1), () => ({ State: 'running' }));
    await settle();
    for (let i = 0; i < 50; i++) stuck.publish(PATH, { State: i % 2 ? 'running' : 'stopped' });
    expect(logs.filter((l) => /dropped: the subscriber is not keeping up/.test(l))).to.have.length(50 + 1 - GENA_LIMITS.maxPendingPerSubscription);
  });

  it('callbacks: http, the subscriber itself, inside the management network; few and short', () => {
    const me = '10.20.0.7';
    const ok = (h: string) => callbackUrls(h, me, policy).map((u) => u.toString());
    expect(ok(`<http://${me}:5000/a>`)).to.deep.equal([`http://${me}:5000/a`]);
    expect(ok(`<https://${me}/a>`)).to.deep.equal([]);
    expect(ok(`<http://x:y@${me}/a>`)).to.deep.equal([]);
    expect(ok('<http://10.20.0.8/a>')).to.deep.equal([]); // someone else: no relaying
    expect(ok(`<http://[::1]/a>`)).to.deep.equal([]);
    expect(ok(Array.from({ length: 20 }, (_, i) => `<http://${me}/${i}>`).join(''))).to.have.length(GENA_LIMITS.maxCallbacks);
    expect(ok(`<http://${me}/${'a'.repeat(2000)}>`)).to.deep.equal([]);
    // A subscriber outside the management network is refused outright.
    const { subs } = table();
    expect(subs.subscribe(PATH, subscribeHeaders('192.0.2.7'), '192.0.2.7', () => ({})).status).to.equal(412);
  });

  it('the real NOTIFY follows no redirect and gives up at its deadline', async () => {
    let targetHits = 0;
    const srv = await loopbackServer((req, res) => {
      if (req.url === '/moved') return void res.writeHead(307, { Location: '/target' }).end();
      if (req.url === '/target') {
        targetHits++;
        return void res.writeHead(200).end();
      }
      // /silent: never answers
    });
    try {
      const h = { NT: 'upnp:event' };
      expect(await httpNotify(new URL(`${srv.origin}/target`), h, '<x/>', 2000)).to.equal(true);
      expect(await httpNotify(new URL(`${srv.origin}/moved`), h, '<x/>', 2000)).to.equal(false);
      expect(targetHits).to.equal(1);
      const t0 = Date.now();
      expect(await httpNotify(new URL(`${srv.origin}/silent`), h, '<x/>', 200)).to.equal(false);
      expect(Date.now() - t0).to.be.below(1500);
    } finally {
      await srv.close();
    }
  });
});
