// Which cluster file a command runs on when none is named: $EDIV_CLUSTER, then EDIV's own
// /etc/ediv/cluster.conf (when it exists), else none (the emulated cluster).
import { expect } from 'chai';
import { clusterFileOf, EDIV_CLUSTER_CONF } from '../../../src/controller/command-context.ts';

describe('the cluster file a command runs on', () => {
  const saved = process.env.EDIV_CLUSTER;
  afterEach(() => {
    if (saved === undefined) delete process.env.EDIV_CLUSTER;
    else process.env.EDIV_CLUSTER = saved;
  });

  it('--cluster, else $EDIV_CLUSTER, else /etc/ediv/cluster.conf when it exists, else none', () => {
    delete process.env.EDIV_CLUSTER;
    const etc = (p: string) => p === EDIV_CLUSTER_CONF;
    expect(clusterFileOf('c.yaml', etc)).to.equal('c.yaml');
    expect(clusterFileOf(undefined, etc)).to.equal('/etc/ediv/cluster.conf');
    expect(clusterFileOf(undefined, () => false)).to.equal(undefined);
    process.env.EDIV_CLUSTER = 'env.yaml';
    expect(clusterFileOf(undefined, etc)).to.equal('env.yaml');
  });
});
