// `ediv completion bash|zsh` in real shells: the script printed by bin/ediv is sourced in
// `bash --norc --noprofile`, the completion function is called with COMP_WORDS/COMP_CWORD set for
// a command line, and COMPREPLY is read back. Names come from a temp state store holding labs.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edivBin, edivRoot } from '../../../src/common/paths.ts';
import { STATE_FILE } from '../../../src/state/sqlite.ts';
import { recordLab } from '../../helpers/recorded-lab.ts';

const nodeBin = path.join(edivRoot, 'node_modules', '.bin', 'node');
const ZSH = '/usr/bin/zsh';

/** Sources the script ($1), sets the completion variables for the words given, calls _ediv, prints COMPREPLY. */
const BASH_HARNESS = `
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
_ediv "$1" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
(( \${#COMPREPLY[@]} )) && printf '%s\\n' "\${COMPREPLY[@]}"
exit 0`;

// Names nobody would deploy, recorded as they are: the scripts must hand them over literally.
const HOSTILE = ['x$(touch${IFS}pwned)', '*', "it's"];

describe('ediv completion (real bash and zsh)', function () {
  this.timeout(60000);
  let dir: string;
  let stateA: string;
  let stateB: string;
  let env: Record<string, string>;
  let bashScript: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-completion-'));
    stateA = path.join(dir, 'state-a');
    stateB = path.join(dir, 'state-b');
    await recordLab(stateA, 'tutorial', {
      host1: { vms: { r1: { execs: ['start', 'step1,step2'] }, r2: {} }, cmdSeqs: { all: 'start,step1' } },
      host2: { vms: { h1: { filetrees: ['conf'] } } },
    });
    for (const name of HOSTILE) await recordLab(stateA, name, {});
    await recordLab(stateB, 'other', { host1: { vms: { o1: {} } } });
    // A cwd with files, and `ediv` on PATH (a link to bin/ediv) beside the Node that runs it.
    const cwd = path.join(dir, 'cwd');
    mkdirSync(path.join(cwd, 'scripts'), { recursive: true });
    mkdirSync(path.join(cwd, 'scenarios'));
    for (const f of ['scenario.xml', 'cluster.yaml', 'restrictions.xml']) writeFileSync(path.join(cwd, f), '');
    mkdirSync(path.join(dir, 'bin'));
    symlinkSync(edivBin, path.join(dir, 'bin', 'ediv'));
    env = {
      PATH: `${path.join(dir, 'bin')}:${path.dirname(nodeBin)}:${process.env.PATH}`,
      HOME: dir,
      EDIV_STATE_DIR: stateA,
    };
    const r = await execa(nodeBin, [edivBin, 'completion', 'bash'], { env });
    bashScript = path.join(dir, 'ediv.bash');
    writeFileSync(bashScript, r.stdout);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** COMPREPLY for the command line `words` (the last one is the word being completed). */
  async function bashComplete(...words: string[]): Promise<string[]> {
    const r = await execa('bash', ['--norc', '--noprofile', '-c', BASH_HARNESS, 'harness', bashScript, ...words], {
      env,
      cwd: path.join(dir, 'cwd'),
      reject: false,
    });
    expect(r.stderr, `stderr of ${words.join(' ')}`).to.equal('');
    expect(r.exitCode).to.equal(0);
    return r.stdout === '' ? [] : r.stdout.split('\n');
  }

  describe('bash', () => {
    it('completes command names: ediv ex → exec', async () => {
      expect(await bashComplete('ediv', 'ex')).to.deep.equal(['exec']);
    });

    it('completes subcommands: ediv cluster → up down status check', async () => {
      expect((await bashComplete('ediv', 'cluster', '')).sort()).to.deep.equal(['check', 'down', 'status', 'up']);
    });

    it("completes a command's options: ediv exec --", async () => {
      const got = await bashComplete('ediv', 'exec', '--');
      expect(got).to.include.members(['--vm', '--host', '--state', '--json', '--accept-new-host-keys', '--help']);
      expect(got.every((o) => o.startsWith('--'))).to.equal(true);
      expect(await bashComplete('ediv', 'cluster', 'up', '--l')).to.deep.equal(['--local']);
    });

    it("completes a lab's exec sequences: ediv exec tutorial", async () => {
      expect((await bashComplete('ediv', 'exec', 'tutorial', '')).sort()).to.deep.equal(['all', 'conf', 'start', 'step1', 'step2']);
      expect((await bashComplete('ediv', 'exec', 'tutorial', '--vm', 'r1', 'st')).sort()).to.deep.equal(['start', 'step1', 'step2']);
    });

    it("completes a lab's VMs after --vm, also the next of a comma list", async () => {
      expect((await bashComplete('ediv', 'exec', 'tutorial', '--vm', '')).sort()).to.deep.equal(['h1', 'r1', 'r2']);
      expect((await bashComplete('ediv', 'exec', 'tutorial', '--vm', 'r1,')).sort()).to.deep.equal(['r1,h1', 'r1,r1', 'r1,r2']);
      expect((await bashComplete('ediv', 'undeploy', 'tutorial', '--host', 'host')).sort()).to.deep.equal(['host1', 'host2']);
    });

    it('completes lab names where a command takes one, hostile names literally, running none of them', async () => {
      const labs = ['tutorial', ...HOSTILE].sort();
      expect((await bashComplete('ediv', 'status', '')).sort()).to.deep.equal(labs);
      expect((await bashComplete('ediv', 'undeploy', 'x$')).sort()).to.deep.equal([HOSTILE[0]]);
      expect(await bashComplete('ediv', 'exec', 'tu')).to.deep.equal(['tutorial']);
      expect(readdirSync(path.join(dir, 'cwd'))).to.not.include('pwned');
    });

    it('reads the state directory given with --state', async () => {
      expect(await bashComplete('ediv', 'exec', '--state', stateB, '')).to.deep.equal(['other']);
      expect(await bashComplete('ediv', 'exec', '--state', stateB, 'other', '--vm', '')).to.deep.equal(['o1']);
    });

    it('runs the ediv that was typed: bin/ediv by its path; nothing (and no noise) when it cannot run', async () => {
      expect(await bashComplete(edivBin, 'exec', 'tutorial', '--vm', 'h')).to.deep.equal(['h1']);
      expect(await bashComplete(path.join(dir, 'no-such-ediv'), 'status', '')).to.deep.equal([]);
      expect(await bashComplete(path.join(dir, 'no-such-ediv'), 'cl')).to.deep.equal(['cluster']);
    });

    it('completes file names for scenario files and file options, directories for directory options', async () => {
      expect((await bashComplete('ediv', 'deploy', 'sc')).sort()).to.deep.equal(['scenario.xml', 'scenarios', 'scripts']);
      expect(await bashComplete('ediv', 'validate', 'scenario.xml', '--restrictions', 'r')).to.deep.equal(['restrictions.xml']);
      expect(await bashComplete('ediv', 'plan', 'scenario.xml', '--cluster', 'cl')).to.deep.equal(['cluster.yaml']);
      expect(await bashComplete('ediv', 'plan', 'scenario.xml', '--cluster', '=', 'cl'), '--cluster=cl').to.deep.equal(['cluster.yaml']);
      expect((await bashComplete('ediv', 'plan', 'scenario.xml', '--out', 's')).sort()).to.deep.equal(['scenarios', 'scripts']);
    });

    it('completes choices, and nothing for a value it cannot know', async () => {
      expect((await bashComplete('ediv', 'completion', '')).sort()).to.deep.equal(['bash', 'zsh']);
      expect(await bashComplete('ediv', 'cluster', 'up', '--local', '')).to.deep.equal([]);
    });
  });

  describe('the lister (ediv completion --list)', () => {
    const list = (args: string[], state: string) => execa(nodeBin, [edivBin, 'completion', '--list', ...args], { env: { ...env, EDIV_STATE_DIR: state }, reject: false });

    it('prints one name a line', async () => {
      const r = await list(['vm', '--lab', 'tutorial'], stateA);
      expect([r.exitCode, r.stdout, r.stderr]).to.deep.equal([0, 'h1\nr1\nr2', '']);
    });

    it('prints nothing, and no error, on a store it cannot read or where there is none (creating none)', async () => {
      const bad = path.join(dir, 'state-bad');
      mkdirSync(bad);
      writeFileSync(path.join(bad, STATE_FILE), 'not a database'.repeat(100));
      const r = await list(['lab'], bad);
      expect([r.exitCode, r.stdout, r.stderr]).to.deep.equal([0, '', '']);
      const none = path.join(dir, 'state-none');
      const n = await list(['seq', '--lab', 'tutorial'], none);
      expect([n.exitCode, n.stdout, n.stderr]).to.deep.equal([0, '', '']);
      expect(existsSync(none)).to.equal(false);
    });

    it('without a shell or --list is bad input (exit 2)', async () => {
      const r = await execa(nodeBin, [edivBin, 'completion'], { env, reject: false });
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.match(/bash\|zsh/);
    });
  });

  describe('zsh', () => {
    let zshScript: string;
    before(async function () {
      if (!existsSync(ZSH)) {
        console.log(`      (skipped: ${ZSH} is not installed)`);
        this.skip();
      }
      const r = await execa(nodeBin, [edivBin, 'completion', 'zsh'], { env });
      zshScript = path.join(dir, '_ediv');
      writeFileSync(zshScript, r.stdout);
    });

    it('is accepted by zsh -n', async () => {
      const r = await execa(ZSH, ['-n', zshScript], { reject: false });
      expect([r.exitCode, r.stderr]).to.deep.equal([0, '']);
    });

    // zsh's completion builtins work only inside a completion widget: these stand-ins print what
    // would be offered (compadd filtering by PREFIX as zsh does), the rest is the real script.
    const ZSH_HARNESS = `
compdef() { : }
compadd() {
  local -a c; local x
  [[ $1 == -- ]] && shift
  if [[ $1 == -a ]]; then c=(\${(P)2}); else c=("$@"); fi
  for x in $c; do [[ $x == \${PREFIX}* ]] && print -r -- "$IPREFIX$x"; done
}
compset() { local sep=\${2#\\*}; [[ $PREFIX == *$sep* ]] || return 1; IPREFIX+=\${PREFIX%$sep*}$sep; PREFIX=\${PREFIX##*$sep} }
_files() { print -r -- "<files>" }
_directories() { print -r -- "<directories>" }
source $1; shift
words=("$@"); CURRENT=$#; PREFIX=\${words[CURRENT]}; IPREFIX=
_ediv`;

    async function zshComplete(...words: string[]): Promise<string[]> {
      const r = await execa(ZSH, ['-f', '-c', ZSH_HARNESS, 'harness', zshScript, ...words], { env, cwd: path.join(dir, 'cwd'), reject: false });
      expect(r.stderr, `stderr of ${words.join(' ')}`).to.equal('');
      return r.stdout === '' ? [] : r.stdout.split('\n');
    }

    it('walks the same tables: commands, options, labs, sequences, VMs, files', async () => {
      expect((await zshComplete('ediv', 'cluster', '')).sort()).to.deep.equal(['check', 'down', 'status', 'up']);
      expect(await zshComplete('ediv', 'exec', '--ho')).to.deep.equal(['--host']);
      expect((await zshComplete('ediv', 'exec', 'tutorial', '')).sort()).to.deep.equal(['all', 'conf', 'start', 'step1', 'step2']);
      expect((await zshComplete('ediv', 'exec', 'tutorial', '--vm', 'r1,')).sort()).to.deep.equal(['r1,h1', 'r1,r1', 'r1,r2']);
      expect((await zshComplete('ediv', 'status', '')).sort()).to.deep.equal(['tutorial', ...HOSTILE].sort());
      expect(await zshComplete('ediv', 'deploy', 'x.xml', '--cluster=')).to.deep.equal(['<files>']);
      expect(readdirSync(path.join(dir, 'cwd'))).to.not.include('pwned');
    });
  });
});
