// What the status op measures (issue 17's figures): a VM's CPU share over a sample, the host's
// CPUs and memory from /proc/meminfo, and the bounds of the sample a request may ask for.
import { expect } from 'chai';
import { hostUsage } from '../../../src/host-agent/facts.ts';
import { validateRequest } from '../../../src/host-agent/validate.ts';
import { STATUS_SAMPLE_MAX_MS, cpuPercent } from '../../../src/protocol/agent.ts';

describe('status: CPU samples and host memory', () => {
  it('CPU share: CPU time used over the sample, 100 = one CPU; not measurable when the VM restarted or no time passed', () => {
    expect(cpuPercent(10, 11, 1)).to.equal(100);
    expect(cpuPercent(10, 10.5, 2)).to.equal(25);
    expect(cpuPercent(1, 4.5, 2)).to.equal(175);
    expect(cpuPercent(5, 0.1, 1), 'restarted: its counter began again').to.equal(undefined);
    expect(cpuPercent(undefined, 3, 1)).to.equal(undefined);
    expect(cpuPercent(1, 2, 0)).to.equal(undefined);
  });

  it("the host's memory: MemTotal and MemAvailable in MiB", () => {
    const u = hostUsage('MemTotal:       24683568 kB\nMemFree:         1000000 kB\nMemAvailable:   20480000 kB\n');
    expect(u).to.deep.include({ memTotalMB: 24105, memAvailableMB: 20000 });
    expect(u.cpus).to.be.greaterThan(0);
    const real = hostUsage();
    expect(real.memAvailableMB).to.be.greaterThan(0).and.at.most(real.memTotalMB);
  });

  it('sampleMs: whole milliseconds, 1 to the bound', () => {
    expect(() => validateRequest('status', { host: 'h1', sampleMs: 500 })).to.not.throw();
    for (const bad of [0, -5, 1.5, STATUS_SAMPLE_MAX_MS + 1, '500']) {
      expect(() => validateRequest('status', { host: 'h1', sampleMs: bad }), String(bad)).to.throw(/sampleMs: must be an integer of milliseconds, 1 to 10000/);
    }
  });
});

describe('status --watch: CPU shares between refreshes', () => {
  it("each VM's share since the refresh before, unless sampled; a VM that moved or restarted gets none", async () => {
    const { withCpuSince } = await import('../../../src/controller/status-watch.ts');
    type Report = Parameters<typeof withCpuSince>[0];
    const report = (vms: { vm: string; host: string; cpuSeconds?: number; cpuPercent?: number }[]): Report =>
      ({ scenarios: [{ name: 'lab', vms: vms.map((v) => ({ recorded: 'running', live: 'running', ...v })) }], hosts: [] }) as unknown as Report;
    const before = report([{ vm: 'a', host: 'h1', cpuSeconds: 10 }, { vm: 'b', host: 'h1', cpuSeconds: 5 }, { vm: 'c', host: 'h1', cpuSeconds: 7 }, { vm: 'd', host: 'h1', cpuSeconds: 1 }]);
    const now = report([{ vm: 'a', host: 'h1', cpuSeconds: 13 }, { vm: 'b', host: 'h2', cpuSeconds: 6 }, { vm: 'c', host: 'h1', cpuSeconds: 0.5 }, { vm: 'd', host: 'h1', cpuSeconds: 2, cpuPercent: 42 }]);
    withCpuSince(now, before, 2);
    expect(now.scenarios[0]!.vms.map((v) => [v.vm, v.cpuPercent])).to.deep.equal([['a', 150], ['b', undefined], ['c', undefined], ['d', 42]]);
  });
});
