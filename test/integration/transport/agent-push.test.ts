// The agent the controller brings (cluster file agentNode, src/transport/agent-push.ts), for
// real: the boot program run by a real Node.js (this one, and the machine's own when it is an
// older supported major, e.g. Debian's 20) in a fresh agent state directory, through the local
// transport. A session installs the bundle (content-addressed, checked, atomic); an op on its
// own meets a missing bundle, has it installed and runs again; concurrent starts agree; bytes
// that are not the bundle, a bundle others may write, and a missing Node are refused clearly.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperationError } from '../../../src/common/errors.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import type { FactsResult, StatusResult } from '../../../src/protocol/agent.ts';
import { AGENT_BOOT, agentBundle, BUNDLE_MISSING_EXIT, pushedAgentCommand } from '../../../src/transport/agent-push.ts';
import { LocalTransport } from '../../../src/transport/local.ts';
import { agentStarts, resetConnectionStats } from '../../../src/transport/index.ts';

/** The Node.js binaries to boot with: this one, and /usr/bin/node when it is another major >= 20. */
function nodes(): string[] {
  const out = [process.execPath];
  const r = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
  const major = r.status === 0 ? Number(/^v(\d+)/.exec(r.stdout)?.[1]) : 0;
  if (major >= 20 && major !== Number(process.versions.node.split('.')[0])) out.push('/usr/bin/node');
  return out;
}

const pushedHost = (node: string, stateDir: string): ClusterHost => ({
  name: 'p1',
  address: 'localhost',
  ssh: { user: 'root', port: 22 },
  trunk: 'lo',
  cpu: 100,
  labels: {},
  agentCommand: [],
  agentNode: node,
  agentStateDir: stateDir,
  transport: 'local',
  driver: 'auto',
});

describe('the agent the controller brings to a bare host (agentNode)', function () {
  this.timeout(60_000);
  let work = '';
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-push-'));
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));
  const bundleFile = (stateDir: string) => path.join(stateDir, 'bundles', agentBundle().hash, 'ediv-agent.mjs');

  for (const node of nodes()) {
    const v = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    it(`${v} (${node}): a session installs the bundle, checked and cached by its hash; the agent runs from it`, async () => {
      const state = path.join(work, 'agent');
      const t = new LocalTransport(pushedHost(node, state));
      try {
        const f = await t.runAgent<FactsResult>('facts', {});
        expect(f.bundle).to.equal(agentBundle().hash);
        expect(f.node).to.equal(v);
        expect(Math.abs(f.clockMs! - Date.now())).to.be.below(10_000);
        const st = await t.runAgent<StatusResult>('status', { host: 'p1' });
        expect(st.deployments).to.deep.equal([]);
      } finally {
        await t.close();
      }
      expect(fs.readFileSync(bundleFile(state)).equals(agentBundle().bytes)).to.equal(true);
      const dir = path.dirname(bundleFile(state));
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['discovery-daemon-main.mjs', 'ediv-agent.mjs', 'launcher.py', 'ns-config.py']);
      expect(fs.statSync(path.join(state, 'bundles')).mode & 0o777).to.equal(0o700);
      // Cached: the next session sends nothing (its boot finds the file; it would fail on the missing bytes otherwise).
      const again = new LocalTransport(pushedHost(node, state));
      try {
        expect((await again.runAgent<FactsResult>('facts', {})).bundle).to.equal(agentBundle().hash);
      } finally {
        await again.close();
      }
    });
  }

  it('an op on its own (no sessions) finds no bundle, has it installed through a session, and runs again', async () => {
    const state = path.join(work, 'agent');
    resetConnectionStats();
    const t = new LocalTransport(pushedHost(process.execPath, state), { agentSessions: false });
    try {
      const st = await t.runAgent<StatusResult>('status', { host: 'p1' });
      expect(st.deployments).to.deep.equal([]);
      expect(fs.existsSync(bundleFile(state))).to.equal(true);
      // the op, the installing session, the op again
      expect(agentStarts()).to.deep.include({ p1: 3 });
    } finally {
      await t.close();
    }
    // prepareAgent (what connect and capture run first) has nothing to do now but start a session.
    const t2 = new LocalTransport(pushedHost(process.execPath, path.join(work, 'fresh')));
    try {
      await t2.prepareAgent();
      expect(fs.existsSync(bundleFile(path.join(work, 'fresh')))).to.equal(true);
    } finally {
      await t2.close();
    }
  });

  it('four controllers installing at once all run the same bundle', async () => {
    const state = path.join(work, 'agent');
    const ts = Array.from({ length: 4 }, () => new LocalTransport(pushedHost(process.execPath, state)));
    try {
      const r = await Promise.all(ts.map((t) => t.runAgent<StatusResult>('status', { host: 'p1' })));
      expect(r.map((x) => x.deployments)).to.deep.equal([[], [], [], []]);
    } finally {
      await Promise.all(ts.map((t) => t.close()));
    }
    expect(fs.readFileSync(bundleFile(state)).equals(agentBundle().bytes)).to.equal(true);
    expect(fs.readdirSync(path.dirname(bundleFile(state))).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('bytes that are not the bundle are refused and nothing is installed', async () => {
    const state = path.join(work, 'agent');
    const argv = [...pushedAgentCommand(pushedHost(process.execPath, state) as ClusterHost & { agentNode: string }, true), 'agent', 'session'];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"bundle"')) child.stdin.end(Buffer.alloc(agentBundle().bytes.length, 0x41)); // the right size, wrong content
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).to.equal(2);
    expect(out).to.match(/the agent bundle received is not [0-9a-f]{64}/);
    expect(fs.existsSync(path.dirname(bundleFile(state)))).to.equal(false);
  });

  it('a cached bundle that others may write is not run', async () => {
    const state = path.join(work, 'agent');
    const t = new LocalTransport(pushedHost(process.execPath, state));
    await t.runAgent('status', { host: 'p1' }).finally(() => t.close());
    fs.chmodSync(bundleFile(state), 0o666);
    const t2 = new LocalTransport(pushedHost(process.execPath, state));
    try {
      const err = await t2.runAgent('status', { host: 'p1' }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(OperationError);
      expect((err as Error).message).to.match(/ediv-agent\.mjs is not owned by this user alone \(uid \d+, mode 666\): remove it/);
    } finally {
      await t2.close();
    }
  });

  it('a host without that Node.js: exit 127, the error points at agentNode', async () => {
    const t = new LocalTransport(pushedHost(path.join(work, 'no-such-node'), path.join(work, 'agent')));
    try {
      const err = await t.runAgent('status', { host: 'p1' }).then(() => undefined, (e: unknown) => e);
      expect((err as Error).message).to.match(/exited with status 127 .*is Node\.js installed there\? the host's agentNode/);
    } finally {
      await t.close();
    }
  });

  it('the boot of a stream op (its stdin is the user\'s) never reads it: a missing bundle is its own exit status', () => {
    const state = path.join(work, 'agent');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', AGENT_BOOT, state, agentBundle().hash, '0', 'agent', 'connect', 'e30='], { input: 'typed by the user', encoding: 'utf8' });
    expect(r.status).to.equal(BUNDLE_MISSING_EXIT);
    expect(r.stdout, 'nothing on the user\'s terminal').to.equal('');
    expect(r.stderr).to.match(/the agent bundle [0-9a-f]{64} is not on this host yet/);
  });
});
