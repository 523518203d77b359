// The bad-input corpus: each case is a clear error naming the file (and line/column where
// there is one), exit code 2, no stack trace, in bounded time and memory — through the
// library and through `ediv validate`. The cases are generated into a temp dir removed after.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseScenarioFile } from '../../../src/scenario/index.ts';
import { InputError } from '../../../src/common/errors.ts';
import { edivRoot } from '../../../src/common/paths.ts';

const vnxDir = path.resolve(edivRoot, '../shared/third-party/vnx');
const nodeBin = path.join(edivRoot, 'node_modules', '.bin', 'node');
const SECRET = 'ediv-secret-marker-7f3a';

interface Case {
  name: string;
  file: string;
  /** Write the case's file; returns nothing. */
  make(p: string): void;
  line?: number;
  column?: number;
  message: RegExp;
}

const vnx = (body: string) =>
  `<?xml version="1.0"?>\n<vnx>\n  <global><version>2.0</version><scenario_name>bad</scenario_name></global>\n` +
  `  <net name="Net0" mode="virtual_bridge"/>\n${body}\n</vnx>\n`;

function billionLaughs(): string {
  let dtd = '  <!ENTITY lol0 "lol">\n';
  for (let i = 1; i <= 12; i++) dtd += `  <!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">\n`;
  return `<?xml version="1.0"?>\n<!DOCTYPE vnx [\n${dtd}]>\n<vnx><global><version>&lol12;</version></global></vnx>\n`;
}

const cases: Case[] = [
  {
    name: 'malformed XML (mismatched tag)',
    file: 'malformed.xml',
    make: (p) => writeFileSync(p, vnx('  <vm type="lxc" name="a">\n    <if id="1" net="Net0">\n  </vm>')),
    line: 7,
    column: 3,
    message: /closing tag <\/vm> does not match <if> opened at line 6, column 5/,
  },
  {
    name: 'an entity-expansion bomb',
    file: 'bomb.xml',
    make: (p) => writeFileSync(p, billionLaughs()),
    line: 17,
    message: /entity bomb/,
  },
  {
    name: 'an external entity pointing at a local file',
    file: 'xxe.xml',
    make: (p) => {
      writeFileSync(path.join(path.dirname(p), 'secret.txt'), SECRET);
      const url = `file://${path.join(path.dirname(p), 'secret.txt')}`;
      writeFileSync(
        p,
        `<?xml version="1.0"?>\n<!DOCTYPE vnx [\n  <!ENTITY xxe SYSTEM "${url}">\n  <!ENTITY pw SYSTEM "file:///etc/passwd">\n]>\n` +
          `<vnx><global><version>2.0</version><scenario_name>\n&xxe;&pw;</scenario_name></global></vnx>\n`,
      );
    },
    line: 7,
    column: 1,
    message: /external entity &xxe; \(SYSTEM "file:\/\/.*secret\.txt", declared at line 3\) refused/,
  },
  {
    name: 'an interface on an undeclared net',
    file: 'undeclared-net.xml',
    make: (p) => writeFileSync(p, vnx('  <vm type="lxc" name="a">\n    <if id="1" net="Net9"><ipv4>10.0.0.1/24</ipv4></if>\n  </vm>')),
    line: 6,
    column: 5,
    message: /interface 1 is on net "Net9", which is not declared/,
  },
  {
    name: 'duplicate VM names',
    file: 'duplicate-vm.xml',
    make: (p) => writeFileSync(p, vnx('  <vm type="lxc" name="a"/>\n  <vm type="lxc" name="a"/>')),
    line: 6,
    column: 3,
    message: /VM name "a" is used twice \(first at line 5\)/,
  },
  {
    name: 'a VM name with shell metacharacters',
    file: 'shell-name.xml',
    make: (p) => writeFileSync(p, vnx('  <vm type="lxc" name="a;$(reboot)"/>')),
    line: 5,
    column: 3,
    message: /VM name "a;\$\(reboot\)" is not allowed/,
  },
  {
    name: 'an empty file',
    file: 'empty.xml',
    make: (p) => writeFileSync(p, ''),
    message: /file is empty/,
  },
  {
    name: 'a binary file',
    file: 'binary.xml',
    make: (p) => writeFileSync(p, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe])),
    message: /binary file \(NUL byte at offset 7\)/,
  },
  {
    name: 'a 50 MB file',
    file: 'huge.xml',
    make: (p) => {
      const fd = openSync(p, 'w');
      const chunk = Buffer.alloc(1024 * 1024, '<vm type="lxc" name="x"/>\n');
      try {
        writeSync(fd, '<vnx>\n');
        for (let i = 0; i < 50; i++) writeSync(fd, chunk);
        writeSync(fd, '</vnx>\n');
      } finally {
        closeSync(fd);
      }
    },
    message: /file is too large \(50\.0 MB; the limit is 20\.0 MB\)/,
  },
];

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `fn` over `items` with at most `limit` at a time (each CLI run is a whole process). */
async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Runs `ediv validate` with a bounded heap, so a parser that blew up memory would fail. */
function runValidate(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(nodeBin, [path.join(edivRoot, 'bin', 'ediv'), 'validate', ...args], {
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=128' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

describe('bad input: scenario files (library and `ediv validate`)', function () {
  this.timeout(120000);
  let dir: string;
  const cli = new Map<string, { json: CliResult; text?: CliResult }>();
  // The text form is also run for these (the JSON form for every case).
  const textToo = new Set(['malformed XML (mismatched tag)', 'an external entity pointing at a local file', 'a 50 MB file']);

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-bad-'));
    for (const c of cases) c.make(path.join(dir, c.file));
    await pool(cases, 3, async (c) => {
      const file = path.join(dir, c.file);
      const json = await runValidate([file, '--json']);
      cli.set(c.name, { json, text: textToo.has(c.name) ? await runValidate([file]) : undefined });
    });
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const c of cases) {
    describe(c.name, () => {
      it('library: InputError with file, line, column and message, fast', async () => {
        const file = path.join(dir, c.file);
        const t0 = performance.now();
        let err: unknown;
        try {
          await parseScenarioFile(file);
        } catch (e) {
          err = e;
        }
        expect(performance.now() - t0).to.be.below(2000);
        expect(err).to.be.instanceOf(InputError);
        const p = (err as InputError).problems.find((x) => c.message.test(x.message));
        expect(p, (err as Error).message).to.not.equal(undefined);
        expect(p!.loc.file).to.equal(file);
        if (c.line !== undefined) expect(p!.loc.line).to.equal(c.line);
        if (c.column !== undefined) expect(p!.loc.column).to.equal(c.column);
        expect((err as Error).message).to.not.include(SECRET);
        expect((err as Error).message).to.not.include('root:x:0:0');
      });

      it('CLI --json: exit 2, {ok:false, problems:[{file,line,column,message}]}, no stack trace', () => {
        const r = cli.get(c.name)!.json;
        expect(r.code, r.stderr).to.equal(2);
        const doc = JSON.parse(r.stdout) as { ok: boolean; problems: { file: string; line?: number; column?: number; message: string }[] };
        expect(doc.ok).to.equal(false);
        const p = doc.problems.find((x) => c.message.test(x.message));
        expect(p, r.stdout).to.not.equal(undefined);
        expect(p!.file).to.equal(path.join(dir, c.file));
        if (c.line !== undefined) expect(p!.line).to.equal(c.line);
        if (c.column !== undefined) expect(p!.column).to.equal(c.column);
        expect(r.stdout + r.stderr).to.not.match(/\n\s+at .+\(.*:\d+:\d+\)/);
        expect(r.stdout + r.stderr).to.not.include(SECRET);
        expect(r.ms).to.be.below(60000); // a whole CLI process on a shared machine; the library bound is above
      });

      if (!textToo.has(c.name)) return;
      it('CLI text: exit 2, "file:line:column: message" on stderr, no stack trace', () => {
        const r = cli.get(c.name)!.text!;
        expect(r.code, r.stderr).to.equal(2);
        const where = path.join(dir, c.file) + (c.line !== undefined ? `:${c.line}` : '') + (c.column !== undefined ? `:${c.column}` : '');
        expect(r.stderr).to.include(where);
        expect(r.stderr).to.match(c.message);
        expect(r.stderr).to.not.match(/\n\s+at .+:\d+:\d+/);
        expect(r.stdout).to.equal('');
      });
    });
  }
});

describe('`ediv validate` on good input', function () {
  this.timeout(120000);
  const files = [
    '01-simple_lxc_ubuntu.xml',
    '02-tutorial_lxc_ubuntu.xml',
    '02b-tutorial_ubuntu.xml',
    '03-ediv_testing-tutorial_root2_all.xml',
    '04-vnuml18-s21seclabsvirtual-v02.xml',
  ];
  const results = new Map<string, CliResult>();

  before(async () => {
    await pool(files, 3, async (f) => {
      results.set(f, await runValidate([path.join(vnxDir, f), '--json']));
    });
  });

  for (const f of files) {
    it(`${f} validates with exit 0 and a JSON summary`, () => {
      const r = results.get(f)!;
      expect(r.code, r.stderr + r.stdout).to.equal(0);
      const doc = JSON.parse(r.stdout) as { ok: boolean; dialect: string; vms: unknown[]; nets: unknown[]; sequences: unknown[] };
      expect(doc.ok).to.equal(true);
      expect(doc.dialect).to.equal(f.startsWith('04') ? 'vnuml' : 'vnx');
      expect(doc.vms.length).to.be.above(0);
      expect(doc.nets.length).to.be.above(0);
    });
  }

  it('summarizes with the cluster and restriction files, in text', async () => {
    // The EDIV restriction example names routers R1..R6 and nets of a BGP lab; build that scenario.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-good-'));
    try {
      const vms = ['R1', 'R2', 'R3', 'R4', 'R5', 'R6'].map((n) => `  <vm type="lxc" name="${n}"><if id="1" net="AS1-AS4"/></vm>`).join('\n');
      const file = path.join(dir, 'bgp.xml');
      writeFileSync(file, `<vnx><global><version>2.0</version><scenario_name>bgp</scenario_name><cmd-seq seq="all">start</cmd-seq></global>\n` +
        `  <net name="AS1-AS4" mode="virtual_bridge"/>\n${vms.replace('<vm type="lxc" name="R1">', '<vm type="lxc" name="R1"><exec seq="start" type="verbatim">true</exec>')}\n</vnx>\n`);
      const cluster = path.join(dir, 'cluster.yaml');
      writeFileSync(cluster, 'backplane: vxlan\nids: {first: 5000, last: 5099}\nhosts:\n' +
        '  - {name: kofy, address: kofy.dit.upm.es, trunk: eth1}\n  - {name: zermat, address: zermat.dit.upm.es, trunk: eth1}\n');
      const r = await runValidate([file, '--cluster', cluster, '--restrictions', path.join(vnxDir, '03d-ediv-restriction-file-bgp.xml')]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include('valid VNX 2.0 scenario "bgp"');
      expect(r.stdout).to.match(/VMs \(6\):/);
      expect(r.stdout).to.match(/exec sequences \(1\):\n {4}start: R1/);
      expect(r.stdout).to.match(/cmd-seqs \(1\):\n {4}all = start/);
      expect(r.stdout).to.match(/cluster .*cluster\.yaml \(yaml\): 2 host\(s\) kofy, zermat; ids 5000-5099; backplane vxlan/);
      expect(r.stdout).to.match(/restrictions.*1 vm_deploy_at, 1 net_deploy_at, 1 affinity, 2 antiaffinity, 0 net_deploy_together/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing file is bad input (exit 2); --help explains the command (exit 0)', async () => {
    const [missing, help] = await Promise.all([runValidate(['/nonexistent/lab.xml']), runValidate(['--help'])]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/\/nonexistent\/lab\.xml: cannot read the file: no such file or directory/);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('Exit codes: 0 valid, 2 invalid input, 1 anything else.');
    expect(help.stdout).to.include('--restrictions <file>');
  });
});
