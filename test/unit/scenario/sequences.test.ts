import { expect } from 'chai';
import { expandSeq, mergeCmdSeqs } from '../../../src/scenario/sequences.ts';
import { InputError } from '../../../src/common/errors.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import { validateFiles } from '../../../src/controller/validate-summary.ts';

const table = (o: Record<string, string[]>) => new Map(Object.entries(o));

describe('command sequences', () => {
  it('expands nested cmd-seqs in order', () => {
    const seqs = table({ ls12: ['ls1', 'ls2'], ls123: ['ls12', 'ls3'], ls1234: ['ls123', 'ls4'] });
    expect(expandSeq('ls1234', seqs)).to.deep.equal(['ls1', 'ls2', 'ls3', 'ls4']);
    expect(expandSeq('plain', seqs)).to.deep.equal(['plain']);
  });

  it('runs a sequence reached by two paths twice, as VNX does', () => {
    expect(expandSeq('all', table({ all: ['a', 'b'], a: ['x'], b: ['x', 'y'] }))).to.deep.equal(['x', 'x', 'y']);
  });

  it('refuses a cycle as bad input, naming it', () => {
    const err = (() => {
      try {
        expandSeq('x', table({ x: ['y'], y: ['x', 'z'] }), { file: 'lab.xml' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.equal('lab.xml: cmd-seq cycle: x -> y -> x');
  });

  it('treats prototype names as plain names', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(expandSeq(name, new Map())).to.deep.equal([name]);
      expect(expandSeq('all', table({ all: [name] }))).to.deep.equal([name]);
    }
  });

  it('keeps a cmd-seq named __proto__ from the XML', () => {
    const s = parseScenarioText(
      `<vnx><global><version>2.0</version><scenario_name>p</scenario_name>
         <cmd-seq seq="__proto__">constructor</cmd-seq></global>
       <net name="n" mode="virtual_bridge"/>
       <vm type="lxc" name="a"><if id="1" net="n"/><exec seq="constructor" type="verbatim">true</exec></vm></vnx>`,
      'p.xml',
    );
    expect([...s.cmdSeqs.keys()]).to.deep.equal(['__proto__']);
    expect(expandSeq('__proto__', s.cmdSeqs)).to.deep.equal(['constructor']);
  });

  it('prototype names parse, are listed by validate and expand through <cmd-seq>', async () => {
    // Every lookup table of the scenario reader is a Map or Set: these are plain names.
    const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
    const execNames = ['constructor', 'toString', 'hasOwnProperty'];
    const execs = execNames.map((n) => `<exec seq="${n}" type="verbatim">echo ${n}</exec>`).join('');
    const text =
      `<vnx><global><version>2.0</version><scenario_name>p</scenario_name>\n` +
      `<cmd-seq seq="__proto__">constructor,toString</cmd-seq><cmd-seq seq="valueOf">__proto__,hasOwnProperty</cmd-seq></global>\n` +
      `<net name="n" mode="virtual_bridge"/><vm type="lxc" name="a"><if id="1" net="n"/>${execs}</vm></vnx>`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-seq-'));
    try {
      const file = path.join(dir, 'p.xml');
      writeFileSync(file, text);
      const summary = await validateFiles({ file });
      const listed = new Map(summary.sequences.map((q) => [q.name, q]));
      expect([...listed.keys()].sort()).to.deep.equal([...names].sort());
      expect(listed.get('__proto__')).to.deep.include({ kind: 'cmd-seq', steps: ['constructor', 'toString'] });
      expect(listed.get('constructor')).to.deep.include({ kind: 'exec', vms: ['a'] });
      expect(summary.vms[0]!.sequences).to.deep.equal(execNames);
      const s = parseScenarioText(text, 'p.xml');
      expect(expandSeq('valueOf', s.cmdSeqs)).to.deep.equal(['constructor', 'toString', 'hasOwnProperty']);
      expect(expandSeq('toString', s.cmdSeqs)).to.deep.equal(['toString']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('entities and attributes named like prototype members are plain names too', () => {
    const s = parseScenarioText(
      `<!DOCTYPE vnx [<!ENTITY constructor "c1"><!ENTITY toString "t1">]>\n` +
        `<vnx><global><version>2.0</version><scenario_name>&constructor;</scenario_name></global>` +
        `<net name="n" mode="virtual_bridge" __proto__="x" constructor="&toString;"/><vm type="lxc" name="a"><if id="1" net="n"/></vm></vnx>`,
      'p.xml',
    );
    expect(s.name).to.equal('c1');
    expect(Object.getPrototypeOf(s.nets[0]!.extra.attrs)).to.equal(Object.prototype);
    expect(Object.entries(s.nets[0]!.extra.attrs)).to.deep.equal([['__proto__', 'x'], ['constructor', 't1']]);
  });

  it('merges tables, the later one winning', () => {
    expect([...mergeCmdSeqs(table({ a: ['1'] }), undefined, table({ a: ['2'], b: ['3'] }))]).to.deep.equal([
      ['a', ['2']],
      ['b', ['3']],
    ]);
  });
});
