// What the status op measures (issue 17's figures): a VM's CPU share over a sample, the host's
// CPUs and memory from /proc/meminfo, and the bounds of the sample a request may ask for.
import { expect } from 'chai';
import { cpuPercent } from '../../../src/host-agent/agent.ts';
import { hostUsage } from '../../../src/host-agent/facts.ts';
import { validateRequest } from '../../../src/host-agent/validate.ts';
import { STATUS_SAMPLE_MAX_MS } from '../../../src/protocol/agent.ts';

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
