// --help text: descriptions written over several source lines are wrapped by commander to the
// terminal, not broken where the source broke them; paragraphs and lists stay.
import { expect } from 'chai';
import { buildProgram, reflow } from '../../../src/cli/main.ts';

describe('help text', () => {
  it('joins source line breaks, keeps blank lines, indented and bulleted lines', () => {
    expect(reflow('Deploy a scenario across\nthe cluster.')).to.equal('Deploy a scenario across the cluster.');
    expect(reflow('One.\n\nTwo\nlines.')).to.equal('One.\n\nTwo lines.');
    expect(reflow('Steps:\n  1. plan\n- apply')).to.equal('Steps:\n  1. plan\n- apply');
  });

  it('every command and subcommand has a description without a hard break mid-sentence', async () => {
    const program = await buildProgram();
    const all = program.commands.flatMap((c) => [c, ...c.commands]);
    expect(all.length).to.be.greaterThan(15);
    for (const c of all) {
      expect(c.description(), c.name()).to.be.a('string').and.not.equal('');
      expect(c.description(), c.name()).to.not.match(/[a-z,]\n[a-z]/);
    }
  });
});
