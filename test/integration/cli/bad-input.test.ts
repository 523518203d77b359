// The bad-input corpus, scenario files (the first cases; the other classes are in
// bad-input-*.test.ts, all through test/helpers/bad-input.ts): each case is a clear error naming
// the file (and line/column where there is one), exit code 2, no stack trace, in bounded time and
// memory — through the library and through `ediv validate`. The cases are generated into a temp
// dir removed after. Also: the text form of a few refusals, and good input.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SECRET, badInputSuite, put, runValidate, vnx, type BadInputCase } from '../../helpers/bad-input.ts';
import { haveThirdParty, itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

// The real VNX scenarios and EDIV's restriction example, read in place from ../shared/third-party/vnx (those tests are skipped, saying so, without it).
const vnxDir = thirdPartyPath('vnx');

function billionLaughs(): string {
  let dtd = '  <!ENTITY lol0 "lol">\n';
  for (let i = 1; i <= 12; i++) dtd += `  <!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">\n`;
  return `<?xml version="1.0"?>\n<!DOCTYPE vnx [\n${dtd}]>\n<vnx><global><version>&lol12;</version></global></vnx>\n`;
}

/** A file of `mb` MB of VMs. */
function hugeFile(p: string, mb: number): void {
  const fd = openSync(p, 'w');
  const chunk = Buffer.alloc(1024 * 1024, '<vm type="lxc" name="x"/>\n');
  try {
    writeSync(fd, '<vnx>\n');
    for (let i = 0; i < mb; i++) writeSync(fd, chunk);
    writeSync(fd, '</vnx>\n');
  } finally {
    closeSync(fd);
  }
}

const scenario = (name: string, text: string | Buffer) => (d: string) => ({ scenario: put(d, name, text) });

export const scenarioCases: BadInputCase[] = [
  {
    name: 'malformed XML (mismatched tag)',
    make: scenario('malformed.xml', vnx('  <vm type="lxc" name="a">\n    <if id="1" net="Net0">\n  </vm>')),
    line: 7,
    column: 3,
    message: /closing tag <\/vm> does not match <if> opened at line 6, column 5/,
  },
  { name: 'an entity-expansion bomb', make: scenario('bomb.xml', billionLaughs()), line: 17, message: /entity bomb/ },
  {
    name: 'an external entity pointing at a local file',
    make: (d) => {
      const secret = put(d, 'secret.txt', SECRET);
      return scenario('xxe.xml',
        `<?xml version="1.0"?>\n<!DOCTYPE vnx [\n  <!ENTITY xxe SYSTEM "file://${secret}">\n  <!ENTITY pw SYSTEM "file:///etc/passwd">\n]>\n` +
          `<vnx><global><version>2.0</version><scenario_name>\n&xxe;&pw;</scenario_name></global></vnx>\n`)(d);
    },
    line: 7,
    column: 1,
    message: /external entity &xxe; \(SYSTEM "file:\/\/.*secret\.txt", declared at line 3\) refused/,
  },
  {
    name: 'an interface on an undeclared net',
    make: scenario('undeclared-net.xml', vnx('  <vm type="lxc" name="a">\n    <if id="1" net="Net9"><ipv4>10.0.0.1/24</ipv4></if>\n  </vm>')),
    line: 6,
    column: 5,
    message: /interface 1 is on net "Net9", which is not declared/,
  },
  {
    name: 'duplicate VM names',
    make: scenario('duplicate-vm.xml', vnx('  <vm type="lxc" name="a"/>\n  <vm type="lxc" name="a"/>')),
    line: 6,
    column: 3,
    message: /VM name "a" is used twice \(first at line 5\)/,
  },
  {
    name: 'a VM name with shell metacharacters',
    make: scenario('shell-name.xml', vnx('  <vm type="lxc" name="a;$(reboot)"/>')),
    line: 5,
    column: 3,
    message: /VM name "a;\$\(reboot\)" is not allowed/,
  },
  { name: 'an empty file', make: scenario('empty.xml', ''), message: /file is empty/ },
  {
    name: 'a binary file',
    make: scenario('binary.xml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe])),
    line: 1,
    column: 8,
    message: /binary file \(NUL byte at offset 7\)/,
  },
  {
    name: 'a 50 MB file',
    make: (d) => {
      const p = path.join(d, 'huge.xml');
      hugeFile(p, 50);
      return { scenario: p };
    },
    message: /file is too large \(50\.0 MB; the limit is 20\.0 MB\)/,
  },
];

badInputSuite('bad input: scenario files (library and `ediv validate`)', scenarioCases);

describe('bad input: the text form', function () {
  this.timeout(120000);
  let dir = '';
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-bad-text-'))));
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const name of ['malformed XML (mismatched tag)', 'an external entity pointing at a local file', 'a 50 MB file']) {
    it(`${name}: exit 2, "file:line:column: message" on stderr, no stack trace`, async () => {
      const c = scenarioCases.find((x) => x.name === name)!;
      const caseDir = mkdtempSync(path.join(dir, 'c-'));
      const file = c.make(caseDir).scenario;
      const r = await runValidate([file]);
      expect(r.code, r.stderr).to.equal(2);
      const where = file + (c.line !== undefined ? `:${c.line}` : '') + (c.column !== undefined ? `:${c.column}` : '');
      expect(r.stderr).to.include(where);
      expect(r.stderr).to.match(c.message);
      expect(r.stderr).to.not.match(/\n\s+at .+:\d+:\d+/);
      expect(r.stderr).to.not.include(SECRET);
      expect(r.stdout).to.equal('');
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
  const results = new Map<string, Awaited<ReturnType<typeof runValidate>>>();

  before(async () => {
    if (!haveThirdParty('vnx')) return;
    await Promise.all(files.map(async (f) => results.set(f, await runValidate([path.join(vnxDir, f), '--json']))));
  });

  for (const f of files) {
    itWithThirdParty(`${f} validates with exit 0 and a JSON summary`, () => {
      const r = results.get(f)!;
      expect(r.code, r.stderr + r.stdout).to.equal(0);
      const doc = JSON.parse(r.stdout) as { ok: boolean; dialect: string; vms: unknown[]; nets: unknown[]; sequences: unknown[] };
      expect(doc.ok).to.equal(true);
      expect(doc.dialect).to.equal(f.startsWith('04') ? 'vnuml' : 'vnx');
      expect(doc.vms.length).to.be.above(0);
      expect(doc.nets.length).to.be.above(0);
    }, 'vnx');
  }

  itWithThirdParty('summarizes with the cluster and restriction files, in text', async () => {
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
  }, 'vnx');

  it('a missing file is bad input (exit 2); --help explains the command (exit 0)', async () => {
    const [missing, help] = await Promise.all([runValidate(['/nonexistent/lab.xml']), runValidate(['--help'])]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/\/nonexistent\/lab\.xml: cannot read the file: no such file or directory/);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('Exit codes: 0 valid, 2 invalid input, 1 anything else.');
    expect(help.stdout).to.include('--restrictions <file>');
  });
});
