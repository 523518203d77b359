import { expect } from 'chai';
import path from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { isText, readXml, readXmlFile, XmlEl } from '../../../src/scenario/xml.ts';
import { InputError } from '../../../src/common/errors.ts';
import { edivRoot } from '../../../src/common/paths.ts';

const vnxDir = path.resolve(edivRoot, '../shared/third-party/vnx');

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
    expect(a.children.map((c) => (c instanceof XmlEl ? `<${c.tag}>` : isText(c) ? 'text' : 'comment'))).to.deep.equal([
      'text', '<b>', 'comment', '<c>', 'text',
    ]);
    expect(a.child('c')!.column).to.equal(20);
    expect(a.text()).to.equal('\n  \n  t&t\n');
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

  it('reads the VNUML 1.8 file with its entities', async () => {
    const doc = await readXmlFile(path.join(vnxDir, '04-vnuml18-s21seclabsvirtual-v02.xml'));
    expect(doc.root.tag).to.equal('vnuml');
    expect(doc.root.child('global')!.child('vm_defaults')!.child('kernel')!.text()).to.equal('/usr/share/vnuml/kernels/linux');
    const www = doc.root.elements('vm').find((v) => v.attrs.name === 'www')!;
    expect(www.line).to.equal(212);
    expect(www.elements('exec')[1].text()).to.equal('/etc/init.d/apache2 restart </dev/null >/dev/null 2>&1 & ');
  });

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

  it('decodes a file that declares Latin-1', () => {
    const doc = readXml(Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>M\xe1quina</a>', 'latin1'), 'l');
    expect(doc.root.text()).to.equal('Máquina');
  });

  it('handles CRLF line ends and a BOM', () => {
    const doc = readXml('\uFEFF<a>\r\n<b/>\r\n</a>', 'f');
    expect(doc.root.child('b')!.line).to.equal(2);
    expect(doc.root.text()).to.equal('\n\n');
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
