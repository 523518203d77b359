// The text reports of the controller commands, on failure as on success.
import { expect } from 'chai';
import type { StatusReport } from '../../../src/controller/status.ts';
import { HostFailedError, InterruptedError } from '../../../src/common/errors.ts';
import type { DeployFailure, DeploySuccess } from '../../../src/controller/deploy.ts';
import type { UndeployReport } from '../../../src/controller/undeploy.ts';
import { renderDeploy } from '../../../src/cli/render/deploy.ts';
import { renderUndeploy } from '../../../src/cli/render/undeploy.ts';
import { table } from '../../../src/cli/render/table.ts';

const failed = (over: Partial<DeployFailure>): DeployFailure => ({
  ok: false,
  scenario: 'lab',
  outcome: 'rolled-back',
  failedHosts: [{ host: 'host2', error: 'host2: agent apply failed: link exists\nmore', code: 'operation-failed' }],
  leftovers: [],
  excludedHosts: [],
  warnings: [],
  elapsedMs: 12,
  error: new HostFailedError('deploy of lab failed on host2: ...', { host: 'host2' }),
  ...over,
});

describe('text reports', () => {
  it('a table pads every column but the last', () => {
    expect(table(['VM', 'HOST'], [['h1', 'host1'], ['router', undefined]])).to.equal('VM      HOST\nh1      host1\nrouter\n');
  });

  it('a successful deploy: the VM → host table, spanning nets, excluded hosts', () => {
    const ok: DeploySuccess = {
      ok: true, scenario: 'lab', status: 'running', segmentator: 'round-robin', backplane: 'vxlan',
      mapping: [{ vm: 'a', host: 'host1' }, { vm: 'b', host: 'host2' }],
      hosts: [{ host: 'host1', vms: ['a'], status: 'applied' }, { host: 'host2', vms: ['b'], status: 'applied' }],
      spanning: [{ net: 'Net0', id: 1000, hosts: ['host1', 'host2'] }],
      excludedHosts: [{ host: 'host3', reason: 'down' }], warnings: [], elapsedMs: 1500,
      phasesMs: { facts: 1, plan: 1, apply: 1, discovery: 1 },
    };
    const text = renderDeploy(ok);
    expect(text).to.match(/^lab is running \(2 VMs on 2 hosts, segmentator round-robin, backplane vxlan, 1\.5 s\)\n\nVM {2}HOST\na {3}host1\nb {3}host2\n/);
    expect(text).to.match(/Net0 +1000 +host1,host2/);
    expect(text).to.include('excluded (inactive): host3: down');
  });

  it('a failed deploy is a report too: what became of it, the failed hosts (first line of each error)', () => {
    const text = renderDeploy(failed({}));
    expect(text).to.match(/^lab is not deployed \(rolled back: nothing is left on any host\)\n/);
    expect(text).to.match(/FAILED HOST +ERROR\nhost2 +host2: agent apply failed: link exists\n/);
    expect(text).to.not.include('more');
    const incomplete = renderDeploy(failed({ outcome: 'rollback-incomplete', leftovers: [{ host: 'host3', error: 'connection lost' }] }));
    expect(incomplete).to.include('rollback incomplete: the record is kept');
    expect(incomplete).to.match(/NOT CLEANED +ERROR\nhost3 +connection lost/);
    const refused = renderDeploy(failed({ outcome: 'untouched', failedHosts: [], error: new InterruptedError(), excludedHosts: [{ host: 'host1', reason: 'down' }] }));
    expect(refused).to.equal('lab is not deployed (nothing was touched)\n\nexcluded (inactive): host1: down\n');
  });

  it('an undeploy that failed on a host lists it after what was destroyed', () => {
    const r: UndeployReport = {
      ok: false, scenario: 'lab', record: 'kept', destroyedHosts: ['host1'], failedHosts: [{ host: 'host2', error: 'unreachable' }],
      freedIds: [], removed: {}, destroyMs: {},
    };
    expect(renderUndeploy(r)).to.equal('lab: destroyed on host1\n!! host2: unreachable\n');
    expect(renderUndeploy({ ...r, ok: true, record: 'removed', failedHosts: [], freedIds: [1000] })).to.equal('lab: destroyed on host1; freed ids 1000\n');
  });
});

describe('status report', () => {
  it('shows CPU seconds and MiB per VM when the drivers count them, "-" for VMs they do not', async () => {
    const { renderStatus } = await import('../../../src/cli/render/status.ts');
    const r: StatusReport = {
      scenarios: [
        {
          name: 'lab', key: 'lab.abcdef', owner: { user: 'alice', store: '0123456789abcdef' }, status: 'running' as const, source: 'lab.xml', clusterFile: 'c.yaml', segmentator: 'round-robin',
          createdAt: 't0', updatedAt: 't1', ids: [], backplane: { kind: 'vxlan', port: 14789, trunkMTU: 1400 },
          hosts: [{ host: 'h1', status: 'applied' as const, vms: 2, driver: 'container' }],
          vms: [
            { vm: 'a', host: 'h1', recorded: 'running' as const, live: 'running' as const, cpuSeconds: 1.234, memMB: 3.25 },
            { vm: 'b', host: 'h1', recorded: 'running' as const, live: 'stopped' as const },
          ],
        },
      ],
      hosts: [],
    };
    const text = renderStatus(r, true);
    expect(text).to.match(/VM +HOST +RECORDED +LIVE +CPU S +MEM MB\n/);
    expect(text).to.match(/\na +h1 +running +running +1\.23 +3\.3\n/);
    expect(text).to.match(/\nb +h1 +running +stopped +- +-\n/);
    expect(text, 'no CPU % without a sample').to.not.include('CPU %');
    r.scenarios[0]!.vms[0]!.cpuPercent = 97.5;
    r.hosts = [{ host: 'h1', address: '10.0.0.1', reachable: true, loadAvg: [1, 0.5, 0.25], usage: { cpus: 2, memTotalMB: 24105, memAvailableMB: 20000 } }];
    const sampled = renderStatus(r, true);
    expect(sampled).to.match(/VM +HOST +RECORDED +LIVE +CPU % +CPU S +MEM MB\n/);
    expect(sampled).to.match(/\na +h1 +running +running +97\.5 +1\.23 +3\.3\n/);
    expect(sampled).to.match(/\nh1 +10\.0\.0\.1 +1\.00 0\.50 0\.25 +2 +20000 of 24105 MB +up\n/);
    r.hosts = [];
    r.scenarios[0]!.vms = [{ vm: 'b', host: 'h1', recorded: 'running', live: 'stopped' }];
    expect(renderStatus(r, true)).to.not.include('CPU S');
    expect(text).to.include('owner: alice (state store 0123456789abcdef); on the hosts: lab.abcdef');
    expect(text).to.include('  backplane: vxlan, UDP port 14789, trunk MTU 1400\n');
  });

  it('--all: an OWNER column, the labs only the hosts know, and how many labs are hidden', async () => {
    const { renderStatus } = await import('../../../src/cli/render/status.ts');
    const lab = {
      name: 'lab', key: 'lab.abcdef', owner: { user: 'alice', store: '0123456789abcdef' }, status: 'running' as const, source: 'lab.xml',
      clusterFile: 'c.yaml', segmentator: 'round-robin', createdAt: 't0', updatedAt: 't1', ids: [{ net: 'Net0', id: 1000 }], backplane: { kind: 'vlan' },
      hosts: [{ host: 'h1', status: 'applied' as const, vms: 1 }], vms: [],
    };
    const text = renderStatus({
      scenarios: [lab],
      hosts: [],
      unrecorded: [{ key: 'tutorial.zzzzzz', name: 'tutorial', owner: { user: 'bob', store: 'fedcba9876543210' }, hosts: ['h1', 'h2'], vms: 6, ids: [{ net: 'Net0', id: 1001 }] }],
      hidden: 2,
    }, false);
    expect(text).to.match(/SCENARIO +STATUS +OWNER +VMS +HOSTS +IDS/);
    expect(text).to.match(/\nlab +running +alice@01234567 +0 +h1 +1000 /);
    expect(text).to.match(/\ntutorial\.zzzzzz +not recorded here +bob@fedcba98 +6 +h1,h2 +1001 /);
    expect(text).to.include('(2 lab(s) of other owners not shown: only administrators see them)');
    expect(renderStatus({ scenarios: [lab], hosts: [] }, false)).to.not.include('OWNER');
  });
});
