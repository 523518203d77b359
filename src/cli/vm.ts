// `ediv vm start|stop|restart|suspend|resume <scenario-name> <vm...>`: VM life cycle over SSH.
import type { Command } from 'commander';
import { VM_LIFE_ACTIONS, type VmLifeAction } from '../protocol/agent.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { vmActionCommand } from '../controller/vm-action.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions, addForceOption, addStoreOption } from './controller-options.ts';
import { renderVmAction } from './render/vm-action.ts';

const WHAT: Record<VmLifeAction, string> = {
  start: 'boot stopped VMs (a container VM keeps its files) and set their links up',
  stop: 'end every process of the VMs and set their links down (their files are kept)',
  restart: 'stop, then start',
  suspend: 'freeze every process of the VMs and set their links down',
  resume: 'continue suspended VMs and set their links up',
};

export function register(program: Command): void {
  const vm = program
    .command('vm')
    .description(
      'Life cycle of VMs of a deployed scenario, over each host\'s SSH connection (the same\n' +
        'actions as the UPnP SOAP ones). `ediv status` shows the result.\n\n' +
        'Examples:\n  ediv vm stop tutorial r1\n  ediv vm restart tutorial h1 h2 --json',
    );
  for (const a of VM_LIFE_ACTIONS) {
    addForceOption(addStoreOption(addConnectionOptions(vm.command(a))))
      .description(`${WHAT[a]}. Exit: 0 done on every VM, 1 a VM or host failed, 2 bad input.`)
      .argument('<scenario-name>', 'name of a deployed scenario')
      .argument('<vm...>', 'VM names')
      .option('--json', 'print one JSON document: {ok, action, vms: [{vm, host, state, error?}]}')
      .action(
        action(async (name: string, vms: string[], opts: CommonOptions) => {
          const report = await vmActionCommand({ ...opts, name, action: a, vms });
          return printReport(report, opts, renderVmAction);
        }),
      );
  }
}
