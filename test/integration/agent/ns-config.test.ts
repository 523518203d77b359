// ns-config.py, the helper that configures VM namespaces from one process (setns + netlink),
// against the way it replaces (an `ip -batch` and a sysctl process per namespace): the same ops
// leave the same addresses, routes and sysctls; traffic flows; failures name the namespace and
// the op, and the other namespaces of the job are still configured. Needs root.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configureNamespaces, type NsConfig } from '../../../src/host-agent/drivers/netns/ns-config.ts';
import type { NsOp } from '../../../src/host-agent/drivers/netns/commands.ts';

const root = process.getuid?.() === 0;
const PREFIX = 'edivnsc';
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
/** Two namespaces joined by a veth (eth1 in each), for one way of configuring them. */
const PAIRS = { helper: ['a', 'b'], processes: ['c', 'd'] } as const;
const nsName = (x: string) => `${PREFIX}-${x}`;

function ops(self: string, peer: string, router: boolean): NsOp[] {
  return [
    { op: 'up', dev: 'lo' },
    { op: 'addr', dev: 'lo', cidr: '127.0.0.2/8' },
    { op: 'addr', dev: 'eth1', cidr: `10.77.0.${self}/24` },
    { op: 'addr', dev: 'eth1', cidr: `2001:db8:77::${self}/64`, nodad: true },
    { op: 'up', dev: 'eth1' },
    { op: 'route', dst: '10.78.0.0/16', via: `10.77.0.${peer}` },
    { op: 'route', dst: '::/0', via: `2001:db8:77::${peer}` },
    ...(router ? [{ op: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' } as NsOp, { op: 'sysctl', key: 'net.ipv6.conf.all.forwarding', value: '1' } as NsOp] : []),
  ];
}

/** What a namespace holds: its addresses (without link-local ones), routes and forwarding settings. */
function stateOf(ns: string): string[] {
  const addrs = ip('-n', ns, '-o', 'addr', 'show')
    .split('\n')
    .filter((l) => l && !l.includes('fe80::'))
    .map((l) => l.replace(/^\d+:\s+/, '').replace(/\s+valid_lft.*$/, '').replace(/\\/g, '').trim());
  const routes = [...ip('-n', ns, '-4', 'route').split('\n'), ...ip('-n', ns, '-6', 'route').split('\n')].filter((l) => l && !l.startsWith('fe80::')).map((l) => l.trim());
  const sysctl = (k: string) => execFileSync('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/net/${k}`], { encoding: 'utf8' }).trim();
  return [...addrs, ...routes, `ip_forward=${sysctl('ipv4/ip_forward')}`, `ipv6 forwarding=${sysctl('ipv6/conf/all/forwarding')}`];
}

describe('ns-config.py: VM namespaces configured from one process (root)', function () {
  this.timeout(60_000);
  let dir = '';
  const made: string[] = [];

  before(function () {
    if (!root) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-nsc-'));
    for (const [x, y] of Object.values(PAIRS)) {
      for (const n of [x, y]) {
        ip('netns', 'add', nsName(n));
        made.push(nsName(n));
      }
      ip('link', 'add', `${PREFIX}${x}`, 'type', 'veth', 'peer', 'name', `${PREFIX}${y}`);
      ip('link', 'set', `${PREFIX}${x}`, 'netns', nsName(x), 'name', 'eth1');
      ip('link', 'set', `${PREFIX}${y}`, 'netns', nsName(y), 'name', 'eth1');
    }
  });

  after(() => {
    for (const n of made) execFileSync('ip', ['netns', 'del', n]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the same addresses, routes and sysctls as an ip -batch and a sysctl per namespace, and traffic flows', async () => {
    for (const [how, [x, y]] of Object.entries(PAIRS) as ['helper' | 'processes', readonly [string, string]][]) {
      const job: NsConfig[] = [
        { netns: nsName(x), ops: ops('1', '2', true) },
        { netns: nsName(y), ops: ops('2', '1', false) },
      ];
      await configureNamespaces(job, { dir, workers: 2, how });
    }
    expect(stateOf(nsName('a'))).to.deep.equal(stateOf(nsName('c')));
    expect(stateOf(nsName('b'))).to.deep.equal(stateOf(nsName('d')));
    expect(stateOf(nsName('a'))).to.include.members(['ip_forward=1', 'ipv6 forwarding=1', '10.78.0.0/16 via 10.77.0.2 dev eth1']);
    expect(stateOf(nsName('b'))).to.include('ip_forward=0');
    expect(stateOf(nsName('a')).join('\n')).to.match(/inet 127\.0\.0\.2\/8 scope host secondary lo/).and.match(/inet6 2001:db8:77::1\/64 scope global nodad/);
    // The host's own forwarding is untouched: the sysctl went to the namespace.
    const ping = execFileSync('ip', ['netns', 'exec', nsName('b'), 'ping', '-c', '1', '-W', '2', '10.77.0.1'], { encoding: 'utf8' });
    expect(ping).to.match(/1 received/);
    const ping6 = execFileSync('ip', ['netns', 'exec', nsName('b'), 'ping', '-6', '-c', '1', '-W', '2', '2001:db8:77::1'], { encoding: 'utf8' });
    expect(ping6).to.match(/1 received/);
  });

  it('names each namespace that failed with the op and the kernel\'s reason; the others are configured', async () => {
    const job: NsConfig[] = [
      { netns: nsName('a'), ops: [{ op: 'addr', dev: 'eth1', cidr: '10.77.0.1/24' }] }, // already there
      { netns: nsName('b'), ops: [{ op: 'up', dev: 'eth9' }] },
      { netns: `${PREFIX}-gone`, ops: [{ op: 'up', dev: 'lo' }] },
      { netns: nsName('c'), ops: [{ op: 'addr', dev: 'eth1', cidr: '10.77.9.1/24' }] },
      { netns: nsName('d'), ops: [{ op: 'sysctl', key: 'kernel.hostname', value: 'x' }] },
    ];
    let err: Error | undefined;
    try {
      await configureNamespaces(job, { dir, workers: 2 });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/^configuring VM namespaces failed: /);
    expect(err!.message).to.include(`namespace ${nsName('a')}: addr add 10.77.0.1/24 dev eth1: File exists`);
    expect(err!.message).to.include(`namespace ${nsName('b')}: link set dev eth9 up: no interface eth9`);
    expect(err!.message).to.match(new RegExp(`namespace ${PREFIX}-gone: no namespace /run/netns/${PREFIX}-gone`));
    expect(err!.message).to.include(`namespace ${nsName('d')}: sysctl kernel.hostname=x: not a net sysctl`);
    expect(stateOf(nsName('c')).join('\n')).to.include('inet 10.77.9.1/24');
  });
});
