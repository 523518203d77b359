// The controller's side of the lab files: what a scenario's exec type="file" and filetree
// elements send (file, directory, pattern, absolute path), keys, limits, symbolic links, and
// bad input at the referencing element's line.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LabFiles } from '../../../src/controller/lab-files.ts';
import type { LabFile } from '../../../src/protocol/agent.ts';
import { LAB_FILE_LIMITS, labFileKey } from '../../../src/protocol/lab-files.ts';
import type { Plan } from '../../../src/protocol/plan.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { expectInputError } from './expect-input-error.ts';

/** A VNX scenario with one VM per entry, each with the given inner elements. */
function lab(vms: Record<string, string>): string {
  const body = Object.entries(vms)
    .map(([name, inner]) => `  <vm name="${name}" type="lxc">\n${inner}\n  </vm>`)
    .join('\n');
  return `<?xml version="1.0"?>\n<vnx>\n  <global><version>2.0</version><scenario_name>lab</scenario_name></global>\n${body}\n</vnx>\n`;
}

/** The 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

/** A one-host plan whose fragment is the scenario (or per host, the named VMs of it). */
function planOf(scenario: Scenario, hosts: Record<string, string[]> = { h1: scenario.vms.map((v) => v.name) }): Plan {
  return {
    scenario: scenario.name,
    hosts: Object.fromEntries(
      Object.entries(hosts).map(([host, vms]) => [
        host,
        { host, vms, fragment: { ...scenario, vms: scenario.vms.filter((v) => vms.includes(v.name)) } },
      ]),
    ),
  } as unknown as Plan;
}

function summary(files: LabFile[]): Record<string, string> {
  return Object.fromEntries(
    files.map((f) => [f.path, f.type === 'dir' ? `dir ${f.mode.toString(8)}` : `${f.mode.toString(8)} ${Buffer.from(f.dataBase64, 'base64').toString()}`]),
  );
}

describe('controller: lab files sent with the apply requests', () => {
  let dir: string;
  let other: string;
  let scenarioFile: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-labfiles-'));
    other = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-labfiles-other-'));
    scenarioFile = path.join(dir, 'lab.xml');
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.writeFileSync(path.join(dir, 'scripts/start.sh'), 'echo started\n', { mode: 0o755 });
    fs.mkdirSync(path.join(dir, 'conf/www/sub'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'conf/www/empty'));
    fs.writeFileSync(path.join(dir, 'conf/www/index.html'), '<h1>hi</h1>\n', { mode: 0o640 });
    fs.writeFileSync(path.join(dir, 'conf/www/.hidden'), 'h');
    fs.writeFileSync(path.join(dir, 'conf/www/sub/a.txt'), 'a');
    for (const d of ['conf', 'conf/www', 'conf/www/empty']) fs.chmodSync(path.join(dir, d), 0o755);
    fs.chmodSync(path.join(dir, 'conf/www/sub'), 0o750);
    for (const f of ['conf/www/.hidden', 'conf/www/sub/a.txt']) fs.chmodSync(path.join(dir, f), 0o644);
    fs.chmodSync(path.join(dir, 'scripts/start.sh'), 0o755);
    fs.chmodSync(path.join(dir, 'conf/www/index.html'), 0o640);
    fs.writeFileSync(path.join(other, 'outside.sh'), 'echo outside\n', { mode: 0o700 });
    fs.writeFileSync(path.join(other, 'secret'), 'secret');
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(other, { recursive: true, force: true });
  });

  /** Scans the scenario text (written to lab.xml) and returns what host h1 is sent. */
  function send(text: string, limits = LAB_FILE_LIMITS): Record<string, string> {
    fs.writeFileSync(scenarioFile, text);
    const scenario = parseScenarioText(text, scenarioFile);
    const files = LabFiles.scan(scenario, scenarioFile, limits);
    files.checkPlan(planOf(scenario));
    return summary(files.read('h1'));
  }

  it('an exec file: its content and mode, keyed by its path relative to the scenario', () => {
    expect(send(lab({ a: '<exec seq="s" type="file">scripts/start.sh</exec>' }))).to.deep.equal({
      'lab/scripts/start.sh': '755 echo started\n',
    });
  });

  it('a filetree directory: every entry, recursively, dot files and empty directories included', () => {
    expect(send(lab({ a: '<filetree seq="s" root="/srv">conf/www</filetree>' }))).to.deep.equal({
      'lab/conf/www': 'dir 755',
      'lab/conf/www/.hidden': '644 h',
      'lab/conf/www/empty': 'dir 755',
      'lab/conf/www/index.html': '640 <h1>hi</h1>\n',
      'lab/conf/www/sub': 'dir 750',
      'lab/conf/www/sub/a.txt': '644 a',
    });
  });

  it('a dir/* pattern: the directory and its matching entries (no dot files); a pattern matching nothing sends the directory', () => {
    expect(send(lab({ a: '<filetree seq="s" root="/srv">conf/www/*</filetree>' }))).to.deep.equal({
      'lab/conf/www': 'dir 755',
      'lab/conf/www/empty': 'dir 755',
      'lab/conf/www/index.html': '640 <h1>hi</h1>\n',
      'lab/conf/www/sub': 'dir 750',
      'lab/conf/www/sub/a.txt': '644 a',
    });
    expect(send(lab({ a: '<filetree seq="s" root="/srv">conf/www/*.htm?</filetree>' }))).to.deep.equal({
      'lab/conf/www': 'dir 755',
      'lab/conf/www/index.html': '640 <h1>hi</h1>\n',
    });
    expect(send(lab({ a: '<filetree seq="s" root="/srv">conf/www/*.none</filetree>' }))).to.deep.equal({ 'lab/conf/www': 'dir 755' });
  });

  it('an absolute path is sent under abs/, a path above the scenario directory under up-<n>/', () => {
    const abs = path.join(other, 'outside.sh');
    const up = path.relative(dir, abs);
    expect(up.startsWith('..')).to.equal(true);
    const sent = send(lab({ a: `<exec seq="s" type="file">${abs}</exec>\n<exec seq="t" type="file">${up}</exec>` }));
    expect(sent).to.deep.equal({
      [`abs${abs}`]: '700 echo outside\n',
      [labFileKey(up)]: '700 echo outside\n',
    });
    expect(labFileKey(up)).to.match(/^up-1\//);
  });

  it('paths are normalized: the same file named three ways is one entry', () => {
    const sent = send(
      lab({
        a: '<exec seq="s" type="file">./scripts//start.sh</exec>',
        b: '<exec seq="s" type="file">scripts/../scripts/start.sh</exec>\n<exec seq="t" type="file"> scripts/start.sh </exec>',
      }),
    );
    expect(Object.keys(sent)).to.deep.equal(['lab/scripts/start.sh']);
    expect(labFileKey('a/../../b/./c/')).to.equal('up-1/b/c');
    expect(labFileKey('/x/../../y')).to.equal('abs/y');
    expect(labFileKey('.')).to.equal('lab');
  });

  it('a missing file is bad input at the line of each element that names it, before any plan', () => {
    const text = lab({
      a: '<exec seq="s" type="file">scripts/nope.sh</exec>',
      b: '<filetree seq="s" root="/srv">conf/missing</filetree>\n<filetree seq="t" root="/srv">nodir/*</filetree>\n<exec seq="u" type="file">conf/www</exec>',
    });
    fs.writeFileSync(scenarioFile, text);
    const scenario = parseScenarioText(text, scenarioFile);
    const problems = expectInputError(
      () => LabFiles.scan(scenario, scenarioFile),
      { file: scenarioFile, line: lineOf(text, 'nope.sh'), message: /VM a: exec file "scripts\/nope\.sh": .*scripts\/nope\.sh does not exist/ },
      { file: scenarioFile, line: lineOf(text, 'conf/missing'), message: /VM b: filetree source "conf\/missing": .* does not exist/ },
      { file: scenarioFile, line: lineOf(text, 'nodir/*'), message: /nodir does not exist/ },
      { file: scenarioFile, line: lineOf(text, '>conf/www<'), message: /is not a regular file/ },
    );
    expect(problems).to.have.length(4);
  });

  it('a file over the per-file limit is bad input naming the file and the limit', () => {
    fs.writeFileSync(path.join(dir, 'conf/www/big.bin'), Buffer.alloc(2048));
    const text = lab({ a: '<filetree seq="s" root="/srv">conf/www</filetree>' });
    fs.writeFileSync(scenarioFile, text);
    const scenario = parseScenarioText(text, scenarioFile);
    expectInputError(() => LabFiles.scan(scenario, scenarioFile, { ...LAB_FILE_LIMITS, fileBytes: 1024 }), {
      line: lineOf(text, 'conf/www'),
      message: /big\.bin is 2 KiB, over the limit of 1 KiB per file/,
    });
  });

  it('per host: bytes and entries of all the VMs placed there; other placements pass', () => {
    for (const n of ['x', 'y']) fs.writeFileSync(path.join(dir, n), Buffer.alloc(600));
    const text = lab({ a: '<exec seq="s" type="file">x</exec>', b: '<exec seq="s" type="file">y</exec>' });
    fs.writeFileSync(scenarioFile, text);
    const scenario = parseScenarioText(text, scenarioFile);
    const limits = { ...LAB_FILE_LIMITS, hostBytes: 1000 };
    const files = LabFiles.scan(scenario, scenarioFile, limits);
    expectInputError(() => files.checkPlan(planOf(scenario)), {
      file: scenarioFile,
      line: lineOf(text, '>y<'),
      message: /VM b: exec file "y" takes the lab files sent to host h1 to 1\.2 KiB, over the limit of 1000 bytes per host/,
    });
    files.checkPlan(planOf(scenario, { h1: ['a'], h2: ['b'] }));
    expect(Object.keys(summary(files.read('h2')))).to.deep.equal(['lab/y']);
    // Entries: one directory reference of more entries than a host may receive is refused at scan time.
    const tree = lab({ a: '<filetree seq="s" root="/srv">conf</filetree>' });
    fs.writeFileSync(scenarioFile, tree);
    expectInputError(() => LabFiles.scan(parseScenarioText(tree, scenarioFile), scenarioFile, { ...LAB_FILE_LIMITS, hostFiles: 3 }), {
      line: lineOf(tree, '>conf<'),
      message: /more than 3 files and directories, the limit per host/,
    });
  });

  it('symbolic links: followed inside the lab; one in a copied tree pointing out of the lab is refused; a named one is followed', () => {
    fs.symlinkSync('../../scripts/start.sh', path.join(dir, 'conf/www/start'));
    fs.symlinkSync(path.join(other, 'outside.sh'), path.join(dir, 'named.sh'));
    const ok = send(lab({ a: '<filetree seq="s" root="/srv">conf/www/*</filetree>\n<exec seq="t" type="file">named.sh</exec>' }));
    expect(ok['lab/conf/www/start']).to.equal('755 echo started\n');
    expect(ok['lab/named.sh']).to.equal('700 echo outside\n');

    fs.symlinkSync(path.join(other, 'secret'), path.join(dir, 'conf/www/sub/key'));
    const text = lab({ a: '<filetree seq="s" root="/srv">conf/www</filetree>' });
    fs.writeFileSync(scenarioFile, text);
    expectInputError(() => LabFiles.scan(parseScenarioText(text, scenarioFile), scenarioFile), {
      line: lineOf(text, 'conf/www'),
      message: /sub\/key is a symbolic link to .*secret, outside the scenario's directory/,
    });
  });

  it('a directory cycle and a dangling link are refused', () => {
    fs.symlinkSync('..', path.join(dir, 'conf/www/sub/loop'));
    const text = lab({ a: '<filetree seq="s" root="/srv">conf/www</filetree>' });
    fs.writeFileSync(scenarioFile, text);
    expectInputError(() => LabFiles.scan(parseScenarioText(text, scenarioFile), scenarioFile), { message: /loop leads back to .* \(a directory cycle\)/ });
    fs.unlinkSync(path.join(dir, 'conf/www/sub/loop'));
    fs.symlinkSync('nowhere', path.join(dir, 'conf/www/sub/dangling'));
    expectInputError(() => LabFiles.scan(parseScenarioText(text, scenarioFile), scenarioFile), { message: /dangling is a symbolic link to nothing/ });
  });

  it('a scenario without exec files or filetrees sends nothing', () => {
    expect(send(lab({ a: '<exec seq="s" type="verbatim">echo hi</exec>' }))).to.deep.equal({});
  });

  it('entries are keyed once per host even when several elements name them', () => {
    const text = lab({ a: '<filetree seq="s" root="/srv">conf/www</filetree>\n<filetree seq="t" root="/srv">conf/www/sub/a.txt</filetree>' });
    fs.writeFileSync(scenarioFile, text);
    const scenario = parseScenarioText(text, scenarioFile);
    const files = LabFiles.scan(scenario, scenarioFile);
    files.checkPlan(planOf(scenario));
    const keys = files.read('h1').map((f) => f.path);
    expect(keys).to.have.length(new Set(keys).size);
    expect(keys).to.include('lab/conf/www/sub/a.txt');
  });
});
