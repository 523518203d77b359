import { expect } from 'chai';
import { expandSeq, mergeCmdSeqs } from '../../../src/scenario/sequences.ts';
import { InputError } from '../../../src/common/errors.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';

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

  it('merges tables, the later one winning', () => {
    expect([...mergeCmdSeqs(table({ a: ['1'] }), undefined, table({ a: ['2'], b: ['3'] }))]).to.deep.equal([
      ['a', ['2']],
      ['b', ['3']],
    ]);
  });
});
