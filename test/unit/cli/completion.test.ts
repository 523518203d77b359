import { expect } from 'chai';
import { Argument, Command, Option } from 'commander';
import { commandTree, type CommandSpec } from '../../../src/cli/completion-tree.ts';
import { completionScript, SHELLS } from '../../../src/cli/completion-scripts.ts';
import { buildProgram } from '../../../src/cli/main.ts';

const lister = { list: ['completion', '--list'], labOption: '--lab', stateOption: '--state' };

/** The command at `path` below `root` (names after the root's). */
function at(root: CommandSpec, ...path: string[]): CommandSpec {
  let cmd = root;
  for (const name of path) {
    const sub = cmd.subcommands.find((s) => s.names.includes(name));
    if (!sub) throw new Error(`no command ${name} under ${cmd.path.join(' ')}`);
    cmd = sub;
  }
  return cmd;
}

const flagsOf = (cmd: CommandSpec) => cmd.options.filter((o) => !o.hidden).flatMap((o) => o.flags);
const optionValue = (cmd: CommandSpec, flag: string) => cmd.options.find((o) => o.flags.includes(flag))?.value;

/** A program shaped like ediv's commands, with every way a value is named. */
function sample(): Command {
  const p = new Command('tool').option('-v, --verbose');
  const lab = p.command('lab').alias('l').description('labs');
  lab
    .command('run')
    .argument('<scenario-name>')
    .argument('[seq-or-command...]')
    .option('--vm <names>', 'VMs')
    .option('-o, --output <file>')
    .option('--out <dir>')
    .option('--interface <name>')
    .option('--name <lab>')
    .option('--watch [seconds]')
    .addOption(new Option('--format <f>').choices(['dot', 'svg']))
    .addOption(new Option('--secret <x>').hideHelp());
  lab.command('show').argument('<scenario|lab>').argument('<name>').argument('<op>');
  p.command('pick').addArgument(new Argument('[shell]').choices(['bash', 'zsh', 'two words']));
  p.command('hidden-one', { hidden: true });
  return p;
}

describe('completion: the command tree', () => {
  const root = commandTree(sample());

  it('has the commands and subcommands, with aliases, but not hidden ones nor the implicit help command', () => {
    expect(root.path).to.deep.equal(['tool']);
    expect(root.subcommands.map((s) => s.names)).to.deep.equal([['lab', 'l'], ['pick']]);
    expect(at(root, 'lab').subcommands.map((s) => s.path.join(' '))).to.deep.equal(['tool lab run', 'tool lab show']);
  });

  it("has each command's options with --help; a hidden option is kept (its value is skipped) but marked", () => {
    expect(flagsOf(root)).to.deep.equal(['-v', '--verbose', '-h', '--help']);
    const run = at(root, 'lab', 'run');
    expect(flagsOf(run)).to.include.members(['--vm', '-o', '--output', '--format', '--watch', '-h', '--help']);
    expect(flagsOf(run)).to.not.include('--secret');
    expect(run.options.find((o) => o.flags.includes('--secret'))).to.include({ hidden: true });
  });

  it('tells what option values are from the option name, then the placeholder (files and directories only)', () => {
    const run = at(root, 'lab', 'run');
    expect(optionValue(run, '--vm')).to.deep.equal({ kinds: ['vm'], choices: [] });
    expect(optionValue(run, '-o')).to.deep.equal({ kinds: ['file'], choices: [] });
    expect(optionValue(run, '--out')).to.deep.equal({ kinds: ['dir'], choices: [] });
    expect(optionValue(run, '--interface'), 'a <name> placeholder is not a lab').to.deep.equal({ kinds: [], choices: [] });
    expect(optionValue(run, '--name'), '--name gives a new name').to.deep.equal({ kinds: [], choices: [] });
    expect(optionValue(run, '--format')).to.deep.equal({ kinds: [], choices: ['dot', 'svg'] });
    expect(optionValue(run, '--watch'), 'an optional value is not the next word').to.equal(undefined);
    expect(optionValue(root, '--verbose')).to.equal(undefined);
  });

  it('tells what arguments are from their names, alternatives (a|b, a-or-b) giving several kinds', () => {
    expect(at(root, 'lab', 'run').args).to.deep.equal([
      { name: 'scenario-name', variadic: false, value: { kinds: ['lab'], choices: [] } },
      { name: 'seq-or-command', variadic: true, value: { kinds: ['seq'], choices: [] } },
    ]);
    expect(at(root, 'lab', 'show').args.map((a) => a.value.kinds)).to.deep.equal([['file', 'lab'], ['lab'], []]);
    expect(at(root, 'pick').args[0]!.value.choices).to.deep.equal(['bash', 'zsh', 'two words']);
  });

  it('writes the tables into the script, an alias with its own copy, a variadic argument as "...", no choice holding a space', () => {
    const bash = completionScript('bash', root, lister);
    expect(bash).to.contain(`['tool']='lab l pick'`);
    expect(bash).to.contain(`['tool lab run --format']='=dot =svg'`);
    expect(bash).to.contain(`['tool l run --secret']='none'`);
    expect(bash).to.contain(`['tool lab run ...']='seq'`);
    expect(bash).to.contain(`['tool lab show 0']='file lab'`);
    expect(bash).to.contain(`['tool pick 0']='=bash =zsh'`);
    expect(bash).to.contain(`complete -F _ediv -- "$_ediv_root"`);
    const zsh = completionScript('zsh', root, lister);
    expect(zsh.split('\n')[0]).to.equal('#compdef tool');
    expect(zsh).to.contain(`  'tool lab run --vm' 'vm'`);
  });
});

describe("completion: ediv's own commands", function () {
  this.timeout(20000);
  let root: CommandSpec;
  before(async () => {
    root = commandTree(await buildProgram());
  });

  it('has every top-level command registered, completion included', () => {
    const names = root.subcommands.map((s) => s.names[0]);
    expect(names).to.include.members(['validate', 'plan', 'deploy', 'exec', 'undeploy', 'status', 'cluster', 'discover', 'agent', 'completion']);
    expect(at(root, 'cluster').subcommands.map((s) => s.names[0])).to.include.members(['up', 'down', 'status', 'check']);
  });

  it('completes deployed labs, their sequences and VMs for exec, status and undeploy', () => {
    const exec = at(root, 'exec');
    expect(exec.args.map((a) => a.value.kinds)).to.deep.equal([['lab'], ['seq']]);
    expect(optionValue(exec, '--vm')!.kinds).to.deep.equal(['vm']);
    expect(optionValue(exec, '--host')!.kinds).to.deep.equal(['host']);
    expect(optionValue(exec, '--state')!.kinds).to.deep.equal(['dir']);
    expect(at(root, 'status').args[0]!.value.kinds).to.deep.equal(['lab']);
    expect(at(root, 'undeploy').args[0]!.value.kinds).to.deep.equal(['lab']);
  });

  it('completes file names for scenario files and file options', () => {
    for (const cmd of ['deploy', 'validate', 'plan']) {
      expect(at(root, cmd).args[0]!.value.kinds, cmd).to.deep.equal(['file']);
      expect(optionValue(at(root, cmd), '--cluster')!.kinds, `${cmd} --cluster`).to.deep.equal(['file']);
      expect(optionValue(at(root, cmd), '--restrictions')!.kinds, `${cmd} --restrictions`).to.deep.equal(['file']);
    }
    expect(optionValue(at(root, 'plan'), '--out')!.kinds).to.deep.equal(['dir']);
  });

  it("offers the shells; the lister's options are hidden", () => {
    const completion = at(root, 'completion');
    expect(completion.args[0]!.value.choices).to.deep.equal([...SHELLS]);
    expect(flagsOf(completion)).to.deep.equal(['-h', '--help']);
    expect(optionValue(completion, '--list')!.choices).to.deep.equal(['lab', 'vm', 'host', 'seq']);
  });
});
