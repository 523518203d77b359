// The bad-input corpus, XML-level problems (test/helpers/bad-input.ts runs each case through the
// library and through `ediv validate --json` with a 128 MB heap): entity forms and bombs, DOCTYPE
// tricks, encodings, every well-formedness rule the reader enforces, each limit (XmlLimits), and
// deliberately huge inputs. Each is refused with exit 2 at its line and column, in bounded time
// and memory, echoing nothing raw (no control or bidi characters, nothing of a file an entity or
// DTD names).
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { SECRET, badInputSuite, put, vnx, type BadInputCase } from '../../helpers/bad-input.ts';
import { writeLargeScenario } from '../../unit/scenario/large-scenario.ts';

const scenario = (name: string, text: string | Buffer) => (d: string) => ({ scenario: put(d, name, text) });

/** A scenario whose DOCTYPE has `subset` as its internal subset; `body` after the net (line 5 + subset lines). */
const withDtd = (subset: string, body: string, name = 'bad'): string => vnx(body, name).replace('<vnx>', `<!DOCTYPE vnx [\n${subset}\n]>\n<vnx>`);

/** The bytes of `text` in UTF-16 or UTF-32, with or without a BOM. */
function wide(text: string, unit: 2 | 4, bigEndian: boolean, bom: boolean): Buffer {
  const chars = [...(bom ? '\uFEFF' : ''), ...text].map((c) => c.codePointAt(0)!);
  const b = Buffer.alloc(chars.length * unit);
  chars.forEach((cp, i) => {
    if (unit === 2) bigEndian ? b.writeUInt16BE(cp, 2 * i) : b.writeUInt16LE(cp, 2 * i);
    else bigEndian ? b.writeUInt32BE(cp, 4 * i) : b.writeUInt32LE(cp, 4 * i);
  });
  return b;
}

/** `text` with `bytes` in place of the marker "@@" (invalid UTF-8 where text cannot hold it). */
function withBytes(text: string, bytes: number[]): Buffer {
  const [a, b] = text.split('@@');
  return Buffer.concat([Buffer.from(a!, 'utf8'), Buffer.from(bytes), Buffer.from(b!, 'utf8')]);
}

/** A VM line (line 5) with bad UTF-8 in its name, at column 24. */
const badUtf8 = (bytes: number[]) => withBytes(vnx('  <vm type="lxc" name="@@"/>'), bytes);

/** Writes `head`, then `unit(i)` until the file has about `mb` MB, then `tail`. */
function bigFile(p: string, mb: number, head: string, unit: (i: number) => string, tail: string): string {
  const fd = openSync(p, 'w');
  try {
    writeSync(fd, head);
    let chunk = '';
    for (let i = 0, n = 0; n < mb * 1024 * 1024; i++) {
      chunk += unit(i);
      if (chunk.length > 1 << 16) {
        writeSync(fd, chunk);
        n += chunk.length;
        chunk = '';
      }
    }
    writeSync(fd, chunk + tail);
  } finally {
    closeSync(fd);
  }
  return p;
}

const big = (name: string, mb: number, head: string, unit: (i: number) => string, tail: string) => (d: string) => ({
  scenario: bigFile(path.join(d, name), mb, head, unit, tail),
});

/** No raw C1 control or bidi character may reach a message. */
const RAW_CONTROLS = [/[\u0080-\u009F]/, /[\u202A-\u202E\u2066-\u2069]/];

const entityCases: BadInputCase[] = [
  {
    name: 'an internal entity whose text is markup',
    make: scenario('markup-entity.xml', withDtd('<!ENTITY vm "<vm type=\'lxc\' name=\'x\'/>">', '  &vm;')),
    line: 8,
    column: 3,
    message: /entity &vm; \(declared at line 3\) contains markup/,
  },
  {
    name: 'an external SYSTEM entity in an attribute value',
    make: (d) => {
      const secret = put(d, 'secret.txt', SECRET);
      return scenario('xxe-attr.xml', withDtd(`<!ENTITY x SYSTEM "file://${secret}">`, '  <vm type="lxc" name="&x;"/>'))(d);
    },
    line: 8,
    column: 24,
    message: /external entity &x; \(SYSTEM "file:\/\/.*secret\.txt", declared at line 3\) refused/,
  },
  {
    name: 'an external PUBLIC entity in text',
    make: scenario('xxe-public.xml', withDtd('<!ENTITY pw PUBLIC "-//X//Y//EN" "file:///etc/passwd">', '  <vm type="lxc" name="a"><exec seq="s" type="verbatim">&pw;</exec></vm>')),
    line: 8,
    column: 57,
    message: /external entity &pw; \(PUBLIC "-\/\/X\/\/Y\/\/EN" "file:\/\/\/etc\/passwd", declared at line 3\) refused/,
  },
  {
    name: 'a parameter-entity reference in the internal subset',
    make: scenario('pe.xml', withDtd('<!ENTITY % p SYSTEM "http://192.0.2.1/evil.dtd">\n%p;', '')),
    line: 4,
    column: 1,
    message: /parameter-entity references are not supported/,
  },
  {
    name: 'a parameter-entity reference inside an entity value',
    make: scenario('pe-value.xml', withDtd('<!ENTITY % p "x">\n<!ENTITY a "%p;">', '')),
    line: 4,
    column: 13,
    message: /parameter-entity references are not supported in entity values/,
  },
  {
    name: 'an undefined entity in an attribute value',
    make: scenario('undefined-attr.xml', vnx('  <vm type="lxc" name="&nope;"/>')),
    line: 5,
    column: 24,
    message: /undefined entity &nope;/,
  },
  {
    name: 'entities referring to each other in a loop',
    make: scenario('recursive.xml', withDtd('<!ENTITY a "x&b;">\n<!ENTITY b "y&a;">', '  <vm type="lxc" name="&a;"/>')),
    line: 9,
    column: 24,
    message: /entity &a; refers to itself \(&a; → &b; → &a;\)/,
  },
  {
    name: 'an entity referring to itself',
    make: scenario('self.xml', withDtd('<!ENTITY s "&s;">', '  <vm type="lxc" name="a"><exec seq="s" type="verbatim">&s;</exec></vm>')),
    line: 8,
    column: 57,
    message: /entity &s; refers to itself \(&s; → &s;\)/,
  },
  {
    name: 'a billion-laughs bomb in an attribute value',
    make: (d) => {
      let subset = '<!ENTITY l0 "lollollollol">';
      for (let i = 1; i <= 7; i++) subset += `\n<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`;
      return scenario('bomb-attr.xml', withDtd(subset, '  <vm type="lxc" name="&l7;"/>'))(d);
    },
    line: 15,
    column: 24,
    message: /entity expansion of &l\d; exceeds the limit of 1048576 characters: entity bomb\?/,
  },
  {
    name: 'a quadratic blow-up: one 100 KB entity referenced 20 times',
    make: scenario('quadratic.xml', withDtd(`<!ENTITY k "${'k'.repeat(100_000)}">`, `  <vm type="lxc" name="a"><exec seq="s" type="verbatim">${'&k;'.repeat(20)}</exec></vm>`)),
    line: 8,
    message: /entity expansion of &k; exceeds the limit of 1048576 characters/,
  },
  {
    name: 'entities nested nine deep',
    make: (d) => {
      let subset = '<!ENTITY e0 "x">';
      for (let i = 1; i <= 9; i++) subset += `\n<!ENTITY e${i} "&e${i - 1};">`;
      return scenario('deep-entities.xml', withDtd(subset, '  <vm type="lxc" name="&e9;"/>'))(d);
    },
    line: 17,
    column: 24,
    message: /entity expansion nested deeper than 8 levels/,
  },
  {
    name: 'an unparsed (NDATA) entity referenced in text',
    make: scenario('ndata.xml', withDtd('<!NOTATION gif SYSTEM "image/gif">\n<!ENTITY pic SYSTEM "file:///etc/shadow" NDATA gif>', '  <vm type="lxc" name="a"><exec seq="s" type="verbatim">&pic;</exec></vm>')),
    line: 9,
    column: 57,
    message: /external entity &pic; \(SYSTEM "file:\/\/\/etc\/shadow", declared at line 4\) refused/,
  },
  {
    name: "an entity reference that is not a name (&1x;)",
    make: scenario('bad-ref.xml', vnx('  <vm type="lxc" name="a&1x;"/>')),
    line: 5,
    column: 25,
    message: /'&' must start an entity reference like &amp;/,
  },
  {
    name: 'a character reference to a control character',
    make: scenario('charref.xml', vnx('  <vm type="lxc" name="a&#x1B;[2J"/>')),
    line: 5,
    column: 25,
    message: /character reference &#x1B; is not a valid XML character/,
  },
];

const doctypeCases: BadInputCase[] = [
  {
    name: 'a DOCTYPE after the root element',
    make: scenario('doctype-after.xml', vnx('') + '<!DOCTYPE vnx [<!ENTITY x "y">]>\n'),
    line: 7,
    column: 1,
    message: /a DOCTYPE must come once, before the root element/,
  },
  {
    name: 'two DOCTYPEs',
    make: scenario('doctype-twice.xml', vnx('').replace('<vnx>', '<!DOCTYPE vnx>\n<!DOCTYPE vnx [<!ENTITY x "y">]>\n<vnx>')),
    line: 3,
    column: 1,
    message: /a DOCTYPE must come once/,
  },
  {
    name: 'a conditional section in the internal subset',
    make: scenario('conditional.xml', withDtd('<![INCLUDE[ <!ENTITY x "y"> ]]>', '')),
    line: 3,
    column: 1,
    message: /conditional sections .* are only allowed in an external DTD/,
  },
  {
    name: 'an internal subset that is never closed',
    make: scenario('subset-open.xml', '<?xml version="1.0"?>\n<!DOCTYPE vnx [\n<!ENTITY x "y">\n'),
    line: 4,
    column: 1,
    message: /internal subset is never closed/,
  },
  {
    name: 'an external DTD is never read: its entity stays undefined',
    make: (d) => {
      const dtd = put(d, 'evil.dtd', `<!ENTITY x "${SECRET}">`);
      return scenario('external-dtd.xml', vnx('  <vm type="lxc" name="&x;"/>').replace('<vnx>', `<!DOCTYPE vnx SYSTEM "file://${dtd}">\n<vnx>`))(d);
    },
    line: 6,
    column: 24,
    message: /undefined entity &x;/,
  },
  {
    name: 'an unknown declaration in the internal subset',
    make: scenario('unknown-decl.xml', withDtd('<!ENTITTY x "y">', '')),
    line: 3,
    column: 1,
    message: /unexpected "<!ENTITTY " in the DOCTYPE's internal subset/,
  },
  {
    name: 'a public identifier with characters PUBLIC ids may not have',
    make: scenario('pubid.xml', vnx('').replace('<vnx>', '<!DOCTYPE vnx PUBLIC "-//a{b}//EN" "vnx.dtd">\n<vnx>')),
    line: 2,
    column: 27,
    message: /"\{" is not allowed in a public identifier/,
  },
];

const encodingCases: BadInputCase[] = [
  { name: 'UTF-8: an encoded UTF-16 surrogate', make: scenario('surrogate.xml', badUtf8([0xed, 0xa0, 0x80])), line: 5, column: 24, message: /not valid UTF-8: the UTF-16 surrogate U\+D800, which is not a character .*\(bytes 0xED 0xA0 0x80, at byte offset \d+\)/ },
  { name: 'UTF-8: an overlong 2-byte form of "/"', make: scenario('overlong2.xml', badUtf8([0xc0, 0xaf])), line: 5, column: 24, message: /not valid UTF-8: an overlong \(2-byte\) form of U\+002F/ },
  { name: 'UTF-8: an overlong 3-byte form', make: scenario('overlong3.xml', badUtf8([0xe0, 0x80, 0xaf])), line: 5, column: 24, message: /an overlong \(3-byte\) form of U\+002F/ },
  { name: 'UTF-8: a code point above U+10FFFF', make: scenario('above.xml', badUtf8([0xf4, 0x90, 0x80, 0x80])), line: 5, column: 24, message: /code point U\+110000, above U\+10FFFF/ },
  { name: 'UTF-8: a byte UTF-8 never uses (0xFF)', make: scenario('ff.xml', badUtf8([0x41, 0xff])), line: 5, column: 25, message: /byte 0xFF, which UTF-8 never uses/ },
  { name: 'UTF-8: a stray continuation byte', make: scenario('stray.xml', badUtf8([0x41, 0x80])), line: 5, column: 25, message: /not valid UTF-8: a continuation byte with no lead byte before it \(bytes 0x80,/ },
  { name: 'UTF-8: a sequence cut short', make: scenario('cut.xml', withBytes(vnx('  <vm type="lxc" name="é@@"/>'), [0xe2, 0x82])), line: 5, column: 25, message: /an incomplete 3-byte sequence \(bytes 0xE2 0x82/ },
  { name: 'UTF-32 little-endian with a byte-order mark', make: scenario('utf32le-bom.xml', wide(vnx(''), 4, false, true)), line: 1, column: 1, message: /the file is UTF-32 \(little-endian, with a byte-order mark\): ediv reads UTF-8/ },
  { name: 'UTF-32 big-endian without a byte-order mark', make: scenario('utf32be.xml', wide(vnx(''), 4, true, false)), line: 1, column: 1, message: /the file is UTF-32 \(big-endian, without a byte-order mark\)/ },
  { name: 'UTF-16 little-endian with a byte-order mark', make: scenario('utf16le-bom.xml', wide(vnx(''), 2, false, true)), line: 1, column: 1, message: /the file is UTF-16 \(little-endian, with a byte-order mark\)/ },
  { name: 'UTF-16 big-endian without a byte-order mark', make: scenario('utf16be.xml', wide(vnx(''), 2, true, false)), line: 1, column: 1, message: /the file is UTF-16 \(big-endian, without a byte-order mark\)/ },
  {
    name: 'a UTF-8 file that declares encoding="UTF-16"',
    make: scenario('declares-utf16.xml', vnx('').replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')),
    line: 1,
    column: 31,
    message: /the XML declaration says encoding="UTF-16", but the file is not in that encoding/,
  },
  {
    name: 'an encoding ediv does not read (Shift_JIS)',
    make: scenario('sjis.xml', vnx('').replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="Shift_JIS"?>')),
    line: 1,
    column: 31,
    message: /encoding "Shift_JIS" is not supported/,
  },
  {
    name: 'a UTF-8 byte-order mark on a file declaring ISO-8859-1',
    make: scenario('bom-latin1.xml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(vnx('').replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="ISO-8859-1"?>'))])),
    line: 1,
    column: 31,
    message: /starts with a UTF-8 byte-order mark but declares encoding="ISO-8859-1"/,
  },
  {
    name: 'a file declaring US-ASCII with a byte above 0x7F',
    make: scenario('ascii.xml', vnx('  <vm type="lxc" name="café"/>').replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="US-ASCII"?>')),
    line: 5,
    column: 27,
    message: /byte 0xC3 is not ASCII, but the file declares encoding US-ASCII/,
  },
  {
    name: 'a byte-order mark in the middle (two files joined)',
    make: scenario('bom-middle.xml', '\uFEFF' + vnx('') + '\uFEFF' + vnx('')),
    line: 7,
    column: 1,
    message: /a byte-order mark \(U\+FEFF\) in the middle of the file/,
  },
  {
    name: 'a control character in text',
    make: scenario('bell.xml', vnx('  <vm type="lxc" name="a"><exec seq="s" type="verbatim">echo \x07</exec></vm>')),
    line: 5,
    column: 62,
    message: /control character U\+0007 is not allowed in XML/,
  },
  {
    name: 'C1 and bidi controls in markup are escaped in the message',
    make: scenario('bidi.xml', vnx('  <vm type="lxc" name\u202E\u009B="a"/>')),
    line: 5,
    column: 22,
    message: /expected '=' after attribute name but found "\\u202E"/,
    notInMessage: RAW_CONTROLS,
  },
];

const wellFormednessCases: BadInputCase[] = [
  { name: "'--' inside a comment", make: scenario('comment-dashes.xml', vnx('  <!-- a -- b -->')), line: 5, column: 10, message: /'--' is not allowed inside a comment/ },
  { name: "a comment ending in '--->'", make: scenario('comment-end.xml', vnx('  <!-- a --->')), line: 5, column: 10, message: /'--' is not allowed inside a comment/ },
  {
    name: "']]>' in text",
    make: scenario('cdata-end.xml', vnx('  <vm type="lxc" name="a"><exec seq="s" type="verbatim">a ]]> b</exec></vm>')),
    line: 5,
    column: 59,
    message: /']]>' is not allowed in text/,
  },
  { name: "'<' in an attribute value", make: scenario('lt-attr.xml', vnx('  <vm type="lxc" name="a<b"/>')), line: 5, column: 25, message: /'<' is not allowed in attribute values/ },
  { name: 'an attribute given twice', make: scenario('dup-attr.xml', vnx('  <vm type="lxc" name="a" name="b"/>')), line: 5, column: 27, message: /attribute name appears twice in <vm>/ },
  {
    name: 'an attribute given twice through two prefixes of one namespace',
    make: scenario('dup-ns-attr.xml', vnx('  <vm type="lxc" name="a" xmlns:p="urn:x" xmlns:q="urn:x" p:order="1" q:order="2"/>')),
    line: 5,
    column: 3,
    message: /attributes p:order and q:order of <vm> are the same attribute \("urn:x" namespace\) twice/,
  },
  { name: 'the XML declaration not at the very start', make: scenario('decl-late.xml', '\n' + vnx('')), line: 2, column: 1, message: /the XML declaration is only allowed at the very start of the file/ },
  { name: 'a processing instruction named XmL', make: scenario('pi-xml.xml', vnx('  <?XmL stylesheet?>')), line: 5, column: 3, message: /a processing instruction may not be named "xml"/ },
  { name: 'an XML declaration with version 2.0', make: scenario('decl-version.xml', vnx('').replace('version="1.0"', 'version="2.0"')), line: 1, column: 16, message: /XML version "2.0" is not supported/ },
  {
    name: 'an XML declaration with its pseudo-attributes out of order',
    make: scenario('decl-order.xml', vnx('').replace('<?xml version="1.0"?>', '<?xml version="1.0" standalone="yes" encoding="UTF-8"?>')),
    line: 1,
    column: 38,
    message: /expected '\?>' closing the XML declaration/,
  },
  { name: 'an element name starting with a digit', make: scenario('name-digit.xml', vnx('  <1vm type="lxc" name="a"/>')), line: 5, column: 4, message: /expected an element name but found "1"/ },
  { name: 'an attribute name with a character names may not have', make: scenario('name-char.xml', vnx('  <vm ty!pe="lxc" name="a"/>')), line: 5, column: 9, message: /expected '=' after attribute ty but found "!"/ },
  { name: 'no white space between attributes', make: scenario('attr-ws.xml', vnx('  <vm type="lxc"name="a"/>')), line: 5, column: 17, message: /expected whitespace, '>' or '\/>' in <vm>/ },
  { name: 'an element never closed', make: scenario('unclosed.xml', vnx('  <vm type="lxc" name="a">').replace('</vnx>\n', '')), line: 5, column: 3, message: /<vm> is never closed \(missing <\/vm>\)/ },
  { name: 'text after the root element', make: scenario('after-root.xml', vnx('') + 'junk\n'), line: 7, column: 1, message: /text after the root element/ },
  { name: 'a CDATA section outside the root', make: scenario('cdata-outside.xml', vnx('') + '<![CDATA[x]]>\n'), line: 7, column: 1, message: /unexpected "<!\[CDATA\[" after the root element/ },
];

let bigDupLine = 0;

const limitCases: BadInputCase[] = [
  {
    name: 'an element with 300 attributes (the limit is 256)',
    make: scenario('attrs300.xml', vnx(`  <vm type="lxc" name="a"${Array.from({ length: 300 }, (_, i) => ` a${i}="1"`).join('')}/>`)),
    line: 5,
    column: 2203,
    message: /<vm> has more than 256 attributes/,
  },
  {
    name: '1.5 million attributes on one element (16 MB)',
    make: big('attrs1500k.xml', 16, '<?xml version="1.0"?>\n<vnx', (i) => ` a${i}=""`, '/>\n'),
    line: 2,
    column: 1944,
    message: /<vnx> has more than 256 attributes/,
  },
  {
    name: 'elements nested 300 deep (the limit is 256)',
    make: scenario('deep300.xml', vnx(`  ${'<x>'.repeat(300)}${'</x>'.repeat(300)}`)),
    line: 5,
    column: 768,
    message: /elements nested deeper than 256 levels/,
  },
  {
    name: 'a deeply nested document: 6 million open elements (19 MB)',
    make: big('deep.xml', 19, '<vnx>', () => '<a>', ''),
    line: 1,
    column: 771,
    message: /elements nested deeper than 256 levels/,
  },
  {
    name: 'an element name of 2000 characters (the limit is 1000)',
    make: scenario('long-name.xml', vnx(`  <${'v'.repeat(2000)}/>`)),
    line: 5,
    column: 4,
    message: /an element name is 2000 characters long: the limit is 1000/,
  },
  {
    name: 'a huge single attribute value (15 MB)',
    make: big('huge-attr.xml', 15, '<vnx>\n  <global><version>2.0</version><scenario_name>x</scenario_name></global>\n  <vm type="lxc" name="', () => 'x', '"/>\n</vnx>\n'),
    line: 3,
    column: 24,
    message: /value of attribute name of <vm> is \d+ characters long: the limit is 262144/,
  },
  {
    name: 'more than 400 000 elements (19 MB of small VMs)',
    make: big('many-elements.xml', 19, '<vnx>\n', (i) => `<vm type="lxc" name="v${i}"/>\n`, '</vnx>\n'),
    line: 400_001,
    column: 1,
    message: /more than 400000 elements: the limit for one document/,
  },
  {
    // Valid up to its last VM: the whole file is read and modelled before the refusal. Such a
    // scenario needs about 160 MB of heap (docs/scenario.md, "Memory"), so the CLI gets 320.
    name: 'a 19 MB scenario refused at its last line (a VM name used twice)',
    make(d) {
      const file = path.join(d, 'big-dup.xml');
      bigDupLine = writeLargeScenario(file, 19 * 1024 * 1024, '  <vm name="vm1" type="lxc"/>\n').tailLine;
      return { scenario: file };
    },
    // Known once the file is written (the harness reads it after make).
    get line() {
      return bigDupLine;
    },
    message: /VM name "vm1" is used twice \(first at line 69\)/,
    column: 3,
    heapMB: 320,
    // The whole file is parsed and modelled first (about 1.7 s here, twice that on a loaded CI
    // machine); the bound only has to catch superlinear work, which would take minutes.
    maxMs: 10_000,
  },
  {
    name: 'more than a million attributes in the document',
    make: big('many-attributes.xml', 12, '<vnx>\n', () => '<e a="" b="" c="" d="" e="" f="" g="" h=""/>\n', '</vnx>\n'),
    line: 125_002,
    column: 4,
    message: /more than 1000000 attributes: the limit for one document/,
  },
  {
    name: 'more than 10 000 distinct names',
    make: big('many-names.xml', 1, '<vnx>\n', (i) => `<e${i}/>\n`, '</vnx>\n'),
    line: 10_001,
    column: 2,
    message: /more than 10000 distinct names/,
  },
];

badInputSuite('bad input: XML-level problems (library and `ediv validate`)', [
  ...entityCases,
  ...doctypeCases,
  ...encodingCases,
  ...wellFormednessCases,
  ...limitCases,
]);
