// Cluster files as untrusted input: a cluster file names built-in segmentators only (never code),
// holds no control characters, sane finite numbers, no two entries for one agent, and its YAML
// cannot make the parser blow up (aliases, nesting, size). Every refusal is a located InputError.
import { expect } from 'chai';
import { parseClusterText } from '../../../src/controller/cluster.ts';
import { CLUSTER_BOUNDS } from '../../../src/controller/cluster-schema.ts';
import { MAX_PROBLEMS } from '../../../src/controller/cluster-schema-errors.ts';
import { YAML_LIMITS } from '../../../src/controller/cluster-source.ts';
import { expectInputError } from './expect-input-error.ts';

/** A one-host YAML cluster; `host` is added to the host's flow mapping, `top` goes first (line 1). */
const yaml = (host = '', top = '') => `${top}hosts:\n  - {name: a, address: 192.0.2.1, trunk: eth0${host}}\n`;

/** Line and column (1-based) where `needle` first occurs in `text` at or after `from`. */
function at(text: string, needle: string, from = 0): { line: number; column: number } {
  const i = text.indexOf(needle, from);
  if (i < 0) throw new Error(`${needle} not in the text`);
  const before = text.slice(0, i);
  return { line: before.split('\n').length, column: i - before.lastIndexOf('\n') };
}

describe('cluster file hardening', () => {
  describe('segmentator: built-ins only', () => {
    it('accepts every built-in and EDIV alias, in any case', () => {
      for (const name of ['round-robin', 'weighted', 'dynamic', 'constraints', 'mincut', 'RoundRobin', 'WEIGHTEDROUNDROBIN', 'dynamicweightedroundrobin']) {
        expect(parseClusterText(yaml('', `segmentator: ${name}\n`), 'c.yaml').segmentator).to.equal(name);
      }
    });

    it('refuses a data: URL, a path and a package at the value, saying plugins come from --segmentator', () => {
      for (const spec of ['"data:text/javascript,process.exit(7)"', './evil.mjs', '/tmp/evil.mjs', 'some-package', 'https://example.org/x.mjs', 'file:///tmp/x.mjs']) {
        expectInputError(() => parseClusterText(yaml('', `segmentator: ${spec}\n`), 'c.yaml'), {
          file: 'c.yaml',
          line: 1,
          column: 14,
          message: /segmentator: .* is not a built-in segmentator \(round-robin, RoundRobin, weighted, .*\); a cluster file may name only these: a plugin is code run with ediv's privileges, so it is loaded only from --segmentator/,
        });
      }
      expectInputError(() => parseClusterText('{"segmentator": "./x.mjs", "hosts": [{"name": "a", "trunk": "eth0"}]}', 'c.json'), {
        line: 1,
        column: 17,
        message: /not a built-in segmentator/,
      });
    });
  });

  describe('strings: no control characters, bounded length', () => {
    it('a raw NUL byte is a binary file, located', () => {
      const text = 'hosts:\n  - {name: a, trunk: e\u0000th0}\n';
      expectInputError(() => parseClusterText(text, 'c.yaml'), { ...at(text, '\u0000'), message: /binary file \(a NUL byte here\)/ });
    });

    it('a raw control character (ESC, a C1 control, a bidi override) anywhere in the text, located', () => {
      for (const [c, name] of [['\u001b', 'U\\+001B \\(ESC\\)'], ['\u0085', 'U\\+0085'], ['\u202e', 'U\\+202E']] as const) {
        const text = `hosts:\n  - {name: a, trunk: eth0, labels: {x: "a${c}b"}}\n`;
        expectInputError(() => parseClusterText(text, 'c.yaml'), { ...at(text, c), message: new RegExp(`the control character ${name} has no place in a cluster file`) });
      }
    });

    it('escaped control characters in values (YAML "\\0", JSON "\\u0000"), at the value, never echoed', () => {
      // [text, file, where the value starts, message]
      const cases: [string, string, string, RegExp][] = [
        [yaml(', ssh: {user: "ro\\0ot"}'), 'c.yaml', '"ro', /hosts\[0\]\.ssh\.user contains the control character U\+0000 \(NUL\)/],
        [yaml(', agentCommand: [ediv, "--x\\e[31m"]'), 'c.yaml', '"--x', /hosts\[0\]\.agentCommand\[1\] contains the control character U\+001B \(ESC\)/],
        [yaml(', agentStateDir: "/var/lib/\\tx"'), 'c.yaml', '"/var', /hosts\[0\]\.agentStateDir contains the control character U\+0009 \(tab\)/],
        ['{"hosts": [{"name": "a", "trunk": "eth0", "agentStateDir": "/x\\u0000y"}]}', 'c.json', '"/x', /agentStateDir contains the control character U\+0000/],
        ['{"hosts": [{"name": "a\\u0000b", "trunk": "eth0"}]}', 'c.json', '"a\\', /hosts\[0\]\.name contains the control character U\+0000/],
        ['{"hosts": [{"name": "a", "address": "192.0.2.1\\u0000", "trunk": "eth0"}]}', 'c.json', '"192', /hosts\[0\]\.address contains/],
        ['{"hosts": [{"name": "a", "trunk": "eth0\\n"}]}', 'c.json', '"eth0', /hosts\[0\]\.trunk contains the control character U\+000A \(newline\)/],
      ];
      for (const [text, file, value, message] of cases) {
        const problems = expectInputError(() => parseClusterText(text, file), { file, ...at(text, value), message });
        for (const p of problems) expect(p.message).to.not.match(/[\u0000-\u001f]/);
      }
    });

    it('a control character in a key, at the key', () => {
      const text = yaml(', labels: {"r\\u001back": r1}');
      expectInputError(() => parseClusterText(text, 'c.yaml'), { ...at(text, '"r'), message: /a key in hosts\[0\]\.labels contains the control character U\+001B/ });
    });

    it('a string longer than 4096 characters', () => {
      const text = yaml(`, ssh: {user: ${'r'.repeat(5000)}}`);
      expectInputError(() => parseClusterText(text, 'c.yaml'), { ...at(text, 'rrr'), message: /hosts\[0\]\.ssh\.user is longer than 4096 characters/ });
    });
  });

  describe('numbers: finite, within bounds', () => {
    const refused: [string, RegExp][] = [
      [', cpu: 1.79e308', /hosts\[0\]\.cpu must be <= 1000000 \(found 1\.79e\+308\)/],
      [', cpu: 5e-324', /hosts\[0\]\.cpu must be >= 0\.001 \(found 5e-324\)/],
      [', cpu: 0', /hosts\[0\]\.cpu must be >= 0\.001/],
      [', cpu: -1', /hosts\[0\]\.cpu must be >= 0\.001/],
      [', cpu: .nan', /hosts\[0\]\.cpu must be a number \(found NaN\)/],
      [', cpu: .inf', /hosts\[0\]\.cpu must be a number \(found a number too large to represent\)/],
      [', cpu: 1e400', /hosts\[0\]\.cpu must be a number \(found a number too large to represent\)/],
      [', memMB: 1099511627776', /hosts\[0\]\.memMB must be <= 1073741824/],
      [', maxVMs: 1000001', /hosts\[0\]\.maxVMs must be <= 1000000/],
      [', maxVMs: -.inf', /hosts\[0\]\.maxVMs must be a whole number \(found a negative number too large to represent\)/],
    ];
    for (const [host, message] of refused) {
      it(`refuses${host.slice(1)}, at the value`, () => {
        const text = yaml(host);
        const field = at(text, host.slice(2)); // "cpu: 0": the value follows "cpu: "
        const problems = expectInputError(() => parseClusterText(text, 'c.yaml'), { line: field.line, column: field.column + host.indexOf(': '), message });
        expect(problems).to.have.length(1);
      });
    }

    it('accepts the bounds themselves', () => {
      const { cpu, memMB, maxVMs } = CLUSTER_BOUNDS;
      const c = parseClusterText(
        `hosts:\n  - {name: a, trunk: eth0, cpu: ${cpu.max}, memMB: ${memMB.max}, maxVMs: ${maxVMs.max}}\n  - {name: b, trunk: eth0, cpu: ${cpu.min}, memMB: 0, maxVMs: 0}\n`,
        'c.yaml',
      );
      expect(c.hosts.map((h) => [h.cpu, h.memMB, h.maxVMs])).to.deep.equal([
        [1_000_000, 1024 ** 3, 1_000_000],
        [0.001, 0, 0],
      ]);
    });

    it('JSON has no NaN or Infinity: a syntax error at the token (V8 gives no position for these)', () => {
      const cases: [string, string, RegExp][] = [
        ['{"hosts": [{"name": "a", "trunk": "eth0", "cpu": Infinity}]}', 'Infinity', /^invalid JSON: Unexpected token 'I'$/],
        ['{\n  "hosts": [\n    {"name": "a", "trunk": "eth0", "cpu": NaN}\n  ]\n}', 'NaN', /^invalid JSON: Unexpected token 'N'$/],
        ['{"hosts": [{"name": "a", "trunk": "eth0", "cpu": -Infinity}]}', 'Infinity', /^invalid JSON: No number after minus sign$/],
        ['{"hosts": [{"name": "a", "trunk": "eth0"},]}', ']', /^invalid JSON: Unexpected token ']'$/],
      ];
      for (const [text, token, message] of cases) {
        const problems = expectInputError(() => parseClusterText(text, 'c.json'), { ...at(text, token), message });
        expect(problems).to.have.length(1);
      }
    });

    it('a JSON number too large for a double', () => {
      const text = '{"hosts": [{"name": "a", "trunk": "eth0", "memMB": 1e999}]}';
      expectInputError(() => parseClusterText(text, 'c.json'), {
        ...at(text, '1e999'),
        message: /memMB must be a whole number \(found a number too large to represent\)/,
      });
    });
  });

  describe('two entries for one agent', () => {
    const two = (a: string, b: string, top = '') => `${top}hosts:\n  - {name: a, trunk: eth0${a}}\n  - {name: b, trunk: eth0${b}}\n`;

    it('refuses the same address, port and state directory, at the second address', () => {
      const text = two(', address: 192.0.2.1', ', address: 192.0.2.1');
      expectInputError(() => parseClusterText(text, 'c.yaml'), {
        ...at(text, '192.0.2.1', text.indexOf('name: b')),
        message: /host "b" is the same agent as hosts\[0\]: 192\.0\.2\.1, SSH port 22, the agent's default state directory; two hosts sharing one agent journal/,
      });
      // Written differently, the same: IPv6 spellings, DNS case and final dot, explicit default port, a trailing slash.
      const same: [string, string][] = [
        [', address: "2001:db8::1"', ', address: "2001:DB8:0:0::1"'],
        [', address: Kofy.Example.Org', ', address: kofy.example.org.'],
        [', address: 192.0.2.1', ', address: 192.0.2.1, ssh: {port: 22}'],
        [', address: 192.0.2.1, agentStateDir: /var/lib/ediv', ', address: 192.0.2.1, agentStateDir: /var/lib/ediv/'],
        [', transport: local, address: 192.0.2.1', ', transport: local, address: 192.0.2.9'],
      ];
      for (const [a, b] of same) expectInputError(() => parseClusterText(two(a, b), 'c.yaml'), { line: 3, message: /is the same agent as hosts\[0\]/ });
    });

    it('a host without an address is compared by its name', () => {
      const text = two(', address: kofy', '').replace('name: b', 'name: kofy');
      expectInputError(() => parseClusterText(text, 'c.yaml'), {
        ...at(text, 'kofy', text.indexOf('\n  - {name: kofy')),
        message: /host "kofy" is the same agent as hosts\[0\]/,
      });
    });

    it('accepts two agents on one machine: another port or another state directory', () => {
      for (const [a, b] of [
        [', address: 192.0.2.1', ', address: 192.0.2.1, ssh: {port: 2222}'],
        [', address: 192.0.2.1', ', address: 192.0.2.1, agentStateDir: /var/lib/ediv-2'],
        [', transport: local', ', transport: local, agentStateDir: /tmp/b'],
      ]) {
        expect(parseClusterText(two(a!, b!), 'c.yaml').hosts).to.have.length(2);
      }
    });
  });

  describe('YAML resource bounds', () => {
    it('an alias bomb ("billion laughs") is refused at the alias that crosses the budget', () => {
      let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
      for (let i = 1; i < 10; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
      const t0 = performance.now();
      // a0..a3 hold about 12 000 nodes, each *a3 11 111 more: the 8th alias of a4 (line 5) crosses 100 000.
      expectInputError(() => parseClusterText(text + 'hosts: []\n', 'bomb.yaml'), {
        file: 'bomb.yaml',
        line: 5,
        column: 'a4: &a4 ['.length + 1 + 7 * '*a3, '.length,
        message: /invalid YAML: expands to more than 100000 nodes/,
      });
      expect(performance.now() - t0).to.be.below(500);
    });

    it('a few aliases of a small anchor are fine (more than yaml’s own limit of 100 uses)', () => {
      const text = `x: &ssh {user: lab, port: 2222}\nhosts:\n${Array.from({ length: 150 }, (_, i) => `  - {name: h${i}, address: 192.0.2.${i + 1}, trunk: eth0}`).join('\n')}\n`;
      expectInputError(() => parseClusterText(text.replace(/trunk: eth0\}/g, 'trunk: eth0, ssh: *ssh}'), 'c.yaml'), {
        line: 1,
        column: 1,
        message: /unknown key "x" in the document/,
      });
    });

    it('an alias to a node that contains it (a cycle)', () => {
      const text = 'hosts:\n  - &h {name: a, trunk: eth0, labels: {x: *h}}\n';
      expectInputError(() => parseClusterText(text, 'c.yaml'), {
        ...at(text, '*h'),
        message: /invalid YAML: alias \*h refers to a node that contains it/,
      });
    });

    it('an alias without its anchor', () => {
      const text = 'hosts:\n  - {name: a, trunk: *t}\n';
      expectInputError(() => parseClusterText(text, 'c.yaml'), { ...at(text, '*t'), message: /alias \*t has no anchor &t before it/ });
    });

    it('too many anchors or aliases', () => {
      const anchors = `x: [${Array.from({ length: YAML_LIMITS.aliases + 1 }, (_, i) => `&a${i} 1`).join(', ')}]\nhosts: []\n`;
      expectInputError(() => parseClusterText(anchors, 'c.yaml'), { ...at(anchors, `&a${YAML_LIMITS.aliases} `), message: /more than 1000 anchors/ });
      const aliases = `x: &a 1\ny: [${Array(YAML_LIMITS.aliases + 1).fill('*a').join(', ')}]\nhosts: []\n`;
      // The 1001st alias: line 2, after "y: [" and 1000 × "*a, ".
      expectInputError(() => parseClusterText(aliases, 'c.yaml'), { line: 2, column: 5 + 4 * YAML_LIMITS.aliases, message: /more than 1000 aliases/ });
    });

    it('deep nesting, flow or block, is refused at the level that crosses the bound, quickly', () => {
      const d = YAML_LIMITS.depth;
      // [text, where the 65th level starts]: x is level 1, each bracket / indicator / indented key one more.
      const deep: [string, { line: number; column: number }][] = [
        [`x: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, { line: 1, column: 4 + d - 1 }],
        [`x: ${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`, { line: 1, column: 5 + 4 * (d - 2) }],
        [`x:\n${'- '.repeat(100_000)}1\n`, { line: 2, column: 1 + 2 * d }],
        [`x:\n${'? '.repeat(100_000)}1\n`, { line: 2, column: 1 + 2 * d }],
        [`x:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`, { line: d + 1, column: d + 1 }],
      ];
      for (const [text, where] of deep) {
        const t0 = performance.now();
        expectInputError(() => parseClusterText(`${text}hosts: []\n`, 'deep.yaml'), { ...where, message: /nested more than 64 levels deep/ });
        expect(performance.now() - t0).to.be.below(1000);
      }
      const json = `{"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "hosts": []}`;
      expectInputError(() => parseClusterText(json, 'deep.json'), { line: 1, column: 7 + d - 1, message: /invalid JSON: nested more than 64 levels deep/ });
    });

    it('an alias that nests a deep anchor deeper still', () => {
      const anchor = `${'['.repeat(40)}1${']'.repeat(40)}`;
      const text = `a: &d ${anchor}\nb: ${'['.repeat(30)}*d${']'.repeat(30)}\nhosts: []\n`;
      expectInputError(() => parseClusterText(text, 'c.yaml'), {
        ...at(text, '*d'),
        message: /alias \*d nests the document more than 64 levels deep/,
      });
    });

    it('too many tokens: a huge flat list is refused before the tree is built', () => {
      const t0 = performance.now();
      expectInputError(() => parseClusterText(`x: [${'1,'.repeat(1_500_000)}1]\nhosts: []\n`, 'c.yaml'), { line: 1, message: /more than 200000 tokens/ });
      expect(performance.now() - t0).to.be.below(1000);
    });

    it(`more than ${CLUSTER_BOUNDS.hosts} hosts, and at most ${MAX_PROBLEMS} problems listed`, () => {
      const hosts = (n: number, extra = '') => `hosts:\n${Array.from({ length: n }, (_, i) => `  - {name: h${i}, address: 192.0.${i >> 8}.${i & 255}, trunk: eth0${extra}}`).join('\n')}\n`;
      expectInputError(() => parseClusterText(hosts(CLUSTER_BOUNDS.hosts + 1), 'c.yaml'), { line: 2, column: 3, message: /hosts must list at most 1024 item\(s\)/ });
      const problems = expectInputError(() => parseClusterText(hosts(300, ', cpu: 0'), 'c.yaml'), { line: 2, message: /cpu must be >= 0\.001/ }, { line: 52, message: /and 250 more problem\(s\) from here on/ });
      expect(problems).to.have.length(MAX_PROBLEMS + 1);
    });
  });
});
