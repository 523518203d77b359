// End to end: one emulated cluster (instance 26, 3 hosts) shared by several controllers, as a
// course shares its cluster. Two real Unix users (alice, bob: throwaway accounts made and
// removed by the suite) run their own controllers; root is the cluster's administrator.
//   - With one shared PostgreSQL store (a private server the suite starts): 5 copies of the
//     tutorial each, 10 deploys at once: no id is used twice, every copy pings across hosts,
//     each user sees and touches only their own labs, and every undeploy leaves nothing.
//   - With separate SQLite stores: both deploy "tutorial" under the same name onto the same
//     hosts and both run (other ids, other host-side names); a deploy for which no free id is
//     left is refused and leaves nothing; deploys racing for the same ids never both win an
//     id on a host, and the loser leaves nothing.
//   - A controller killed mid-deploy: the administrator sees the lab in `status --all` and
//     removes it completely.
import { expect } from 'chai';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { edivBin } from '../../src/common/paths.ts';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { startPostgresOrSkip, type PgServer } from '../helpers/postgres.ts';
import { makeUser, removeUser, usersUnavailable, type TestUser } from '../helpers/unix-users.ts';
import { ediv, repoRoot, setAgentStateDirs, settleTo, snapshotHosts, vmNamespaces, type CliResult, type HostSnapshot } from './helpers.ts';

const INSTANCE = 26;
const HOSTS = 3;
const TUTORIAL = path.join(repoRoot, 'scenarios', 'tutorial.xml');
const USERS = ['edivt-alice', 'edivt-bob'] as const;

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('e2e: one cluster shared by several controllers (shared PostgreSQL store, owners, separate stores)', function () {
  this.timeout(600_000);
  const ec = useEmulatedCluster({ instance: INSTANCE, hosts: HOSTS, timeoutMs: 120_000 });
  let work = '';
  let pgServer: PgServer | undefined;
  let baseline: Record<string, HostSnapshot>;
  const users: Record<string, TestUser> = {};
  let alice: TestUser;
  let bob: TestUser;
  /** Cluster files: `shared` (the PostgreSQL store), `own` (each controller's SQLite), per user and root's. */
  const clusterFiles: Record<string, { shared: string; own: string; tight: string }> = {};

  before(async function () {
    this.timeout(180_000);
    const why = usersUnavailable();
    if (why) {
      console.log(`    (skipped: ${why})`);
      this.skip();
    }
    pgServer = await startPostgresOrSkip(this);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-shared-'));
    fs.chmodSync(work, 0o755); // the users reach their homes inside it
    setAgentStateDirs(ec.cluster.hosts.map((h) => h.agentStateDir!));
    for (const name of USERS) users[name] = makeUser(name, work);
    alice = users['edivt-alice']!;
    bob = users['edivt-bob']!;
    const doc = YAML.parse(fs.readFileSync(ec.clusterFile, 'utf8')) as Json;
    const write = (home: string, fix: (d: Json) => void, identity: string, knownHosts: string, name: string, owner?: TestUser): string => {
      const d = structuredClone(doc);
      for (const h of d.hosts) Object.assign(h.ssh, { identity, knownHosts });
      d.admins = ['root'];
      fix(d);
      const file = path.join(home, `${name}.yaml`);
      fs.writeFileSync(file, YAML.stringify(d));
      if (owner) fs.chownSync(file, owner.uid, owner.gid);
      return file;
    };
    const key = ec.cluster.hosts[0]!.ssh!.identity!;
    const known = ec.cluster.hosts[0]!.ssh!.knownHosts!;
    const variants = (home: string, identity: string, knownHosts: string, owner?: TestUser) => ({
      shared: write(home, (d) => (d.state = pgServer!.url), identity, knownHosts, 'shared', owner),
      own: write(home, () => {}, identity, knownHosts, 'own', owner),
      // Room for exactly one tutorial's spanning nets (3): the second controller finds none free.
      tight: write(home, (d) => (d.ids = { first: 7100, last: 7102 }), identity, knownHosts, 'tight', owner),
    });
    for (const u of [alice, bob]) clusterFiles[u.name] = variants(u.home, u.own(key, 'id_ed25519'), u.own(known, 'known_hosts'), u);
    const rootHome = path.join(work, 'root');
    fs.mkdirSync(rootHome, { mode: 0o700 });
    clusterFiles.root = variants(rootHome, key, known);
    baseline = await snapshotHosts(HOSTS, INSTANCE);
  });

  // Whatever a failed test left, removed while the cluster is still up: the administrator removes
  // every lab of the shared store, then each user the labs of their own stores.
  ec.beforeTeardown(async () => {
    if (!work || !clusterFiles.root) return;
    const all = await asRoot(['status', '--all', '--cluster', clusterFiles.root.shared, '--json']).catch(() => undefined);
    for (const s of all?.json?.scenarios ?? []) await asRoot(['undeploy', s.name, '--purge', '--cluster', clusterFiles.root.shared]);
    for (const u of [alice, bob].filter(Boolean)) {
      for (const f of ['own', 'tight'] as const) {
        const st = await own(u, ['status', '--json'], f).catch(() => undefined);
        for (const s of st?.json?.scenarios ?? []) await own(u, ['undeploy', s.name, '--purge'], f);
      }
    }
  });
  after(async () => {
    for (const name of USERS) removeUser(name);
    await pgServer?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const env = (): Record<string, string> => ({ PGPASSWORD: pgServer!.password });
  const stateOf = (u: TestUser): string => path.join(u.home, 'state');
  const rootState = (): string => path.join(work, 'root', 'state');

  async function as(u: TestUser, args: string[]): Promise<CliResult> {
    const r = await u.run([process.execPath, edivBin, ...args], { env: env() });
    const res: CliResult = { ...r };
    if (args.includes('--json')) {
      try {
        res.json = JSON.parse(r.stdout);
      } catch {
        /* the assertion that needs it shows stdout */
      }
    }
    return res;
  }
  const asRoot = (args: string[]): Promise<CliResult> =>
    ediv([...args, ...(args.includes('--state') ? [] : ['--state', rootState()])], { env: { ...process.env, ...env() } as Record<string, string> });
  /** `args` with `extra` options added before a `--` (what follows it is the VM's command). */
  const withOptions = (args: string[], extra: string[]): string[] => {
    const dash = args.indexOf('--');
    return dash < 0 ? [...args, ...extra] : [...args.slice(0, dash), ...extra, ...args.slice(dash)];
  };
  const shared = (u: TestUser, args: string[]) => as(u, withOptions(args, ['--cluster', clusterFiles[u.name]!.shared, '--state', stateOf(u)]));
  const own = (u: TestUser, args: string[], file: 'own' | 'tight' = 'own') => as(u, withOptions(args, ['--cluster', clusterFiles[u.name]![file], '--state', stateOf(u)]));
  const show = (r: CliResult): string => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`;
  const pingsAcross = async (run: (args: string[]) => Promise<CliResult>, lab: string): Promise<void> => {
    const r = await run(['exec', lab, '--vm', 'h1', '--json', '--', 'ping', '-c1', '-W3', '10.1.2.2']);
    expect(r.code, `${lab}: ${show(r)}`).to.equal(0);
    expect(r.json.vms[0].commands[0].stdout, lab).to.match(/1 received/);
  };

  describe('one shared PostgreSQL store', () => {
    const copies = (prefix: string) => [1, 2, 3, 4, 5].map((i) => `${prefix}${i}`);
    const labsOf = { 'edivt-alice': copies('alice-'), 'edivt-bob': copies('bob-') };

    it('10 copies of the tutorial from two users at once: every id distinct, every copy pings across hosts', async () => {
      const runs = await Promise.all(
        [alice, bob].flatMap((u) => labsOf[u.name as keyof typeof labsOf].map(async (lab) => ({ lab, r: await shared(u, ['deploy', TUTORIAL, '--name', lab, '--json']) }))),
      );
      for (const { lab, r } of runs) expect(r.code, `${lab}: ${show(r)}`).to.equal(0);
      const ids = runs.flatMap(({ r }) => (r.json.spanning as { id: number }[]).map((s) => s.id));
      expect(ids).to.have.length(30); // 3 nets span hosts in each copy
      expect(new Set(ids).size, `ids: ${ids.join(',')}`).to.equal(30);
      await Promise.all([alice, bob].flatMap((u) => labsOf[u.name as keyof typeof labsOf].map((lab) => pingsAcross((a) => shared(u, a), lab))));
    });

    it('each user sees and touches only their own labs; the administrator sees all ten with their owners', async () => {
      const mine = await shared(alice, ['status', '--json']);
      expect(mine.code, show(mine)).to.equal(0);
      expect(mine.json.scenarios.map((s: Json) => s.name).sort()).to.deep.equal(labsOf['edivt-alice']);
      expect(mine.json.scenarios.every((s: Json) => s.owner.user === 'edivt-alice')).to.equal(true);
      const all = await shared(alice, ['status', '--all', '--json']);
      expect(all.json.hidden).to.equal(5);
      const refused = await shared(alice, ['undeploy', 'bob-1']);
      expect(refused.code, show(refused)).to.equal(1);
      expect(refused.stderr).to.match(/lab bob-1 belongs to edivt-bob \(state store [0-9a-f]{8}…\), not to edivt-alice/);
      const exec = await shared(alice, ['exec', 'bob-1', '--', 'true']);
      expect(exec.code).to.equal(1);
      expect(await vmNamespaces('bob-1')).to.have.length(6);
      // Lab names are the store's: Bob deploying under Alice's lab name is told to pick another.
      const taken = await shared(bob, ['deploy', TUTORIAL, '--name', 'alice-1', '--json']);
      expect(taken.code, show(taken)).to.equal(1);
      expect(taken.json.message).to.match(/^a lab named alice-1 is already deployed by edivt-alice \(state store [0-9a-f]{8}…\): deploy yours under another name \(--name alice-1-edivt-bob\)$/);

      const admin = await asRoot(['status', '--all', '--cluster', clusterFiles.root!.shared, '--json']);
      expect(admin.code, show(admin)).to.equal(0);
      const owners = Object.fromEntries(admin.json.scenarios.map((s: Json) => [s.name, s.owner.user]));
      expect(Object.keys(owners).sort()).to.deep.equal([...labsOf['edivt-alice'], ...labsOf['edivt-bob']].sort());
      expect(owners['bob-3']).to.equal('edivt-bob');
      expect(admin.json.unrecorded).to.deep.equal([]); // every deployment on the hosts is in the store
      // One store: one store id for every lab.
      expect(new Set(admin.json.scenarios.map((s: Json) => s.owner.store)).size).to.equal(1);
      const text = await asRoot(['status', '--all', '--cluster', clusterFiles.root!.shared]);
      expect(text.stdout).to.match(/alice-1 +running +edivt-alice@[0-9a-f]{8} +6 /);
    });

    it('every undeploy, ten at once, leaves nothing on the hosts and nothing in the store', async () => {
      const runs = await Promise.all([alice, bob].flatMap((u) => labsOf[u.name as keyof typeof labsOf].map((lab) => shared(u, ['undeploy', lab, '--json']))));
      for (const r of runs) expect(r.code, show(r)).to.equal(0);
      const admin = await asRoot(['status', '--all', '--cluster', clusterFiles.root!.shared, '--json']);
      expect(admin.json.scenarios).to.deep.equal([]);
      expect(admin.json.unrecorded).to.deep.equal([]);
      expect(await settleTo(baseline, HOSTS, 10_000, INSTANCE)).to.deep.equal(baseline);
    });
  });

  describe('separate SQLite stores', () => {
    it('both deploy "tutorial" onto the same hosts: both run, with other ids and other host-side names', async () => {
      const a = await own(alice, ['deploy', TUTORIAL, '--json']);
      expect(a.code, show(a)).to.equal(0);
      const b = await own(bob, ['deploy', TUTORIAL, '--json']);
      expect(b.code, show(b)).to.equal(0);
      const idsA = (a.json.spanning as { id: number }[]).map((s) => s.id);
      const idsB = (b.json.spanning as { id: number }[]).map((s) => s.id);
      expect(idsA.filter((id) => idsB.includes(id)), 'the second planned around the ids the hosts reported').to.deep.equal([]);
      const namespaces = await vmNamespaces('tutorial');
      expect(namespaces).to.have.length(12);
      expect(new Set(namespaces.map((n) => n.split('.')[1])).size, 'two uids').to.equal(2);
      await pingsAcross((args) => own(alice, args), 'tutorial');
      await pingsAcross((args) => own(bob, args), 'tutorial');
      // Bob's store does not know Alice's lab; his --all shows it from the hosts, with its owner.
      const all = await own(bob, ['status', '--all', '--json']);
      expect(all.json.scenarios.map((s: Json) => s.owner.user)).to.deep.equal(['edivt-bob']);
      expect(all.json.unrecorded).to.have.length(1);
      expect(all.json.unrecorded[0]).to.deep.include({ name: 'tutorial', vms: 6, owner: all.json.unrecorded[0].owner });
      expect(all.json.unrecorded[0].owner.user).to.equal('edivt-alice');
      expect(all.json.unrecorded[0].ids.map((i: Json) => i.id).sort()).to.deep.equal([...idsA].sort());
    });

    it("undeploying one leaves the other's lab running", async () => {
      const r = await own(bob, ['undeploy', 'tutorial', '--json']);
      expect(r.code, show(r)).to.equal(0);
      const left = await vmNamespaces('tutorial');
      expect(left).to.have.length(6);
      await pingsAcross((args) => own(alice, args), 'tutorial');
      const done = await own(alice, ['undeploy', 'tutorial', '--json']);
      expect(done.code, show(done)).to.equal(0);
      expect(await settleTo(baseline, HOSTS, 10_000, INSTANCE)).to.deep.equal(baseline);
    });

    it('a deploy for which the hosts leave no free id is refused before anything is made', async () => {
      const a = await own(alice, ['deploy', TUTORIAL, '--json'], 'tight');
      expect(a.code, show(a)).to.equal(0);
      const before = await snapshotHosts(HOSTS, INSTANCE);
      const b = await own(bob, ['deploy', TUTORIAL, '--json'], 'tight');
      expect(b.code, show(b)).to.equal(1);
      expect(b.json.message).to.match(/backplane id range 7100-7102 is exhausted: 3 nets span hosts, only 0 ids are free \(3 in use/);
      expect(await settleTo(before, HOSTS, 10_000, INSTANCE)).to.deep.equal(before);
      const st = await own(bob, ['status', '--json'], 'tight');
      expect(st.json.scenarios).to.deep.equal([]);
      const done = await own(alice, ['undeploy', 'tutorial', '--json'], 'tight');
      expect(done.code, show(done)).to.equal(0);
    });

    it('deploys racing for the same ids: a host refuses the loser, which plans again; never an id shared on a host, nothing left of a refusal', async () => {
      for (let round = 1; round <= 2; round++) {
        const [a, b] = await Promise.all([own(alice, ['deploy', TUTORIAL, '--name', 'race', '--json']), own(bob, ['deploy', TUTORIAL, '--name', 'race', '--json'])]);
        const won = [a, b].filter((r) => r.code === 0);
        const lost = [a, b].filter((r) => r.code !== 0);
        for (const r of lost) {
          expect(r.code, show(r)).to.equal(1);
          expect(r.json.message, show(r)).to.match(/is in use here by deployment race\.[a-z2-7]{6} \(owner edivt-(alice|bob)/);
          expect(r.json.outcome).to.equal('rolled-back');
        }
        const ids = won.map((r) => (r.json.spanning as { id: number }[]).map((s) => s.id));
        if (ids.length === 2) expect(ids[0]!.filter((id) => ids[1]!.includes(id))).to.deep.equal([]);
        expect(await vmNamespaces('race')).to.have.length(6 * won.length);
        const replans = [a, b].map((r) => (r.stderr.match(/planning again/g) ?? []).length);
        console.log(`      round ${round}: ${won.length} deployed (plans made again after a host's refusal: ${replans.join(', ')}), ${lost.length} refused`);
        for (const [u, r] of [[alice, a], [bob, b]] as const) if (r.code === 0) expect((await own(u, ['undeploy', 'race', '--json'])).code).to.equal(0);
        expect(await settleTo(baseline, HOSTS, 10_000, INSTANCE)).to.deep.equal(baseline);
      }
    });
  });

  describe('a controller killed mid-deploy, with the shared store', () => {
    it('the administrator sees it in status --all and removes it completely', async () => {
      const child = execa('setpriv', [`--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--clear-groups', '--', process.execPath, edivBin,
        'deploy', TUTORIAL, '--name', 'killed', '--cluster', clusterFiles[alice.name]!.shared, '--state', stateOf(alice), '--progress', 'json'], {
        reject: false, env: { PATH: process.env.PATH!, HOME: alice.home, ...env() }, extendEnv: false, cwd: alice.home,
      });
      // Killed as soon as one host reports its part applied: the others are still working.
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no host applied within 120 s: ${seen.slice(-2000)}`)), 120_000);
        child.stderr!.on('data', (c: Buffer) => {
          seen += c.toString();
          if (/"step":"applied"/.test(seen)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      child.kill('SIGKILL');
      await child;
      const admin = await asRoot(['status', '--all', '--cluster', clusterFiles.root!.shared, '--json']);
      const rec = admin.json.scenarios.find((s: Json) => s.name === 'killed');
      expect(rec, show(admin)).to.not.equal(undefined);
      expect(rec.owner.user).to.equal('edivt-alice');
      expect(rec.status).to.be.oneOf(['deploying', 'planning']);
      expect(await vmNamespaces('killed')).to.not.deep.equal([]);
      const r = await asRoot(['undeploy', 'killed', '--cluster', clusterFiles.root!.shared, '--json']);
      expect(r.code, show(r)).to.equal(0);
      expect(await vmNamespaces('killed')).to.deep.equal([]);
      expect(await settleTo(baseline, HOSTS, 10_000, INSTANCE)).to.deep.equal(baseline);
      const after = await asRoot(['status', '--all', '--cluster', clusterFiles.root!.shared, '--json']);
      expect(after.json.scenarios).to.deep.equal([]);
    });
  });
});
