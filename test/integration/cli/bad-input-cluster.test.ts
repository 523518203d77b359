// The bad-input corpus, cluster files (YAML, JSON, EDIV cluster.conf) and restriction files,
// through test/helpers/bad-input.ts: each case is refused with exit 2 at the right file, line and
// column, with no stack trace, in bounded time (library: 2 s) and memory (CLI: a 128 MB heap).
// Only `ediv validate` runs; the clusters use documentation addresses and nothing is contacted.
import { closeSync, openSync, writeSync } from 'node:fs';
import { GOOD_CLUSTER, GOOD_SCENARIO, SECRET, badInputSuite, put, vnx, type BadInputCase } from '../../helpers/bad-input.ts';

/** Line and column (1-based) of the first `needle` in `text` at or after `from`. */
function at(text: string, needle: string, from = 0): { line: number; column: number } {
  const i = text.indexOf(needle, from);
  if (i < 0) throw new Error(`${JSON.stringify(needle)} is not in the text`);
  const before = text.slice(0, i);
  return { line: before.split('\n').length, column: i - before.lastIndexOf('\n') };
}

/** A case about a cluster file `name` holding `text` (the scenario is the good one). */
const cluster = (name: string, text: string | Buffer) => (d: string) => ({ scenario: put(d, 's.xml', GOOD_SCENARIO), cluster: put(d, name, text) });

/** A case about a restriction file, checked against `scenario` and (unless `null`) the good cluster. */
const restrictions = (text: string, scenario = GOOD_SCENARIO, clusterText: string | null = GOOD_CLUSTER) => (d: string) => ({
  scenario: put(d, 's.xml', scenario),
  ...(clusterText === null ? {} : { cluster: put(d, 'cluster.yaml', clusterText) }),
  restrictions: put(d, 'r.xml', text),
});

/** A two-host YAML cluster whose first host has `extra` in its flow mapping (line 4). */
const hostWith = (extra: string) => GOOD_CLUSTER.replace('trunk: eth1}', `trunk: eth1${extra}}`);
/** Where a host field's value starts in hostWith(extra). */
const valueOf = (extra: string, key: string) => {
  const text = hostWith(extra);
  const k = at(text, `${key}: `, text.indexOf('kofy'));
  return { line: k.line, column: k.column + key.length + 2 };
};

const conf = (cluster: string, host = 'ifname = eth1') => `[vlan]\nfirst = 100\nlast = 199\n[cluster]\nhost = kofy\n${cluster}\n[kofy]\n${host}\n`;
const rules = (body: string) => `<?xml version="1.0"?>\n<deployment_restrictions>\n${body}\n</deployment_restrictions>\n`;

// --- texts whose positions the cases compute ----------------------------------------------------

const STATE_PASSWORD = `state: "postgresql://ediv:hunter2@db.example.org/ediv"\n${GOOD_CLUSTER}`;

const BILLION_LAUGHS = (() => {
  let t = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i <= 9; i++) t += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  return t + GOOD_CLUSTER;
})();
const SELF_ALIAS = 'hosts:\n  - &h {name: kofy, address: 192.0.2.1, trunk: eth1, labels: {loop: *h}}\n';
const DEEP_FLOW = `${GOOD_CLUSTER}x: ${'['.repeat(500_000)}${']'.repeat(500_000)}\n`;
const DEEP_BLOCK = `${GOOD_CLUSTER}x:\n${'- '.repeat(500_000)}deep\n`;
const DEEP_JSON = `{"hosts": [{"name": "kofy", "trunk": "eth1", "labels": {"x": ${'['.repeat(300_000)}${']'.repeat(300_000)}}}]}\n`;
const MANY_ALIASES = `anchor: &a 1\nlist: [${Array(1001).fill('*a').join(', ')}]\n${GOOD_CLUSTER}`;
const TOKENS = `${GOOD_CLUSTER}x: [${'1,'.repeat(1_600_000)}1]\n`;
const NUL_RAW = GOOD_CLUSTER.replace('name: zermat', 'name: zer\u0000mat');
const ESC_RAW = GOOD_CLUSTER.replace('trunk: eth1}\n  - {name: zermat', 'trunk: "eth1\u001b[2J"}\n  - {name: zermat');
const BIDI_RAW = hostWith(', labels: {owner: "admin\u202e"}');
const DUP_AGENT = GOOD_CLUSTER.replace('address: 192.0.2.2', 'address: 192.0.2.1');
const DUP_NAME = GOOD_CLUSTER.replace('name: zermat', 'name: kofy');
const DUP_KEY_YAML = `${GOOD_CLUSTER}backplane: vlan\n`;
const DUP_KEY_JSON = '{\n  "hosts": [{"name": "kofy", "trunk": "eth1"}],\n  "hosts": [{"name": "zermat", "trunk": "eth1"}]\n}\n';
const JSON_NUL = '{\n  "hosts": [\n    {"name": "kofy", "trunk": "eth1", "agentStateDir": "/var/lib/ediv\\u0000/../../etc"}\n  ]\n}\n';
const JSON_HUGE_NUMBER = '{\n  "hosts": [\n    {"name": "kofy", "trunk": "eth1", "memMB": 1e999}\n  ]\n}\n';
const JSON_INFINITY = '{\n  "hosts": [\n    {"name": "kofy", "trunk": "eth1", "cpu": Infinity}\n  ]\n}\n';
const JSON_SEGMENTATOR = '{\n  "segmentator": "./node_modules/.cache/x.mjs",\n  "hosts": [{"name": "kofy", "trunk": "eth1"}]\n}\n';
const YAML_SEGMENTATOR = `segmentator: "data:text/javascript,import('node:fs').then(f=>f.writeFileSync('/tmp/${SECRET}','x'))"\n${GOOD_CLUSTER}`;
const YAML_PACKAGE = `segmentator: left-pad\n${GOOD_CLUSTER}`;
const CONF_SEGMENTATOR = conf('default_segmentation = data:text/javascript,process.exit(0)');
const CONF_CONSTRUCTOR = conf('', 'ifname = eth1\nconstructor = 1');
const CONF_PROTO = conf('__proto__ = polluted');
const CONF_TOSTRING = `[vlan]\nfirst = 100\nlast = 199\ntoString = 7\n[cluster]\nhost = kofy\n[kofy]\nifname = eth1\n`;
const CONF_PROTO_HOST = '[cluster]\nhost = __proto__\n[__proto__]\nifname = eth1\n';
const CONF_CONTROL = conf('', 'ifname = eth1\u0007');
const CONF_CR = conf('', 'ifname = eth1\rmem = 1');
const CONF_HUGE_NUMBER = conf('', `ifname = eth1\ncpu = 1${'0'.repeat(400)}`);
const CONF_HOSTS = `[cluster]\n${Array.from({ length: 1100 }, (_, i) => `host = h${i}`).join('\n')}\n`;
const PROTO_KEY_YAML = `__proto__: {polluted: true}\n${GOOD_CLUSTER}`;
const CONSTRUCTOR_KEY_YAML = hostWith(', constructor: {name: x}');
const LONG_USER = hostWith(`, ssh: {user: ${'u'.repeat(10_000)}}`);
const WRONG_TYPES = GOOD_CLUSTER.replace('ids: {first: 5000, last: 5099}', 'ids: "5000-5099"');
const HOSTS_NOT_LIST = 'hosts: {name: kofy, trunk: eth1}\n';
const PORT_RANGE = hostWith(', ssh: {port: 70000}');

/** 400 VMs; 400 <affinity> and 400 <antiaffinity> groups of 250 VMs each, overlapping (≈ 2.6 MB). */
const BIG_SCENARIO = vnx(Array.from({ length: 400 }, (_, i) => `  <vm type="lxc" name="v${i}"><if id="1" net="Net0"/></vm>`).join('\n'));
const BIG_RULES = (() => {
  const group = (tag: string, i: number) => `<${tag}>${Array.from({ length: 250 }, (_, j) => `<vm>v${(i * 7 + j) % 400}</vm>`).join('')}</${tag}>`;
  return rules([...Array.from({ length: 400 }, (_, i) => group('affinity', i)), ...Array.from({ length: 400 }, (_, i) => group('antiaffinity', i))].join('\n'));
})();
const UNKNOWN_VM = rules('  <vm_deploy_at vm="a" host="kofy"/>\n  <affinity><vm>a</vm><vm>ghost</vm></affinity>');
const UNKNOWN_HOST = rules('  <vm_deploy_at vm="a" host="nowhere.example.org"/>');
const UNKNOWN_NET = rules('  <net_deploy_at net="Net7" host="kofy"/>');
const PINNED_TWICE = rules('  <vm_deploy_at vm="a" host="kofy"/>\n  <vm_deploy_at vm="a" host="192.0.2.2"/>');
const TOGETHER_APART = rules('  <affinity><vm>a</vm><vm>b</vm></affinity>\n  <antiaffinity><vm>b</vm><vm>a</vm></antiaffinity>');
const APART_THREE = vnx('  <vm type="lxc" name="a"/>\n  <vm type="lxc" name="b"/>\n  <vm type="lxc" name="c"/>');
const TOO_APART = rules('  <antiaffinity><vm>a</vm><vm>b</vm><vm>c</vm></antiaffinity>');
const PROTO_RULES = rules('  <affinity><vm>__proto__</vm><vm>constructor</vm></affinity>');

/** Writes `mb` MB of YAML comment lines (a file over the 4 MB bound, made without holding it in memory). */
function hugeCluster(d: string, name: string, mb: number, limit: string): string {
  const p = put(d, name, limit);
  const fd = openSync(p, 'a');
  try {
    const chunk = Buffer.alloc(1024 * 1024, '# padding padding padding padding\n');
    for (let i = 0; i < mb; i++) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return p;
}

export const clusterCases: BadInputCase[] = [
  // 1. A cluster file names built-in segmentators only.
  {
    name: 'segmentator: a data: URL that would run code',
    make: cluster('data-url.yaml', YAML_SEGMENTATOR),
    line: 1,
    column: 14,
    message: /^segmentator: "data:text\/javascript,import\('node:fs'\).*\.\.\. is not a built-in segmentator \(round-robin, RoundRobin, .*\); a cluster file may name only these: a plugin is code run with ediv's privileges, so it is loaded only from --segmentator on the command line$/,
  },
  { name: 'segmentator: a plugin path in JSON', make: cluster('path.json', JSON_SEGMENTATOR), ...at(JSON_SEGMENTATOR, '"./node'), message: /^segmentator: "\.\/node_modules\/\.cache\/x\.mjs" is not a built-in segmentator/ },
  { name: 'segmentator: a package name', make: cluster('package.yaml', YAML_PACKAGE), line: 1, column: 14, message: /^segmentator: "left-pad" is not a built-in segmentator/ },
  { name: 'cluster.conf default_segmentation: a data: URL', make: cluster('cluster.conf', CONF_SEGMENTATOR), ...at(CONF_SEGMENTATOR, 'data:'), message: /^default_segmentation: "data:text\/javascript,process\.exit\(0\)" is not a built-in segmentator/ },

  // 2. Prototype names.
  { name: 'cluster.conf: a host key named constructor', make: cluster('cluster.conf', CONF_CONSTRUCTOR), ...at(CONF_CONSTRUCTOR, 'constructor'), message: /^unknown key "constructor" in \[kofy\] \(known: host_name, mem, cpu, max_vms, max_vhost, max_vhosts, if_name, ifname\)$/ },
  { name: 'cluster.conf: a [cluster] key named __proto__', make: cluster('cluster.conf', CONF_PROTO), ...at(CONF_PROTO, '__proto__'), message: /^unknown key "__proto__" in \[cluster\]/ },
  { name: 'cluster.conf: a [vlan] key named toString', make: cluster('cluster.conf', CONF_TOSTRING), ...at(CONF_TOSTRING, 'toString'), message: /^unknown key "tostring" in \[vlan\] \(known: first, last\)$/ },
  { name: 'cluster.conf: a host and section named __proto__', make: cluster('cluster.conf', CONF_PROTO_HOST), ...at(CONF_PROTO_HOST, '__proto__'), message: /^host name "__proto__" is not allowed/ },
  { name: 'YAML: a top-level key named __proto__', make: cluster('proto.yaml', PROTO_KEY_YAML), line: 1, column: 1, message: /^unknown key "__proto__" in the document \(allowed: hosts, ids/ },
  { name: 'YAML: a host key named constructor', make: cluster('constructor.yaml', CONSTRUCTOR_KEY_YAML), ...at(CONSTRUCTOR_KEY_YAML, 'constructor'), message: /^unknown key "constructor" in hosts\[0\]/ },
  {
    name: 'restrictions naming VMs __proto__ and constructor',
    make: restrictions(PROTO_RULES),
    ...at(PROTO_RULES, '<vm>__proto__'),
    message: /^VM "__proto__" is not in scenario "bad" \(its VMs: a, b\)$/,
  },

  // 3. Restriction blow-up.
  {
    name: '400 <affinity> and 400 overlapping <antiaffinity> groups (2.6 MB)',
    make: restrictions(BIG_RULES, BIG_SCENARIO, null),
    ...at(BIG_RULES, '<vm>v0</vm>', BIG_RULES.indexOf('<antiaffinity>')),
    message: /^VMs "v0", "v1", "v2", "v3", "v4" and 245 more must be apart \(this <antiaffinity>\) and together \(<affinity> at lines 3, 4, 5, 6, 7 and 395 more\)$/,
  },

  // 4. Weights.
  { name: 'cpu: 1.79e308', make: cluster('cpu-max.yaml', hostWith(', cpu: 1.79e308')), ...valueOf(', cpu: 1.79e308', 'cpu'), message: /^hosts\[0\]\.cpu must be <= 1000000 \(found 1\.79e\+308\)$/ },
  { name: 'cpu: 5e-324', make: cluster('cpu-min.yaml', hostWith(', cpu: 5e-324')), ...valueOf(', cpu: 5e-324', 'cpu'), message: /^hosts\[0\]\.cpu must be >= 0\.001 \(found 5e-324\)$/ },
  { name: 'cpu: .nan', make: cluster('cpu-nan.yaml', hostWith(', cpu: .nan')), ...valueOf(', cpu: .nan', 'cpu'), message: /^hosts\[0\]\.cpu must be a number \(found NaN\)$/ },
  { name: 'cpu: .inf', make: cluster('cpu-inf.yaml', hostWith(', cpu: .inf')), ...valueOf(', cpu: .inf', 'cpu'), message: /^hosts\[0\]\.cpu must be a number \(found a number too large to represent\)$/ },
  { name: 'JSON memMB: 1e999', make: cluster('mem.json', JSON_HUGE_NUMBER), ...at(JSON_HUGE_NUMBER, '1e999'), message: /^hosts\[0\]\.memMB must be a whole number \(found a number too large to represent\)$/ },
  { name: 'cpu: -.Inf', make: cluster('cpu-neg-inf.yaml', hostWith(', cpu: -.Inf')), ...valueOf(', cpu: -.Inf', 'cpu'), message: /^hosts\[0\]\.cpu must be a number \(found a negative number too large to represent\)$/ },
  { name: 'JSON cpu: Infinity (not JSON)', make: cluster('infinity.json', JSON_INFINITY), ...at(JSON_INFINITY, 'Infinity'), message: /^invalid JSON: Unexpected token 'I'$/ },
  { name: 'maxVMs: 10^12', make: cluster('maxvms.yaml', hostWith(', maxVMs: 1000000000000')), ...valueOf(', maxVMs: 1000000000000', 'maxVMs'), message: /^hosts\[0\]\.maxVMs must be <= 1000000/ },
  { name: 'cluster.conf cpu = a 401-digit number', make: cluster('cluster.conf', CONF_HUGE_NUMBER), ...at(CONF_HUGE_NUMBER, '1000'), message: /^cpu in \[kofy\] must be a number \(found a number too large to represent\)$/ },
  { name: 'cpu: a string', make: cluster('cpu-type.yaml', hostWith(', cpu: fast')), ...valueOf(', cpu: fast', 'cpu'), message: /^hosts\[0\]\.cpu must be a number \(found "fast"\)$/ },
  { name: 'ssh.port out of range', make: cluster('port.yaml', PORT_RANGE), ...at(PORT_RANGE, '70000'), message: /^hosts\[0\]\.ssh\.port must be <= 65535 \(found 70000\)$/ },
  { name: 'ids: a string', make: cluster('ids.yaml', WRONG_TYPES), ...at(WRONG_TYPES, '"5000'), message: /^ids has the wrong form: expected an id range \{first, last\}, or a list of such ranges$/ },
  { name: 'hosts: a mapping, not a list', make: cluster('hosts.yaml', HOSTS_NOT_LIST), line: 1, column: 8, message: /^hosts must be a list/ },

  // 5. Control characters.
  { name: 'a raw NUL byte in a host name', make: cluster('nul.yaml', NUL_RAW), ...at(NUL_RAW, '\u0000'), message: /^this is a binary file \(a NUL byte here\), not a cluster file/ },
  { name: 'a raw ESC sequence in a trunk', make: cluster('esc.yaml', ESC_RAW), ...at(ESC_RAW, '\u001b'), message: /^the control character U\+001B \(ESC\) has no place in a cluster file/, notInMessage: ['\u001b'] },
  { name: 'a bidi override in a label', make: cluster('bidi.yaml', BIDI_RAW), ...at(BIDI_RAW, '\u202e'), message: /^the control character U\+202E has no place/, notInMessage: ['\u202e'] },
  { name: 'YAML "\\0" escape in a host name', make: cluster('nul-escape.yaml', GOOD_CLUSTER.replace('name: zermat', 'name: "zer\\0mat"')), ...at(GOOD_CLUSTER, 'zermat'), message: /^hosts\[1\]\.name contains the control character U\+0000 \(NUL\); cluster-file strings must be printable text$/ },
  { name: 'JSON "\\u0000" in agentStateDir', make: cluster('nul.json', JSON_NUL), ...at(JSON_NUL, '"/var'), message: /^hosts\[0\]\.agentStateDir contains the control character U\+0000 \(NUL\)/ },
  { name: 'YAML "\\e" in an agentCommand word', make: cluster('agent.yaml', hostWith(', agentCommand: [ediv, "\\e]0;x\\a"]')), ...at(hostWith(', agentCommand: [ediv, "\\e]0;x\\a"]'), '"\\e'), message: /^hosts\[0\]\.agentCommand\[1\] contains the control character U\+001B \(ESC\)/ },
  { name: 'YAML "\\t" in the SSH user', make: cluster('user.yaml', hostWith(', ssh: {user: "ro\\tot"}')), ...at(hostWith(', ssh: {user: "ro\\tot"}'), '"ro'), message: /^hosts\[0\]\.ssh\.user contains the control character U\+0009 \(tab\)/ },
  { name: 'cluster.conf: a BEL character in ifname', make: cluster('cluster.conf', CONF_CONTROL), ...at(CONF_CONTROL, '\u0007'), message: /^the control character U\+0007 has no place/ },
  { name: 'cluster.conf: a lone carriage return', make: cluster('cluster.conf', CONF_CR), ...at(CONF_CR, '\r'), message: /^a carriage return inside a line/ },

  // 6. One agent, two entries; duplicates.
  {
    name: 'two hosts with the same address, port and state directory',
    make: cluster('dup-agent.yaml', DUP_AGENT),
    ...at(DUP_AGENT, '192.0.2.1', DUP_AGENT.indexOf('zermat')),
    message: /^host "zermat" is the same agent as hosts\[0\]: 192\.0\.2\.1, SSH port 22, the agent's default state directory; two hosts sharing one agent journal would undo each other's work/,
  },
  { name: 'a duplicate host name', make: cluster('dup-name.yaml', DUP_NAME), ...at(DUP_NAME, 'kofy', DUP_NAME.lastIndexOf('name:')), message: /^host name "kofy" is used twice \(also hosts\[0\]\)$/ },
  { name: 'a duplicate YAML key', make: cluster('dup-key.yaml', DUP_KEY_YAML), line: 6, column: 1, message: /^invalid YAML: Map keys must be unique/ },
  { name: 'a duplicate JSON key', make: cluster('dup-key.json', DUP_KEY_JSON), line: 3, column: 3, message: /^invalid JSON: Map keys must be unique/ },
  { name: 'an unknown host key', make: cluster('unknown.yaml', hostWith(', colour: red')), ...at(hostWith(', colour: red'), 'colour'), message: /^unknown key "colour" in hosts\[0\] \(allowed: name, address/ },

  // The shared state store and its administrators.
  { name: 'state: a password in the URL', make: cluster('pw.yaml', STATE_PASSWORD), ...at(STATE_PASSWORD, '"postgresql'), message: /^state: the URL holds a password, which everyone who can read this file would see: remove it and set PGPASSWORD or a ~\/\.pgpass line on each controller$/, notInMessage: ['hunter2'] },
  { name: 'state: not a PostgreSQL URL', make: cluster('mysql.yaml', `state: mysql://ediv@db/ediv\n${GOOD_CLUSTER}`), line: 1, column: 8, message: /^state: mysql is not a state store ediv knows: write postgresql:\/\/USER@HOST\[:PORT\]\/DATABASE/ },
  { name: 'state: no database named', make: cluster('nodb.yaml', `state: postgresql://ediv@db.example.org\n${GOOD_CLUSTER}`), line: 1, column: 8, message: /^state: name the database/ },
  { name: 'state: not a URL', make: cluster('nourl.yaml', `state: just-a-word\n${GOOD_CLUSTER}`), line: 1, column: 8, message: /^state: "just-a-word" is not a URL/ },
  { name: 'admins: a name with a space', make: cluster('admins.yaml', `admins: [alice, "bob smith"]\n${GOOD_CLUSTER}`), line: 1, column: 17, message: /^admins\[1\]: "bob smith" is not a user name/ },

  // YAML resource bounds.
  { name: 'a billion-laughs alias bomb', make: cluster('bomb.yaml', BILLION_LAUGHS), line: 5, column: 'a4: &a4 ['.length + 1 + 7 * '*a3, '.length, message: /^invalid YAML: expands to more than 100000 nodes \(too many or nested aliases\)$/ },
  { name: 'an alias inside its own anchor (a cycle)', make: cluster('cycle.yaml', SELF_ALIAS), ...at(SELF_ALIAS, '*h'), message: /^invalid YAML: alias \*h refers to a node that contains it$/ },
  { name: '1 001 aliases', make: cluster('aliases.yaml', MANY_ALIASES), line: 2, column: 'list: ['.length + 1 + 1000 * '*a, '.length, message: /^invalid YAML: more than 1000 aliases \(\*name\)$/ },
  { name: 'flow nesting 500 000 deep', make: cluster('deep-flow.yaml', DEEP_FLOW), line: 6, column: 4 + 64 - 1, message: /^invalid YAML: nested more than 64 levels deep$/ },
  { name: 'block nesting 500 000 deep ("- - - …")', make: cluster('deep-block.yaml', DEEP_BLOCK), line: 7, column: 1 + 2 * 64, message: /^invalid YAML: nested more than 64 levels deep$/ },
  { name: 'JSON nesting 300 000 deep', make: cluster('deep.json', DEEP_JSON), line: 1, message: /^invalid JSON: nested more than 64 levels deep$/ },
  { name: 'a 3 MB flat list (1.6 million tokens)', make: cluster('tokens.yaml', TOKENS), line: 6, message: /^invalid YAML: more than 200000 tokens: far more than a cluster file needs$/ },
  { name: 'a 10 000-character SSH user', make: cluster('long.yaml', LONG_USER), ...at(LONG_USER, 'uuu'), message: /^hosts\[0\]\.ssh\.user is longer than 4096 characters$/ },
  { name: 'a 6 MB cluster file', make: (d) => ({ scenario: put(d, 's.xml', GOOD_SCENARIO), cluster: hugeCluster(d, 'huge.yaml', 6, GOOD_CLUSTER) }), message: /^the cluster file is too large \(6\.0 MB; the limit is 4\.0 MB\)$/ },
  { name: 'cluster.conf with 1 100 hosts', make: cluster('cluster.conf', CONF_HOSTS), line: 1026, column: 8, message: /^\[cluster\] lists more than 1024 hosts$/ },

  // Restriction files.
  { name: 'restrictions: an unknown VM', make: restrictions(UNKNOWN_VM), ...at(UNKNOWN_VM, '<vm>ghost'), message: /^VM "ghost" is not in scenario "bad" \(its VMs: a, b\)$/ },
  { name: 'restrictions: an unknown host', make: restrictions(UNKNOWN_HOST), ...at(UNKNOWN_HOST, '<vm_deploy_at'), message: /^host "nowhere\.example\.org" is not in the cluster; valid hosts: kofy \(192\.0\.2\.1\), zermat \(192\.0\.2\.2\)$/ },
  { name: 'restrictions: an unknown net', make: restrictions(UNKNOWN_NET), ...at(UNKNOWN_NET, '<net_deploy_at'), message: /^net "Net7" is not in scenario "bad" \(its nets: Net0\)$/ },
  { name: 'restrictions: a VM pinned to two hosts', make: restrictions(PINNED_TWICE), ...at(PINNED_TWICE, '<vm_deploy_at', PINNED_TWICE.lastIndexOf('<vm_deploy_at')), message: /^VM "a" is pinned to host "192\.0\.2\.2" here and to "kofy" at line 3$/ },
  { name: 'restrictions: VMs together and apart', make: restrictions(TOGETHER_APART), ...at(TOGETHER_APART, '<vm>b</vm>', TOGETHER_APART.indexOf('<antiaffinity>')), message: /^VMs "b" and "a" must be apart \(this <antiaffinity>\) and together \(<affinity> at line 3\)$/ },
  { name: 'restrictions: more VMs apart than hosts', make: restrictions(TOO_APART, APART_THREE), ...at(TOO_APART, '<vm>a</vm>'), message: /^this <antiaffinity> keeps 3 VMs apart but the cluster has only 2 host\(s\)$/ },
  {
    name: 'restrictions: a 5 MB file',
    make: (d) => ({ scenario: put(d, 's.xml', GOOD_SCENARIO), restrictions: put(d, 'r.xml', rules(`<!--${' '.repeat(5 * 1024 * 1024)}-->`)) }),
    message: /^the file is too large \(5\.0 MB; the limit is 4\.0 MB\)$/,
  },
];

badInputSuite('bad input: cluster and restriction files (library and `ediv validate`)', clusterCases);
