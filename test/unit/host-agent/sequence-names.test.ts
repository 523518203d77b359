// Sequence names that are also names of Object.prototype's properties are plain names: they run
// what they name, and a <cmd-seq> called __proto__ expands like any other.
import { expect } from 'chai';
import { vmSteps } from '../../../src/host-agent/drivers/netns/exec.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';

const xml = `<vnx><global><version>2.0</version><scenario_name>p</scenario_name>
<cmd-seq seq="__proto__">constructor,toString</cmd-seq><cmd-seq seq="hasOwnProperty">__proto__</cmd-seq></global>
<net name="Net0" mode="virtual_bridge"/>
<vm name="a" type="lxc"><if id="1" net="Net0"/>
<exec seq="constructor" type="verbatim">echo c</exec><exec seq="toString" type="verbatim">echo t</exec><exec seq="valueOf" type="verbatim">echo v</exec></vm></vnx>`;

describe('sequence names like constructor, toString, __proto__', () => {
  const s = parseScenarioText(xml, 'p.xml');
  const vm = s.vms[0]!;
  const texts = (seq: string) => vmSteps(vm, seq, s.cmdSeqs).map((st) => (st.kind === 'exec' ? st.exec.text : ''));

  it('run the execs they name', () => {
    expect(texts('constructor')).to.deep.equal(['echo c']);
    expect(texts('valueOf')).to.deep.equal(['echo v']);
  });

  it('a <cmd-seq> named __proto__ (or hasOwnProperty) expands to its members', () => {
    expect([...s.cmdSeqs.keys()]).to.deep.equal(['__proto__', 'hasOwnProperty']);
    expect(texts('__proto__')).to.deep.equal(['echo c', 'echo t']);
    expect(texts('hasOwnProperty')).to.deep.equal(['echo c', 'echo t']);
  });

  it('a sequence no VM has runs nothing', () => {
    expect(texts('isPrototypeOf')).to.deep.equal([]);
  });
});
