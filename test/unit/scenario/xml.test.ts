import { expect } from 'chai';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { isText, readXml, readXmlFile, XmlEl } from '../../../src/scenario/xml.ts';
import { readBoundedFile } from '../../../src/common/input-file.ts';
import { quote } from '../../../src/scenario/quote.ts';
import { writeLargeScenario } from './large-scenario.ts';
import { InputError } from '../../../src/common/errors.ts';
import { edivRoot } from '../../../src/common/paths.ts';
import { itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

// A real VNUML file, read in place from ../shared/third-party/vnx (that test is skipped, saying so, without it).
const vnxDir = thirdPartyPath('vnx');

function problem(fn: () => unknown): { line?: number; column?: number; message: string; file: string } {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    const p = (err as InputError).problems[0];
    return { ...p.loc, message: p.message };
  }
  throw new Error('expected an InputError');
}

describe('xml reader', () => {
  it('builds an ordered tree with line and column on every element', () => {
    const doc = readXml('<?xml version="1.0"?>\n<!-- head -->\n<a x="1" y=\'2\'>\n  <b>hi</b><!--c--><c/>\n  t&amp;t\n</a>\n', 'f.xml');
    expect(doc.prolog).to.deep.equal([{ comment: ' head ' }]);
    const a = doc.root;
    expect([a.tag, a.line, a.column]).to.deep.equal(['a', 3, 1]);
    expect(a.attrs).to.deep.equal({ x: '1', y: '2' });
    expect(Object.keys(a.attrs)).to.deep.equal(['x', 'y']);
    const b = a.child('b')!;
    expect([b.line, b.column, b.text()]).to.deep.equal([4, 3, 'hi']);
    // White space between child elements is layout: not kept (text with more in it is).
    expect(a.children.map((c) => (c instanceof XmlEl ? `<${c.tag}>` : isText(c) ? 'text' : 'comment'))).to.deep.equal([
      '<b>', 'comment', '<c>', 'text',
    ]);
    expect(a.child('c')!.column).to.equal(20);
    expect(a.text()).to.equal('\n  t&t\n');
    // A text-only element keeps its text as is, white space included.
    expect(readXml('<a><b>  </b></a>', 'f').root.child('b')!.text()).to.equal('  ');
    expect(a.child('b')!.loc).to.deep.equal({ file: 'f.xml', line: 4, column: 3 });
  });

  it('expands predefined entities, character references and CDATA; normalizes attribute whitespace', () => {
    const doc = readXml('<r a="&lt;&#65;&#x42;\tc&#10;">&quot;&apos;&gt;&#x1F600;<![CDATA[<not> &markup;]]></r>', 'f');
    expect(doc.root.attrs.a).to.equal('<AB c\n');
    expect(doc.root.text()).to.equal('"\'>\u{1F600}<not> &markup;');
  });

  it('expands internal-subset entities (nested, with escaped markup) and ignores the external DTD', () => {
    const doc = readXml(
      '<!DOCTYPE r SYSTEM "http://example.invalid/never-fetched.dtd" [\n' +
        '  <!ELEMENT r ANY> <!ATTLIST r a CDATA "x>y">\n' +
        '  <!ENTITY D "/usr/share/">\n  <!ENTITY K "&D;kernels">\n' +
        '  <!ENTITY R "&lt;/dev/null 2&gt;&amp;1 &amp;">\n  <!ENTITY C "&#38;amp;">\n]>\n<r k="&K;">&K;/x &R; &C;</r>',
      'f',
    );
    expect(doc.doctype).to.deep.equal({ name: 'r', systemId: 'http://example.invalid/never-fetched.dtd' });
    expect(doc.root.attrs.k).to.equal('/usr/share/kernels');
    expect(doc.root.text()).to.equal('/usr/share/kernels/x </dev/null 2>&1 & &');
  });

  itWithThirdParty('reads the VNUML 1.8 file with its entities', async () => {
    const doc = await readXmlFile(path.join(vnxDir, '04-vnuml18-s21seclabsvirtual-v02.xml'));
    expect(doc.root.tag).to.equal('vnuml');
    expect(doc.root.child('global')!.child('vm_defaults')!.child('kernel')!.text()).to.equal('/usr/share/vnuml/kernels/linux');
    const www = doc.root.elements('vm').find((v) => v.attrs.name === 'www')!;
    expect(www.line).to.equal(212);
    expect(www.elements('exec')[1].text()).to.equal('/etc/init.d/apache2 restart </dev/null >/dev/null 2>&1 & ');
  }, 'vnx');

  it('resolves namespaces and finds attributes by local name', () => {
    const doc = readXml(
      '<Envelope xmlns="urn:a" xmlns:ovf="urn:ovf"><ovf:Item ovf:id="7"><x xmlns="urn:b"/></ovf:Item><y/></Envelope>',
      'f',
    );
    expect(doc.root.ns).to.equal('urn:a');
    const item = doc.root.child('Item')!;
    expect([item.tag, item.localName, item.ns, item.attr('id')]).to.deep.equal(['ovf:Item', 'Item', 'urn:ovf', '7']);
    expect(item.child('x')!.ns).to.equal('urn:b');
    expect(doc.root.child('y')!.ns).to.equal('urn:a');
  });

  it('refuses a referenced external entity without reading it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-xml-'));
    try {
      const secret = path.join(dir, 'secret.txt');
      writeFileSync(secret, 'TOP-SECRET');
      const xml = `<!DOCTYPE r [\n<!ENTITY x SYSTEM "file://${secret}">\n]>\n<r>\n  &x;</r>`;
      const p = problem(() => readXml(xml, 'ext.xml'));
      expect(p).to.include({ file: 'ext.xml', line: 5, column: 3 });
      expect(p.message).to.match(/external entity &x;.*refused/);
      expect(p.message).to.not.include('TOP-SECRET');
      // Declared but unused is harmless.
      expect(readXml(`<!DOCTYPE r [<!ENTITY x SYSTEM "file://${secret}">]><r/>`, 'f').root.tag).to.equal('r');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses parameter entities', () => {
    const p = problem(() => readXml('<!DOCTYPE r [<!ENTITY % p SYSTEM "http://x.invalid/">\n%p;]><r/>', 'f'));
    expect(p.line).to.equal(2);
    expect(p.message).to.match(/parameter-entity/);
  });

  it('stops an entity-expansion bomb fast', () => {
    let dtd = '<!ENTITY a0 "lollollollollol">';
    for (let i = 1; i <= 9; i++) dtd += `<!ENTITY a${i} "${`&a${i - 1};`.repeat(10)}">`;
    const t0 = performance.now();
    const p = problem(() => readXml(`<!DOCTYPE r [${dtd}]>\n<r>&a9;</r>`, 'bomb.xml'));
    expect(performance.now() - t0).to.be.below(500);
    expect(p.line).to.equal(2);
    expect(p.message).to.match(/entity bomb/);
    // Deep nesting is bounded too.
    let deep = '<!ENTITY e0 "x">';
    for (let i = 1; i <= 12; i++) deep += `<!ENTITY e${i} "&e${i - 1};">`;
    expect(problem(() => readXml(`<!DOCTYPE r [${deep}]><r>&e12;</r>`, 'f')).message).to.match(/nested deeper/);
    expect(problem(() => readXml('<!DOCTYPE r [<!ENTITY s "&s;">]><r>&s;</r>', 'f')).message).to.match(/itself/);
  });

  it('reports malformed XML with line and column', () => {
    const cases: [string, number, number, RegExp][] = [
      ['<a>\n  <b>\n</a>', 3, 1, /<\/a> does not match <b> opened at line 2, column 3/],
      ['<a>\n <b x="1" x="2"/></a>', 2, 11, /appears twice/],
      ['<a>\n  x & y</a>', 2, 5, /'&' must start an entity reference/],
      ['<a>&nope;</a>', 1, 4, /undefined entity &nope;/],
      ['<a b="<"/>', 1, 7, /'<' is not allowed/],
      ['<a>\n<b></b>', 1, 1, /<a> is never closed/],
      ['<a/><b/>', 1, 5, /second root/],
      ['hello', 1, 1, /text before the root/],
      ['<a x=1/>', 1, 6, /quoted value of attribute x/],
      ['<a>&#0;</a>', 1, 4, /not a valid XML character/],
      ['<a><!-- x </a>', 1, 4, /comment is never closed/],
    ];
    for (const [xml, line, column, re] of cases) {
      const p = problem(() => readXml(xml, 'bad.xml'));
      expect({ xml, line: p.line, column: p.column }).to.deep.equal({ xml, line, column });
      expect(p.message).to.match(re);
    }
  });

  it('refuses binary, invalid UTF-8, empty and oversized input', () => {
    expect(problem(() => readXml(Buffer.from([0x3c, 0x61, 0x00, 0x3e]), 'b')).message).to.match(/binary file/);
    const bad = problem(() => readXml(Buffer.from('<a>\n\xff</a>', 'latin1'), 'u'));
    expect([bad.line, bad.column]).to.deep.equal([2, 1]);
    expect(bad.message).to.match(/not valid UTF-8/);
    expect(problem(() => readXml('  \n', 'e')).message).to.match(/empty/);
    expect(problem(() => readXml(Buffer.alloc(0), 'e')).message).to.match(/empty/);
    expect(problem(() => readXml('<a>\x07</a>', 'c')).message).to.match(/control character U\+0007/);
    expect(problem(() => readXml('<a>' + 'x'.repeat(2000) + '</a>', 'big', { maxBytes: 1000 })).message).to.match(/too large/);
  });

  it('enforces the well-formedness rules of XML 1.0, at line and column', () => {
    const cases: [string, number, number, RegExp][] = [
      ['<a><!-- x -- y --></a>', 1, 11, /'--' is not allowed inside a comment/],
      ['<a><!-- x ---></a>', 1, 11, /'--' is not allowed inside a comment/],
      ['<a>x ]]> y</a>', 1, 6, /']]>' is not allowed in text/],
      ['<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>', 1, 1, /p:x and q:x of <a> are the same attribute/],
      ['<a><?xml-stylesheet x?><?xml x?></a>', 1, 24, /may not be named "xml"/],
      ['<a><?pi!?></a>', 1, 8, /expected white space or '\?>' after the processing-instruction target/],
      ['<?xml version="1.0" encoding="UTF-8" standalone="maybe"?><a/>', 1, 50, /standalone must be "yes" or "no"/],
      ['<?xml encoding="UTF-8"?><a/>', 1, 6, /needs a version/],
      ['<?xml version="1.0"encoding="UTF-8"?><a/>', 1, 20, /expected white space before encoding/],
      ['<?xml version="1.0" encoding="8bit"?><a/>', 1, 31, /"8bit" is not an encoding name/],
      ['<!DOCTYPE a PUBLIC "a<b" "x"><a/>', 1, 22, /"<" is not allowed in a public identifier/],
      ['<!DOCTYPE a [<!ELEMENT a ANY <!ENTITY x "y">]><a/>', 1, 30, /'<' inside a markup declaration/],
      ['<a>&#xD800;</a>', 1, 4, /&#xD800; is not a valid XML character/],
      ['<a b="1"c="2"/>', 1, 9, /expected whitespace/],
      ['<\u00B7a/>', 1, 2, /expected an element name but found "\u00B7"/],
    ];
    for (const [xml, line, column, re] of cases) {
      const p = problem(() => readXml(xml, 'bad.xml'));
      expect({ xml, line: p.line, column: p.column, message: p.message }).to.deep.include({ xml, line, column });
      expect(p.message, xml).to.match(re);
    }
    // Names outside the BMP follow the XML 1.0 ranges: U+10000 may start a name, U+F0000 may not.
    expect(readXml('<a\u{10000}/>', 'f').root.tag).to.equal('a\u{10000}');
    expect(problem(() => readXml('<\u{F0000}/>', 'f')).message).to.match(/expected an element name/);
  });

  it('locates invalid UTF-8 at the byte at fault and names the problem', () => {
    const cases: [number[], RegExp][] = [
      [[0xed, 0xa0, 0x80], /the UTF-16 surrogate U\+D800/],
      [[0xc0, 0xaf], /an overlong \(2-byte\) form of U\+002F/],
      [[0xf0, 0x80, 0x80, 0xaf], /an overlong \(4-byte\) form/],
      [[0xf4, 0x90, 0x80, 0x80], /code point U\+110000, above U\+10FFFF/],
      [[0xf8, 0x88, 0x80, 0x80, 0x80], /byte 0xF8, which UTF-8 never uses/],
      [[0xbf], /a continuation byte with no lead byte/],
      [[0xe2, 0x82, 0x41], /an incomplete 3-byte sequence \(bytes 0xE2 0x82,/],
    ];
    for (const [bytes, re] of cases) {
      // Line 2, after "é" (one column) and an astral character (two: columns count UTF-16 units).
      const buf = Buffer.concat([Buffer.from('<a>\n\u00e9\u{1F600}'), Buffer.from(bytes), Buffer.from('</a>')]);
      const p = problem(() => readXml(buf, 'u.xml'));
      expect([p.line, p.column], p.message).to.deep.equal([2, 4]);
      expect(p.message).to.match(re);
      expect(p.message).to.match(/at byte offset 10\)/);
    }
    const end = problem(() => readXml(Buffer.from([0x3c, 0x61, 0x2f, 0x3e, 0xe2]), 'u.xml'));
    expect([end.line, end.column]).to.deep.equal([1, 5]);
    expect(end.message).to.match(/an incomplete 3-byte sequence/);
  });

  it('names UTF-16 and UTF-32, with or without a byte-order mark, and refuses them', () => {
    const text = '<?xml version="1.0"?><a/>';
    const enc = (unit: 2 | 4, be: boolean, bom: boolean) => {
      const cps = [...(bom ? '\uFEFF' : ''), ...text].map((c) => c.codePointAt(0)!);
      const b = Buffer.alloc(cps.length * unit);
      cps.forEach((cp, i) => (unit === 2 ? (be ? b.writeUInt16BE(cp, 2 * i) : b.writeUInt16LE(cp, 2 * i)) : be ? b.writeUInt32BE(cp, 4 * i) : b.writeUInt32LE(cp, 4 * i)));
      return b;
    };
    for (const unit of [2, 4] as const) {
      for (const be of [false, true]) {
        for (const bom of [false, true]) {
          const p = problem(() => readXml(enc(unit, be, bom), 'w.xml'));
          const want = `the file is UTF-${unit * 8} (${be ? 'big' : 'little'}-endian, with${bom ? '' : 'out'} a byte-order mark)`;
          expect(p.message).to.include(want);
          expect([p.line, p.column]).to.deep.equal([1, 1]);
        }
      }
    }
  });

  it('refuses encodings it does not read, and declarations that contradict the bytes', () => {
    const decl = (enc: string) => Buffer.from(`<?xml version="1.0" encoding="${enc}"?>\n<a>x</a>`);
    expect(problem(() => readXml(decl('EBCDIC-US'), 'e')).message).to.match(/encoding "EBCDIC-US" is not supported/);
    expect(problem(() => readXml(decl('UTF-32'), 'e')).message).to.match(/says encoding="UTF-32", but the file is not in that encoding/);
    expect(problem(() => readXml(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), decl('windows-1252')]), 'e')).message).to.match(/UTF-8 byte-order mark but declares/);
    const ascii = problem(() => readXml(Buffer.from('<?xml version="1.0" encoding="ascii"?>\n<a>\u00e9</a>'), 'e'));
    expect([ascii.line, ascii.column]).to.deep.equal([2, 4]);
    expect(readXml(decl('utf8'), 'e').root.text()).to.equal('x');
  });

  it('refuses lone surrogates and a byte-order mark in the middle, in text given as a string', () => {
    const lone = problem(() => readXml('<a>\n x\uD800</a>', 's'));
    expect([lone.line, lone.column]).to.deep.equal([2, 3]);
    expect(lone.message).to.match(/lone UTF-16 surrogate U\+D800/);
    expect(problem(() => readXml('<a>\uDC00</a>', 's')).message).to.match(/lone UTF-16 surrogate U\+DC00/);
    expect(readXml('<a>\u{1F600}</a>', 's').root.text()).to.equal('\u{1F600}');
    const bom = problem(() => readXml('\uFEFF<a>\n\uFEFF</a>', 's'));
    expect([bom.line, bom.column]).to.deep.equal([2, 1]);
    expect(bom.message).to.match(/byte-order mark \(U\+FEFF\) in the middle/);
  });

  it('escapes C1 controls, bidi controls and invisible characters in every message', () => {
    expect(quote('a\u009Bb\u202Ec\u2066d\u200Be\u0085\x1b\uFEFF\uD800')).to.equal('"a\\u009Bb\\u202Ec\\u2066d\\u200Be\\u0085\\u001b\\uFEFF\\ud800"');
    expect(quote('x'.repeat(100))).to.equal(`"${'x'.repeat(80)}…"`);
    expect(quote('a\u{E0041}b')).to.equal('"a\\uDB40\\uDC41b"'); // a tag character: invisible
    const msgs = [
      problem(() => readXml('<a>\n<b\u202E/></a>', 'f')).message,
      problem(() => readXml('<a>\n<b>\u009B</c></a>', 'f')).message,
      problem(() => readXml('<a x="\u202E" x="2"/>', 'f')).message,
      problem(() => readXml('<!DOCTYPE a [<!ENTITY e SYSTEM "\u202Efile:///x">]><a>&e;</a>', 'f')).message,
      problem(() => readXml(Buffer.from('<?xml version="1.0" encoding="\xc2\x9b"?><a/>', 'latin1'), 'f')).message,
    ];
    for (const m of msgs) expect(m, m).to.not.match(/[\u0080-\u009F\u202A-\u202E\u2066-\u2069]/);
    expect(msgs[0]).to.match(/found "\\u202E"/);
    expect(msgs[3]).to.match(/SYSTEM "\\u202Efile:\/\/\/x"/);
  });

  it('enforces its limits, each with a clear message at the place it is passed', () => {
    const cases: [string, Partial<Parameters<typeof readXml>[2]>, number, number, RegExp][] = [
      ['<a>\n<b/><b/><b/></a>', { maxElements: 3 }, 2, 9, /more than 3 elements/],
      ['<a x="1" y="2"\n z="3"/>', { maxAttributes: 2 }, 2, 2, /<a> has more than 2 attributes/],
      ['<a x="1"><b y="1" z="2"/></a>', { maxTotalAttributes: 2 }, 1, 19, /more than 2 attributes: the limit for one document/],
      ['<a><b><c/></b></a>', { maxElementDepth: 2 }, 1, 7, /nested deeper than 2 levels/],
      ['<abcdef/>', { maxNameLength: 5 }, 1, 2, /an element name is 6 characters long: the limit is 5/],
      ['<a b="123456"/>', { maxAttributeLength: 5 }, 1, 7, /value of attribute b of <a> is 6 characters long: the limit is 5/],
      ['<!DOCTYPE a [<!ENTITY e "1234">]><a b="&e;&e;"/>', { maxAttributeLength: 7 }, 1, 40, /is 8 characters long once expanded: the limit is 7/],
      ['<a><b/><c/><d/></a>', { maxDistinctNames: 3 }, 1, 13, /more than 3 distinct names/],
    ];
    for (const [xml, limits, line, column, re] of cases) {
      const p = problem(() => readXml(xml, 'l.xml', limits));
      expect({ xml, line: p.line, column: p.column }).to.deep.equal({ xml, line, column });
      expect(p.message).to.match(re);
    }
  });

  it('keeps positions linear on a file that is one long line', () => {
    // Each start tag asks for its position; finding the next line end anew each time was quadratic.
    const xml = `<r>${'<v a="1"/>'.repeat(200_000)}</r>`;
    const t0 = performance.now();
    const doc = readXml(xml, 'line.xml');
    expect(performance.now() - t0).to.be.below(1500);
    expect(doc.root.elements().at(-1)!.column).to.equal(4 + 10 * 199_999);
  });

  it('refuses many attributes, deep nesting and huge values fast', () => {
    const inputs = [
      `<r${Array.from({ length: 1_500_000 }, (_, i) => ` a${i}=""`).join('')}/>`,
      '<r>' + '<a>'.repeat(3_000_000),
      `<r a="${'x'.repeat(15_000_000)}"/>`,
      `<r>${Array.from({ length: 20_000 }, (_, i) => `<e${i}/>`).join('')}</r>`,
    ];
    for (const xml of inputs) {
      const t0 = performance.now();
      problem(() => readXml(xml, 'big.xml'));
      expect(performance.now() - t0).to.be.below(1000);
    }
  });

  it('reads a valid 19 MB scenario within 10 times its size (peak RSS over the baseline), in a 256 MB heap', function () {
    this.timeout(60_000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-big-'));
    try {
      const file = path.join(dir, 'big.xml');
      const { size } = writeLargeScenario(file, 19 * 1024 * 1024);
      const script =
        `const base = process.resourceUsage().maxRSS * 1024;` +
        `const { parseScenarioFile } = await import(${JSON.stringify(path.join(edivRoot, 'src/scenario/index.ts'))});` +
        `const before = process.resourceUsage().maxRSS * 1024;` +
        `const t0 = performance.now(); const s = await parseScenarioFile(${JSON.stringify(file)});` +
        `console.log(JSON.stringify({ vms: s.vms.length, ms: performance.now() - t0, base, before, peak: process.resourceUsage().maxRSS * 1024 }));`;
      const r = spawnSync(path.join(edivRoot, 'node_modules/.bin/node'), ['--max-old-space-size=256', '--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout) as { vms: number; ms: number; before: number; peak: number };
      expect(out.vms).to.be.above(20_000);
      expect(out.peak - out.before, JSON.stringify({ ...out, size })).to.be.below(10 * size);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads files through a bounded read: not a FIFO, nor more than the limit of a file that grows', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-read-'));
    try {
      const fifo = path.join(dir, 'fifo');
      spawnSync('mkfifo', [fifo]);
      const err = await readBoundedFile(fifo, 100).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(InputError);
      expect((err as Error).message).to.match(/not a regular file/);
      // /proc files say size 0 and have more: read up to the bound, then refused.
      const proc = await readBoundedFile('/proc/self/status', 16).then(() => undefined, (e: unknown) => e);
      expect((proc as Error).message).to.match(/too large \(at least/);
      const f = path.join(dir, 'f.xml');
      writeFileSync(f, '<a/>');
      appendFileSync(f, ' ');
      expect((await readBoundedFile(f, 100)).toString()).to.equal('<a/> ');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes a file that declares Latin-1', () => {
    const doc = readXml(Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>M\xe1quina</a>', 'latin1'), 'l');
    expect(doc.root.text()).to.equal('Máquina');
  });

  it('handles CRLF line ends and a BOM', () => {
    const doc = readXml('\uFEFF<a>\r\n<b>x\r\ny\rz</b>\r\n<c/></a>', 'f');
    expect(doc.root.child('b')!.line).to.equal(2);
    expect(doc.root.child('c')!.line).to.equal(5);
    expect(doc.root.child('b')!.text()).to.equal('x\ny\nz');
  });

  it('parses a large document in linear time', () => {
    const parts = ['<vnx>'];
    for (let i = 0; i < 20000; i++) parts.push(`<vm type="lxc" name="v${i}"><if id="1" net="n"><ipv4>10.0.0.1/24</ipv4></if></vm>\n`);
    parts.push('</vnx>');
    const t0 = performance.now();
    const doc = readXml(parts.join(''), 'big.xml');
    const ms = performance.now() - t0;
    expect(doc.root.elements('vm')).to.have.length(20000);
    expect(doc.root.elements('vm')[19999].line).to.equal(20000);
    expect(ms).to.be.below(2000);
  });
});

