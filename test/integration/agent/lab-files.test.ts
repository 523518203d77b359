// The agent with lab files that are NOT on the host's disk at the paths the fragment names: the
// apply request carries them (ApplyRequest.files), the agent stores them in the deployment's
// directory, and filetree and exec type="file" steps work from there. Host namespace edivt-lf1,
// deployment edivt-lf; everything removed by exact name.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { AgentExecResult, LabFile } from '../../../src/protocol/agent.ts';
import { addHostNs, isRoot, linksIn, namespacesWith, removeNamespaces, runAgent, tempDir, vnx } from './helpers.ts';

const HOST = 'edivt-lf1';
const DEP = 'edivt-lf';
/** An absolute path that exists nowhere: the controller had the file there, the host has not. */
const ABS = '/edivt-nonexistent-lab/tools/hello.sh';

const fragmentXml = vnx(
  DEP,
  ['N0'],
  `  <vm name="a" type="lxc">
    <if id="1" net="N0"><ipv4>10.250.0.1/24</ipv4></if>
    <filetree seq="start" root="/etc/edivt-lab">conf/www</filetree>
    <filetree seq="start" root="/etc/edivt-lab/only-txt">conf/www/*.txt</filetree>
    <exec seq="start" type="file">scripts/show.sh</exec>
    <exec seq="hello" type="file">${ABS}</exec>
  </vm>
  <vm name="b" type="lxc">
    <if id="1" net="N0"><ipv4>10.250.0.2/24</ipv4></if>
    <exec seq="hello" type="file">./scripts/../scripts/hello-b.sh</exec>
  </vm>`,
);

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const file = (p: string, data: string, mode = 0o644): LabFile => ({ path: p, type: 'file', mode, dataBase64: b64(data) });
const dir = (p: string, mode = 0o755): LabFile => ({ path: p, type: 'dir', mode });

const SHOW = 'cd /etc/edivt-lab && find . | sort && stat -c "%a %n" index.html sub/run.sh && cat sub/note.txt; hostname\n';
function labFiles(version: string): LabFile[] {
  return [
    dir('lab/conf/www'),
    file('lab/conf/www/index.html', `<h1>${version}</h1>\n`, 0o640),
    dir('lab/conf/www/sub', 0o750),
    file('lab/conf/www/sub/run.sh', 'echo run\n', 0o755),
    file('lab/conf/www/sub/note.txt', `note ${version}\n`),
    file('lab/conf/www/a.txt', 'a\n'),
    file('lab/scripts/show.sh', SHOW, 0o755),
    file('lab/scripts/hello-b.sh', `echo hello from b ${version}\n`),
    file(`abs${ABS}`, `echo hello from a ${version}; hostname\n`),
  ];
}

describe('integration: the agent runs exec files and filetrees from the files the apply carried', function () {
  this.timeout(120_000);
  let stateDir: string;
  const depDir = (): string => path.join(stateDir, 'deployments', DEP);

  before(function () {
    if (!isRoot) {
      console.log('    (skipped: the agent integration tests need root)');
      this.skip();
    }
    removeNamespaces([...namespacesWith(`${DEP}.`), HOST]); // left over by an interrupted run
    addHostNs(HOST);
    stateDir = tempDir('lf-state');
  });

  after(() => {
    if (!isRoot) return;
    removeNamespaces(namespacesWith(`${DEP}.`));
    removeNamespaces([HOST]);
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const apply = (files?: LabFile[]) => runAgent(HOST, 'apply', { deployment: DEP, host: 'h1', fragmentXml, files, backplane: [] }, stateDir);
  const exec = async (seq: string, vms?: string[]) => {
    const r = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq, vms }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    return (r.result.result as AgentExecResult).vms;
  };

  it('the files the fragment names are not on this machine', () => {
    for (const p of [ABS, path.dirname(ABS), path.resolve('conf/www'), path.resolve('scripts/show.sh'), '/etc/edivt-lab']) {
      expect(fs.existsSync(p), p).to.equal(false);
    }
  });

  it('an apply without the files is bad input at the line of each element, and makes nothing', async () => {
    const r = await apply(labFiles('v1').filter((f) => !f.path.startsWith('abs/') && f.path !== 'lab/conf/www'));
    expect(r.code).to.equal(2);
    const problems = r.result.error!.details as { line: number; message: string }[];
    expect(problems.map((p) => p.message)).to.deep.equal([
      'VM a: filetree source "conf/www": the request carries no file or directory lab/conf/www (ApplyRequest.files)',
      'VM a: filetree source "conf/www/*.txt": the request carries no directory lab/conf/www (ApplyRequest.files)',
      `VM a: exec file "${ABS}": the request carries no file abs${ABS} (ApplyRequest.files)`,
    ]);
    const lineOf = (needle: string): number => fragmentXml.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(problems.map((p) => p.line)).to.deep.equal([lineOf('>conf/www<'), lineOf('*.txt'), lineOf(ABS)]);
    expect(namespacesWith(`${DEP}.`)).to.deep.equal([]);
    expect(fs.existsSync(depDir())).to.equal(false);
  });

  it('an apply with a path out of the store is refused before anything is made', async () => {
    const r = await apply([...labFiles('v1'), file('lab/../../../etc/passwd', 'x')]);
    expect(r.code).to.equal(2);
    expect(r.result.error!.message).to.contain('files[9].path: must be relative and normalized');
    expect(fs.existsSync(depDir())).to.equal(false);
  });

  it('apply stores the files in the deployment directory; filetree (directory and pattern) and exec files work', async () => {
    const r = await apply(labFiles('v1'));
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    const sets = fs.readdirSync(path.join(depDir(), 'files'));
    expect(sets).to.have.length(1);
    expect(fs.readFileSync(path.join(depDir(), 'files', sets[0]!, 'lab/scripts/show.sh'), 'utf8')).to.equal(SHOW);
    const [a] = await exec('start', ['a']);
    expect(a!.commands.map((c) => [c.command, c.exitCode])).to.deep.equal([
      ['filetree conf/www -> /etc/edivt-lab', 0],
      ['filetree conf/www/*.txt -> /etc/edivt-lab/only-txt', 0],
      [SHOW, 0],
    ]);
    expect(a!.commands[2]!.stdout).to.equal(
      ['.', './a.txt', './index.html', './only-txt', './only-txt/a.txt', './sub', './sub/note.txt', './sub/run.sh'].join('\n') +
        '\n640 index.html\n755 sub/run.sh\nnote v1\na\n',
    );
    expect(fs.existsSync('/etc/edivt-lab'), 'the VM’s view only').to.equal(false);
    const hello = await exec('hello');
    expect(hello.map((v) => [v.name, v.commands[0]?.stdout])).to.deep.equal([
      ['a', 'hello from a v1\na\n'],
      ['b', 'hello from b v1\n'],
    ]);
  });

  it('an apply with changed files replaces the stored set; the same files again write nothing', async () => {
    expect((await apply(labFiles('v2'))).code).to.equal(0);
    const sets = fs.readdirSync(path.join(depDir(), 'files'));
    expect(sets).to.have.length(1);
    const stored = path.join(depDir(), 'files', sets[0]!, 'lab/scripts/hello-b.sh');
    const before = fs.statSync(stored);
    expect((await apply(labFiles('v2'))).code).to.equal(0);
    expect(fs.statSync(stored).mtimeMs).to.equal(before.mtimeMs);
    const hello = await exec('hello', ['b']);
    expect(hello[0]!.commands[0]!.stdout).to.equal('hello from b v2\n');
  });

  it('destroy removes the stored files with the deployment directory', async () => {
    const r = await runAgent(HOST, 'destroy', { deployment: DEP, host: 'h1' }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(namespacesWith(`${DEP}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([]);
    expect(fs.existsSync(depDir())).to.equal(false);
  });
});
