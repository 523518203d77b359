// The agent's side of the lab files: every path of ApplyRequest.files validated, a fragment
// naming a file the request lacks refused, the store (modes, idempotence, replacement) and the
// exec/filetree path resolution against it. No root needed: plain files in a temp directory.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../../src/common/errors.ts';
import { execText, filetreeSources } from '../../../src/host-agent/drivers/netns/exec.ts';
import { checkLabFiles, labFileResolver, labFilesProblems, removeOtherLabFiles, storeLabFiles } from '../../../src/host-agent/lab-files.ts';
import { validateRequest } from '../../../src/host-agent/validate.ts';
import type { LabFile } from '../../../src/protocol/agent.ts';
import { LAB_FILE_LIMITS, type LabFileLimits } from '../../../src/protocol/lab-files.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const file = (p: string, data = 'x', mode = 0o644): LabFile => ({ path: p, type: 'file', mode, dataBase64: b64(data) });
const dir = (p: string, mode = 0o755): LabFile => ({ path: p, type: 'dir', mode });
const messages = (v: unknown, limits: LabFileLimits = LAB_FILE_LIMITS): string[] => labFilesProblems(v, limits).map((p) => `${p.field}: ${p.message}`);

const FRAGMENT = `<?xml version="1.0"?>
<vnx>
  <global><version>2.0</version><scenario_name>lab_h1</scenario_name></global>
  <vm name="a" type="lxc">
    <filetree seq="s" root="/srv">conf/www/*</filetree>
    <filetree seq="s" root="/etc">/opt/shared/etc</filetree>
    <exec seq="s" type="file">scripts/start.sh</exec>
  </vm>
</vnx>
`;
const CARRIED: LabFile[] = [
  dir('lab/conf/www'),
  file('lab/conf/www/index.html', '<h1>a</h1>\n', 0o640),
  file('lab/conf/www/.hidden'),
  dir('lab/conf/www/sub', 0o700),
  file('lab/conf/www/sub/x'),
  dir('abs/opt/shared/etc'),
  file('abs/opt/shared/etc/hosts', '127.0.0.1 a\n'),
  file('lab/scripts/start.sh', 'echo started\n', 0o755),
];

describe('host agent: lab files of an apply', () => {
  it('valid paths pass; every bad path is named', () => {
    expect(messages(CARRIED)).to.deep.equal([]);
    expect(messages(undefined)).to.deep.equal([]);
    const bad = messages([
      file('/etc/passwd'),
      file('lab/../../etc/passwd'),
      file('lab//x'),
      file('lab/./x'),
      file('etc/passwd'),
      file('lab/a\0b'),
      file(`lab/${'a'.repeat(256)}`),
      file(`lab/${'a/'.repeat(600)}b`),
      file('up-0/x'),
    ]);
    expect(bad).to.deep.equal([
      'files[0].path: must start with lab/, abs/ or up-<n>/ (a relative, normalized path)',
      'files[1].path: must be relative and normalized (no empty, "." or ".." segment)',
      'files[2].path: must be relative and normalized (no empty, "." or ".." segment)',
      'files[3].path: must be relative and normalized (no empty, "." or ".." segment)',
      'files[4].path: must start with lab/, abs/ or up-<n>/ (a relative, normalized path)',
      'files[5].path: must not contain NUL',
      'files[6].path: has a segment longer than 255 bytes',
      'files[7].path: is longer than 1024 bytes',
      'files[8].path: must start with lab/, abs/ or up-<n>/ (a relative, normalized path)',
    ]);
  });

  it('entries: known fields only, a type, permission bits, base64 data for files only; no duplicate, nothing below a file', () => {
    expect(
      messages([
        { path: 'lab/a', type: 'link', mode: 0o644 },
        { path: 'lab/b', type: 'file', mode: 0o4755, dataBase64: '' },
        { path: 'lab/c', type: 'file', mode: 0o644, dataBase64: 'not base64!' },
        { path: 'lab/d', type: 'dir', mode: 0o755, dataBase64: 'eA==' },
        { path: 'lab/e', type: 'file', mode: 0o644, dataBase64: '', owner: 'root' },
        file('lab/e'),
        file('lab/f'),
        file('lab/f/g/h'),
        'lab/x',
      ]),
    ).to.deep.equal([
      'files[0].type: must be "file" or "dir"',
      'files[1].mode: must be permission bits, an integer 0..0o777',
      'files[2].dataBase64: must be base64',
      'files[3].dataBase64: only a file has data',
      'files[4].owner: unknown field',
      'files[5].path: lab/e is listed twice',
      'files[8]: must be a JSON object',
      'files: lab/f/g/h is below lab/f, which is a file',
    ]);
    expect(messages({})).to.deep.equal(['files: must be an array']);
  });

  it('limits: per file, per host, entries', () => {
    const limits = { ...LAB_FILE_LIMITS, fileBytes: 4, hostBytes: 6, hostFiles: 3 };
    expect(messages([file('lab/a', '12345')], limits)).to.deep.equal([
      'files[0].dataBase64: is 5 bytes, over the limit of 4 bytes per file',
    ]);
    expect(messages([file('lab/a', '1234'), file('lab/b', '123')], limits)).to.deep.equal([
      'files: carry 7 bytes, over the limit of 6 bytes per host',
    ]);
    expect(messages([dir('lab/a'), dir('lab/b'), dir('lab/c'), dir('lab/d')], limits)).to.deep.equal([
      'files: has 4 entries, over the limit of 3',
    ]);
  });

  it('the apply request: files validated, scenarioDir (a controller path) refused as unknown', () => {
    const req = { deployment: 'd', host: 'h1', fragmentXml: FRAGMENT, backplane: [] };
    validateRequest('apply', { ...req, files: CARRIED });
    validateRequest('apply', req);
    const err = (() => {
      try {
        validateRequest('apply', { ...req, scenarioDir: '/home/u/lab', files: [file('../x')] });
      } catch (e) {
        return e;
      }
    })() as InputError;
    expect(err).to.be.instanceOf(InputError);
    expect(err.message).to.contain('request.scenarioDir: unknown field').and.contain('files[0].path: must start with lab/');
  });

  it('a fragment naming a file the request does not carry is refused at the element’s line', () => {
    const scenario = parseScenarioText(FRAGMENT, 'fragment of d');
    checkLabFiles(scenario, CARRIED);
    let err: unknown;
    try {
      checkLabFiles(scenario, CARRIED.filter((f) => !f.path.startsWith('abs/') && f.path !== 'lab/conf/www'));
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(InputError);
    const problems = (err as InputError).problems;
    expect(problems.map((p) => [p.loc.line, p.message])).to.deep.equal([
      [5, 'VM a: filetree source "conf/www/*": the request carries no directory lab/conf/www (ApplyRequest.files)'],
      [6, 'VM a: filetree source "/opt/shared/etc": the request carries no file or directory abs/opt/shared/etc (ApplyRequest.files)'],
    ]);
  });

  describe('the store', () => {
    let depDir: string;
    beforeEach(() => (depDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-agent-labfiles-'))));
    afterEach(() => fs.rmSync(depDir, { recursive: true, force: true }));

    it('stores the files with their modes; exec and filetree steps resolve against the store, patterns as before', () => {
      const old = process.umask(0o077);
      let digest: string;
      try {
        digest = storeLabFiles(depDir, CARRIED);
      } finally {
        process.umask(old);
      }
      const base = path.join(depDir, 'files', digest);
      expect(fs.statSync(path.join(base, 'lab/scripts/start.sh')).mode & 0o777).to.equal(0o755);
      expect(fs.statSync(path.join(base, 'lab/conf/www/index.html')).mode & 0o777).to.equal(0o640);
      expect(fs.statSync(path.join(base, 'lab/conf/www/sub')).mode & 0o777).to.equal(0o700);
      const scenario = parseScenarioText(FRAGMENT, 'fragment of d');
      const files = labFileResolver(depDir, digest);
      const [pattern, etc] = scenario.vms[0]!.filetrees;
      expect(filetreeSources(pattern!, files).map((s) => path.relative(base, s))).to.deep.equal([
        'lab/conf/www/index.html',
        'lab/conf/www/sub',
      ]);
      expect(filetreeSources(etc!, files).map((s) => path.relative(base, s))).to.deep.equal(['abs/opt/shared/etc/hosts']);
      expect(execText(scenario.vms[0]!.execs[0]!, files)).to.equal('echo started\n');
    });

    it('the same set again writes nothing; a changed set replaces it and the old one is removed', () => {
      const d1 = storeLabFiles(depDir, CARRIED);
      const stamp = fs.statSync(path.join(depDir, 'files', d1, 'lab/scripts/start.sh'));
      expect(storeLabFiles(depDir, [...CARRIED].reverse())).to.equal(d1);
      const again = fs.statSync(path.join(depDir, 'files', d1, 'lab/scripts/start.sh'));
      expect([again.ino, again.mtimeMs]).to.deep.equal([stamp.ino, stamp.mtimeMs]);
      const d2 = storeLabFiles(depDir, [file('lab/scripts/start.sh', 'echo v2\n', 0o755)]);
      expect(d2).to.not.equal(d1);
      removeOtherLabFiles(depDir, d2);
      expect(fs.readdirSync(path.join(depDir, 'files'))).to.deep.equal([d2]);
      expect(fs.readFileSync(labFileResolver(depDir, d2)('./scripts/start.sh'), 'utf8')).to.equal('echo v2\n');
    });

    it('a file the store lacks is an exec error naming the reference, not a host path', () => {
      const digest = storeLabFiles(depDir, []);
      const scenario = parseScenarioText(FRAGMENT, 'fragment of d');
      expect(() => execText(scenario.vms[0]!.execs[0]!, labFileResolver(depDir, digest))).to.throw(/exec file scripts\/start\.sh \(sequence s\) cannot be read/);
      expect(() => filetreeSources(scenario.vms[0]!.filetrees[1]!, labFileResolver(depDir, digest))).to.throw(/filetree source \/opt\/shared\/etc .* is not among the lab files/);
    });
  });
});
